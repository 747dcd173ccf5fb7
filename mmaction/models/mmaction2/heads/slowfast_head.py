"""SlowFast head (mmaction2 ``SlowFastHead``): pool each pathway, concatenate (fast first), classify."""
from __future__ import annotations

import torch
import torch.nn as nn

from mmaction.registry import MODELS

from .base import BaseHead


@MODELS.register_module()
class SlowFastHead(BaseHead):
    """``((N, C_slow, T_s, H, W), (N, C_fast, T_f, H, W))`` -> ``(N, num_classes)``; ``in_channels = C_slow +
    C_fast``. The features are concatenated fast pathway first, as mmaction2's checkpoints expect."""

    def __init__(self, num_classes: int, in_channels: int, loss_cls: dict = dict(type='CrossEntropyLoss'),
                 spatial_type: str = 'avg', dropout_ratio: float = 0.8, init_std: float = 0.01, **kwargs):
        super().__init__(num_classes, in_channels, loss_cls, **kwargs)
        self.spatial_type = spatial_type
        self._add_classifier(dropout_ratio, init_std)
        self.avg_pool = nn.AdaptiveAvgPool3d((1, 1, 1)) if spatial_type == 'avg' else nn.Identity()

    def forward(self, x: tuple[torch.Tensor, torch.Tensor], **kwargs) -> torch.Tensor:
        x_slow, x_fast = x
        x = torch.cat((self.avg_pool(x_fast), self.avg_pool(x_slow)), dim=1)   # (N, C_fast + C_slow, 1, 1, 1)
        return self.classify(x)                           # (N, num_classes)
