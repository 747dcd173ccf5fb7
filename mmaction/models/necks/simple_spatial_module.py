"""``SimpleSpatialModule``: 2D average pooling of per-frame feature maps (TSN2D)."""
from __future__ import annotations

import torch
import torch.nn as nn

from mmaction.registry import SPATIAL_TEMPORAL_MODULES


@SPATIAL_TEMPORAL_MODULES.register_module()
class SimpleSpatialModule(nn.Module):
    """``AvgPool2d(kernel=spatial_size, stride=1)``: ``(N, C, H, W)`` -> ``(N, C, H-s+1, W-s+1)``.

    With the usual ``spatial_size`` equal to the feature size (7 for a 224 input) the output is ``(N, C, 1, 1)``.
    """

    def __init__(self, spatial_type: str = 'avg', spatial_size: int | tuple[int, int] = 7) -> None:
        super().__init__()
        if spatial_type != 'avg':
            raise ValueError(f"SimpleSpatialModule: spatial_type must be 'avg', got {spatial_type!r}")
        self.spatial_type = spatial_type
        self.spatial_size = (spatial_size, spatial_size) if isinstance(spatial_size, int) else tuple(spatial_size)
        self.op = nn.AvgPool2d(self.spatial_size, stride=1, padding=0)

    def init_weights(self) -> None:
        pass  # no parameters

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f'SimpleSpatialModule expects (N, C, H, W), got shape {tuple(x.shape)}')
        return self.op(x)
