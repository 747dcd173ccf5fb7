"""TPN head (mmaction2 ``TPNHead``): :class:`TSNHead` (same arguments and layers) that also takes 5-d TPN
features and FCN testing."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmaction.registry import MODELS

from .tsn_head import TSNHead


@MODELS.register_module()
class TPNHead(TSNHead):
    """Three input forms:

    - ``num_segs`` given: ``(N * num_segs, C, H, W)`` -> spatial mean, mean over segments -> ``(N, num_classes)``;
    - ``num_segs=None``: ``(N, C, T, H, W)`` -> spatio-temporal mean -> ``(N, num_classes)``;
    - ``fcn_test=True``: ``(N, C, T, H, W)`` -> pooled, then the classifier applied as a 1x1x1 convolution
      (mmaction2 builds that convolution lazily from ``fc_cls``; here it is computed from ``fc_cls`` directly, so
      the state dict never changes).

    mmaction2 creates its spatial pooling once with the first input's size; here the spatial mean is taken over
    each input's own size (the same numbers whenever the size does not change).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)   # TSNHead's arguments and layers
        self.avg_pool3d = nn.AdaptiveAvgPool3d((1, 1, 1)) if self.spatial_type == 'avg' else None

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
