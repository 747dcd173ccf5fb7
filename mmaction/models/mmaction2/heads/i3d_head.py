"""I3D head (mmaction2 ``I3DHead``): spatio-temporal average pool, dropout, linear classifier."""
from __future__ import annotations

import torch
import torch.nn as nn

from mmaction.registry import MODELS

from .base import BaseHead


@MODELS.register_module()
class I3DHead(BaseHead):
    """``(N, in_channels, T, H, W)`` -> ``(N, num_classes)`` (``spatial_type`` other than ``'avg'``: the input is
    already pooled)."""

    def __init__(self, num_classes: int, in_channels: int, loss_cls: dict = dict(type='CrossEntropyLoss'),
                 spatial_type: str = 'avg', dropout_ratio: float = 0.5, init_std: float = 0.01, **kwargs):
        super().__init__(num_classes, in_channels, loss_cls, **kwargs)
        self.spatial_type = spatial_type
        self._add_classifier(dropout_ratio, init_std)
        self.avg_pool = nn.AdaptiveAvgPool3d((1, 1, 1)) if spatial_type == 'avg' else None

    def forward(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        if self.avg_pool is not None:
            x = self.avg_pool(x)                          # (N, C, 1, 1, 1)
        return self.classify(x)                           # (N, num_classes)
