"""``SimpleConsensus``: average of segment features (the TSN segmental consensus)."""
from __future__ import annotations

import torch
import torch.nn as nn

from mmaction.registry import SEGMENTAL_CONSENSUSES


@SEGMENTAL_CONSENSUSES.register_module()
class SimpleConsensus(nn.Module):
    """Mean over ``dim`` keeping the dimension: ``(B, num_seg, ...)`` -> ``(B, 1, ...)`` for ``dim=1``."""

    def __init__(self, consensus_type: str = 'avg', dim: int = 1) -> None:
        super().__init__()
        if consensus_type != 'avg':
            raise ValueError(f"SimpleConsensus: consensus_type must be 'avg', got {consensus_type!r}")
        self.consensus_type = consensus_type
        self.dim = dim

    def init_weights(self) -> None:
        pass  # no parameters

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=self.dim, keepdim=True)
