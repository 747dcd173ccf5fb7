"""TRN head (mmaction2 ``TRNHead``): per-frame embedding, then a relation module over the frames.

``relation_type='TRN'`` classifies all ``num_segments`` frame embeddings concatenated; ``'TRNMultiScale'`` sums
the classifiers of every scale ``num_segments, ..., 2``: the full ordered tuple for the largest scale, and up to 3
frame tuples drawn with ``np.random.choice`` for each smaller one (also at test time, as in mmaction2, so seed
numpy for repeatable scores).
"""
from __future__ import annotations

import itertools

import numpy as np
import torch
import torch.nn as nn

from mmaction.registry import MODELS, ConfigError

from .base import BaseHead


class RelationModule(nn.Module):
    """``(N, num_segments, hidden_dim)`` -> ``(N, num_classes)`` by an MLP over the concatenated frames."""

    def __init__(self, hidden_dim: int, num_segments: int, num_classes: int):
        super().__init__()
        self.hidden_dim = hidden_dim
        self.num_segments = num_segments
        self.num_classes = num_classes
        bottleneck_dim = 512
        self.classifier = nn.Sequential(nn.ReLU(), nn.Linear(num_segments * hidden_dim, bottleneck_dim), nn.ReLU(),
                                        nn.Linear(bottleneck_dim, num_classes))

    def init_weights(self) -> None:
        pass  # torch's default Linear initialisation, as mmaction2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(x.view(x.size(0), -1))


class RelationModuleMultiScale(nn.Module):
    """``(N, num_segments, hidden_dim)`` -> ``(N, num_classes)``: the sum of one MLP per relation scale."""

    max_subsample = 3

    def __init__(self, hidden_dim: int, num_segments: int, num_classes: int):
        super().__init__()
        self.hidden_dim = hidden_dim
        self.num_segments = num_segments
        self.num_classes = num_classes
        self.scales = range(num_segments, 1, -1)
        # Every ordered frame tuple of each scale; the largest scale has exactly one (all frames).
        self.relations_scales = [list(itertools.combinations(range(num_segments), s)) for s in self.scales]
        self.subsample_scales = [min(self.max_subsample, len(r)) for r in self.relations_scales]
        bottleneck_dim = 256
        self.fc_fusion_scales = nn.ModuleList(
            nn.Sequential(nn.ReLU(), nn.Linear(scale * hidden_dim, bottleneck_dim), nn.ReLU(),
                          nn.Linear(bottleneck_dim, num_classes)) for scale in self.scales)

    def init_weights(self) -> None:
        pass  # torch's default Linear initialisation, as mmaction2

    def _relation(self, x: torch.Tensor, scale_id: int, frames: tuple[int, ...]) -> torch.Tensor:
        act = x[:, list(frames), :].reshape(x.size(0), self.scales[scale_id] * self.hidden_dim)
        return self.fc_fusion_scales[scale_id](act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self._relation(x, 0, self.relations_scales[0][0])
        for scale_id in range(1, len(self.scales)):
            picked = np.random.choice(len(self.relations_scales[scale_id]), self.subsample_scales[scale_id],
                                      replace=False)
            for idx in picked:
                out = out + self._relation(x, scale_id, self.relations_scales[scale_id][idx])
        return out


@MODELS.register_module()
class TRNHead(BaseHead):
    """``(N * num_segments, in_channels, H, W)`` -> ``(N, num_classes)``.

    Args:
        num_segments: frames per video (the recognizer's ``num_segs`` is ignored, as in mmaction2).
        relation_type: ``'TRN'`` or ``'TRNMultiScale'``.
        hidden_dim: width of the per-frame embedding ``fc_cls``.
    """

    def __init__(self, num_classes: int, in_channels: int, num_segments: int = 8,
                 loss_cls: dict = dict(type='CrossEntropyLoss'), spatial_type: str = 'avg',
                 relation_type: str = 'TRNMultiScale', hidden_dim: int = 256, dropout_ratio: float = 0.8,
                 init_std: float = 0.001, **kwargs):
        super().__init__(num_classes, in_channels, loss_cls, **kwargs)
        self.num_segments = num_segments
        self.spatial_type = spatial_type
        self.relation_type = relation_type
        self.hidden_dim = hidden_dim
        if relation_type == 'TRN':
            self.consensus = RelationModule(hidden_dim, num_segments, num_classes)
        elif relation_type == 'TRNMultiScale':
            self.consensus = RelationModuleMultiScale(hidden_dim, num_segments, num_classes)
        else:
            raise ConfigError(f"config 'cls_head.relation_type': expected 'TRN' or 'TRNMultiScale', "
                              f"got {relation_type!r}")
        self._add_classifier(dropout_ratio, init_std, out_features=hidden_dim)
        self.avg_pool = nn.AdaptiveAvgPool2d(1) if spatial_type == 'avg' else None

    def init_weights(self) -> None:
        super().init_weights()
        self.consensus.init_weights()

    def forward(self, x: torch.Tensor, num_segs: int | None = None, **kwargs) -> torch.Tensor:
        if self.avg_pool is not None:
            x = self.avg_pool(x)                          # (N * num_segments, C, 1, 1)
        emb = self.classify(x)                            # (N * num_segments, hidden_dim)
        emb = emb.view((-1, self.num_segments) + emb.shape[1:])
        return self.consensus(emb)                        # (N, num_classes)
