"""TSM head (mmaction2 ``TSMHead``): per-frame classification, then the average over ``num_segments`` frames."""
from __future__ import annotations

import torch
import torch.nn as nn

from mmaction.registry import MODELS

from .base import BaseHead, build_consensus


@MODELS.register_module()
class TSMHead(BaseHead):
    """``(N * num_segments, in_channels, H, W)`` -> ``(N, num_classes)``.

    The segment count is the head's own ``num_segments`` (the recognizer's ``num_segs`` counts clips x crops and is
    ignored). With ``is_shift`` and ``temporal_pool`` the backbone halved the frames, so the scores are averaged
    over ``num_segments // 2`` frames.
    """

    def __init__(self, num_classes: int, in_channels: int, num_segments: int = 8,
                 loss_cls: dict = dict(type='CrossEntropyLoss'), spatial_type: str = 'avg',
                 consensus: dict = dict(type='AvgConsensus', dim=1), dropout_ratio: float = 0.8,
                 init_std: float = 0.001, is_shift: bool = True, temporal_pool: bool = False, **kwargs):
        super().__init__(num_classes, in_channels, loss_cls, **kwargs)
        self.spatial_type = spatial_type
        self.num_segments = num_segments
        self.is_shift = is_shift
        self.temporal_pool = temporal_pool
        self.consensus = build_consensus(consensus, 'cls_head')
        self._add_classifier(dropout_ratio, init_std)
        self.avg_pool = nn.AdaptiveAvgPool2d(1) if spatial_type == 'avg' else None

    def forward(self, x: torch.Tensor, num_segs: int | None = None, **kwargs) -> torch.Tensor:
        if self.avg_pool is not None:
            x = self.avg_pool(x)                          # (N * num_segments, C, 1, 1)
        cls_score = self.classify(x)                      # (N * num_segments, num_classes)
        frames = self.num_segments // 2 if self.is_shift and self.temporal_pool else self.num_segments
        cls_score = cls_score.view((-1, frames) + cls_score.shape[1:])
        return self.consensus(cls_score).squeeze(1)       # (N, num_classes)
