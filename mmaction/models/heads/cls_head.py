"""``ClsHead``: dropout + linear classifier of the original MMAction recognizers (TSN2D/TSN3D).

Key names: ``fc_cls.weight [num_classes, in_channels]``, ``fc_cls.bias [num_classes]``.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmaction.registry import HEADS


@HEADS.register_module()
class ClsHead(nn.Module):
    """Classification head.

    Args:
        with_avg_pool: average-pool the input with kernel
            ``(temporal_feature_size, spatial_feature_size, spatial_feature_size)`` before the classifier.
        temporal_feature_size, spatial_feature_size: the expected feature size ``(T, S, S)`` of the input.
        dropout_ratio: dropout probability before ``fc_cls`` (0 disables dropout).
        in_channels: feature channels ``C``.
        num_classes: number of classes ``K``.
        init_std: std of the normal init of ``fc_cls.weight`` (bias is zeroed).
        fcn_testing: if True, :meth:`forward` returns a dense class map (see :meth:`forward_fcn`).

    Shapes:
        ``forward``: ``(N, C, S, S)`` or ``(N, C, T, S, S)`` -> ``(N, K)`` scores (4-D inputs get ``T=1``).
        ``forward_fcn``: ``(N, C, t, h, w)`` or ``(N, C, h, w)`` -> class map ``(N, K, t', h', w')``.
    """

    def __init__(self,
                 with_avg_pool: bool = True,
                 temporal_feature_size: int = 1,
                 spatial_feature_size: int = 7,
                 dropout_ratio: float = 0.8,
                 in_channels: int = 2048,
                 num_classes: int = 101,
                 init_std: float = 0.01,
                 fcn_testing: bool = False) -> None:
        super().__init__()
        self.with_avg_pool = with_avg_pool
        self.temporal_feature_size = temporal_feature_size
        self.spatial_feature_size = spatial_feature_size
        self.dropout_ratio = dropout_ratio
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.init_std = init_std
        self.fcn_testing = fcn_testing

        self.dropout = nn.Dropout(p=dropout_ratio) if dropout_ratio != 0 else None
        if with_avg_pool:
            self.avg_pool = nn.AvgPool3d((temporal_feature_size, spatial_feature_size, spatial_feature_size))
        self.fc_cls = nn.Linear(in_channels, num_classes)

    def init_weights(self) -> None:
        nn.init.normal_(self.fc_cls.weight, 0, self.init_std)
        nn.init.constant_(self.fc_cls.bias, 0)

    def _as_5d(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 4:
            return x.unsqueeze(2)
        if x.dim() != 5:
            raise ValueError(f'ClsHead expects a (N, C, H, W) or (N, C, T, H, W) feature, got shape {tuple(x.shape)}')
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fcn_testing:
            return self.forward_fcn(x)
        x = self._as_5d(x)
        expected = (self.in_channels, self.temporal_feature_size, self.spatial_feature_size,
                    self.spatial_feature_size)
        if tuple(x.shape[1:]) != expected:
            raise ValueError(f'ClsHead: feature shape {tuple(x.shape[1:])} (C, T, H, W) does not match the config '
                             f'(in_channels, temporal_feature_size, spatial_feature_size x2) = {expected}')
        if self.with_avg_pool:
            x = self.avg_pool(x)
        if self.dropout is not None:
            x = self.dropout(x)
        return self.fc_cls(x.flatten(1))

    def as_fcn_conv(self) -> nn.Conv3d:
        """A ``Conv3d(in_channels, num_classes, 1)`` holding ``fc_cls``'s weights, on ``fc_cls``'s device/dtype.

        Weight ``[K, C, 1, 1, 1]`` = ``fc_cls.weight[:, :, None, None, None]``, bias = ``fc_cls.bias``.
        """
        conv = nn.Conv3d(self.in_channels, self.num_classes, 1, 1, 0).to(self.fc_cls.weight)
        with torch.no_grad():
            conv.weight.copy_(self.fc_cls.weight[:, :, None, None, None])
            conv.bias.copy_(self.fc_cls.bias)
        return conv

    def forward_fcn(self, x: torch.Tensor) -> torch.Tensor:
        """Fully-convolutional testing: ``fc_cls`` applied as a 1x1x1 conv at every position.

        ``(N, C, t, h, w)`` -> ``(N, K, t', h', w')`` (after the optional avg-pool, no dropout). The original
        cached a CUDA conv built on first use (stale after later weight loads); this applies ``fc_cls``'s
        current weights functionally, on whatever device the input lives.
        """
        x = self._as_5d(x)
        if x.shape[1] != self.in_channels:
            raise ValueError(f'ClsHead (fcn): feature has {x.shape[1]} channels, in_channels is {self.in_channels}')
        if self.with_avg_pool:
            x = self.avg_pool(x)
        return F.conv3d(x, self.fc_cls.weight[:, :, None, None, None], self.fc_cls.bias)

    def loss(self, cls_score: torch.Tensor, labels: torch.Tensor) -> dict:
        """``dict(loss_cls=cross_entropy(cls_score (N, K), labels (N,)))``."""
        return dict(loss_cls=F.cross_entropy(cls_score, labels))
