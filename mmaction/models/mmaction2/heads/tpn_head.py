"""TPN head (mmaction2 ``TPNHead``): TSN's head that also takes 5-d TPN features and FCN testing."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model.weight_init import normal_init

from mmaction.registry import MODELS

from .base import BaseHead, build_consensus


@MODELS.register_module()
class TPNHead(BaseHead):
    """Three input forms:

    - ``num_segs`` given: ``(N * num_segs, C, H, W)`` -> spatial mean, mean over segments -> ``(N, num_classes)``;
    - ``num_segs=None``: ``(N, C, T, H, W)`` -> spatio-temporal mean -> ``(N, num_classes)``;
    - ``fcn_test=True``: ``(N, C, T, H, W)`` -> pooled, then the classifier applied as a 1x1x1 convolution
      (mmaction2 builds that convolution lazily from ``fc_cls``; here it is computed from ``fc_cls`` directly, so
      the state dict never changes).

    mmaction2 creates its spatial pooling once with the first input's size; here the spatial mean is taken over
    each input's own size (the same numbers whenever the size does not change).
    """

    def __init__(self, num_classes: int, in_channels: int, loss_cls: dict = dict(type='CrossEntropyLoss'),
                 spatial_type: str = 'avg', consensus: dict = dict(type='AvgConsensus', dim=1),
                 dropout_ratio: float = 0.4, init_std: float = 0.01, **kwargs):
        super().__init__(num_classes, in_channels, loss_cls=loss_cls, **kwargs)
        self.spatial_type = spatial_type
        self.consensus = build_consensus(consensus, 'cls_head')
        self.avg_pool = nn.AdaptiveAvgPool2d((1, 1)) if spatial_type == 'avg' else None
        self._add_classifier(dropout_ratio, init_std)
        self.avg_pool3d = nn.AdaptiveAvgPool3d((1, 1, 1)) if spatial_type == 'avg' else None

    def init_weights(self) -> None:
        normal_init(self.fc_cls, std=self.init_std)

    def forward(self, x: torch.Tensor, num_segs: int | None = None, fcn_test: bool = False,
                **kwargs) -> torch.Tensor:
        if fcn_test:
            if self.avg_pool3d is not None:
                x = self.avg_pool3d(x)
            weight = self.fc_cls.weight[..., None, None, None]
            return F.conv3d(x, weight, self.fc_cls.bias).view(x.size(0), -1)
        if num_segs is None:
            x = self.avg_pool3d(x)                        # (N, C, 1, 1, 1)
        else:
            x = x.mean(dim=(-2, -1), keepdim=True)        # (N * num_segs, C, 1, 1)
            x = x.reshape((-1, num_segs) + x.shape[1:])
            x = self.consensus(x).squeeze(1)              # (N, C, 1, 1)
        return self.classify(x)                           # (N, num_classes)
