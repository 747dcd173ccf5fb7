"""X3D head (mmaction2 ``X3DHead``): pool, a 2048-wide hidden layer with ReLU, dropout, classifier."""
from __future__ import annotations

import torch
import torch.nn as nn
from mmengine.model.weight_init import normal_init

from mmaction.registry import MODELS, ConfigError

from .base import BaseHead


@MODELS.register_module()
class X3DHead(BaseHead):
    """``(N, in_channels, T, H, W)`` -> ``(N, num_classes)``; ``spatial_type`` is ``'avg'`` or ``'max'``."""

    def __init__(self, num_classes: int, in_channels: int, loss_cls: dict = dict(type='CrossEntropyLoss'),
                 spatial_type: str = 'avg', dropout_ratio: float = 0.5, init_std: float = 0.01,
                 fc1_bias: bool = False, **kwargs):
        super().__init__(num_classes, in_channels, loss_cls, **kwargs)
        self.spatial_type = spatial_type
        self.dropout_ratio = dropout_ratio
        self.init_std = init_std
        self.dropout = nn.Dropout(p=dropout_ratio) if dropout_ratio != 0 else None
        self.mid_channels = 2048
        self.fc1_bias = fc1_bias
        self.fc1 = nn.Linear(in_channels, self.mid_channels, bias=fc1_bias)
        self.fc2 = nn.Linear(self.mid_channels, num_classes)
        self.relu = nn.ReLU()
        if spatial_type == 'avg':
            self.pool = nn.AdaptiveAvgPool3d((1, 1, 1))
        elif spatial_type == 'max':
            self.pool = nn.AdaptiveMaxPool3d((1, 1, 1))
        else:
            raise ConfigError(f"config 'cls_head.spatial_type': X3DHead supports 'avg' or 'max', got {spatial_type!r}")

    def init_weights(self) -> None:
        normal_init(self.fc1, std=self.init_std)
        normal_init(self.fc2, std=self.init_std)

    def forward(self, x: torch.Tensor, **kwargs) -> torch.Tensor:
        x = self.pool(x).view(x.shape[0], -1)             # (N, C)
        x = self.relu(self.fc1(x))                        # (N, 2048)
        if self.dropout is not None:
            x = self.dropout(x)
        return self.fc2(x)                                # (N, num_classes)
