"""TSN head (mmaction2 ``TSNHead``): spatial average pool, average over segments, dropout, linear classifier."""
from __future__ import annotations

import torch
import torch.nn as nn

from mmaction.registry import MODELS, ConfigError

from .base import BaseHead, build_consensus


@MODELS.register_module()
class TSNHead(BaseHead):
    """``(N * num_segs, in_channels, H, W)`` -> ``(N, num_classes)``.

    Args:
        spatial_type: ``'avg'`` pools the feature map to 1x1; anything else expects already pooled features.
        consensus: ``dict(type='AvgConsensus', dim=1)``, the mean over the ``num_segs`` segments.
        dropout_ratio: dropout before the classifier (0 disables it).
        init_std: std of the classifier's normal initialisation.
        **kwargs: :class:`BaseHead` options (``loss_cls``, ``average_clips``, ``label_smooth_eps``, ...).
    """

    def __init__(self, num_classes: int, in_channels: int, loss_cls: dict = dict(type='CrossEntropyLoss'),
                 spatial_type: str = 'avg', consensus: dict = dict(type='AvgConsensus', dim=1),
                 dropout_ratio: float = 0.4, init_std: float = 0.01, **kwargs):
        super().__init__(num_classes, in_channels, loss_cls=loss_cls, **kwargs)
        self.spatial_type = spatial_type
        self.consensus = build_consensus(consensus, 'cls_head')
        self.avg_pool = nn.AdaptiveAvgPool2d((1, 1)) if spatial_type == 'avg' else None
        self._add_classifier(dropout_ratio, init_std)

    def forward(self, x: torch.Tensor, num_segs: int, **kwargs) -> torch.Tensor:
        if self.avg_pool is not None:
            if isinstance(x, tuple):
                raise ConfigError(f'TSNHead got a tuple of {len(x)} feature maps; it expects one tensor '
                                  f'(N * num_segs, C, H, W)')
            x = self.avg_pool(x)                         # (N * num_segs, C, 1, 1)
        x = x.reshape((-1, num_segs) + x.shape[1:])      # (N, num_segs, C, 1, 1)
        x = self.consensus(x).squeeze(1)                 # (N, C, 1, 1)
        return self.classify(x)                           # (N, num_classes)
