"""mmaction2's ``SingleRoIExtractor3D``: RoI features of every (temporally pooled) frame of a clip's feature map.

No parameters. mmaction2 runs mmcv's compiled ``RoIAlign`` / ``RoIPool``; here the project's pure-PyTorch ops do the
same sampling: ``RoIAlign(aligned=True)`` is the half-pixel-aligned kernel of mmcv (= torchvision's
``roi_align(aligned=True)``), ``RoIPool`` the classic quantised max pool of mmcv / torchvision.

Shapes: ``feat`` ``(B, C, T, H, W)`` or a tuple of such maps (SlowFast: slow and fast pathway; resized to the
largest ``T`` by nearest interpolation, then concatenated along ``C``), ``rois`` ``(N, 5)``
``[batch_index, x1, y1, x2, y2]`` in input pixels -> ``(roi_feats (N, C', T', S, S), feat (B, C', T', H, W))``
with ``T' = 1`` when ``with_temporal_pool``, ``S = output_size`` and ``C' = C`` (``2 C`` with ``with_global``).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmaction.ops.roi_align import RoIAlign
from mmaction.ops.roi_pool import RoIPool
from mmaction.registry import MODELS, ConfigError


@MODELS.register_module()
class SingleRoIExtractor3D(nn.Module):
    """Args (mmaction2's): ``roi_layer_type`` ``'RoIAlign'`` or ``'RoIPool'``; ``featmap_stride`` of the feature
    map; ``output_size``; ``sampling_ratio`` (RoIAlign samples per bin and axis, 0 = adaptive); ``pool_mode``
    (RoIAlign: only ``'avg'``); ``aligned`` (RoIAlign: only ``True``, mmcv's ``aligned=False`` kernel is not
    implemented); ``with_temporal_pool`` / ``temporal_pool_mode`` (``'avg'`` or ``'max'`` over T before RoI
    pooling); ``with_global`` (concatenate the whole frame's feature, pooled to ``output_size``, to each RoI's)."""

    def __init__(self, roi_layer_type: str = 'RoIAlign', featmap_stride: int = 16, output_size: int = 16,
                 sampling_ratio: int = 0, pool_mode: str = 'avg', aligned: bool = True,
                 with_temporal_pool: bool = True, temporal_pool_mode: str = 'avg', with_global: bool = False):
        super().__init__()
        where = 'model.roi_head.bbox_roi_extractor'
        if temporal_pool_mode not in ('avg', 'max'):
            raise ConfigError(f"config '{where}.temporal_pool_mode' must be 'avg' or 'max', got {temporal_pool_mode!r}")
        self.roi_layer_type = roi_layer_type
        self.featmap_stride = featmap_stride
        self.spatial_scale = 1.0 / featmap_stride
        self.output_size = output_size
        self.sampling_ratio = sampling_ratio
        self.pool_mode = pool_mode
        self.aligned = aligned
        self.with_temporal_pool = with_temporal_pool
        self.temporal_pool_mode = temporal_pool_mode
        self.with_global = with_global
        if roi_layer_type == 'RoIPool':
            self.roi_layer = RoIPool(output_size, self.spatial_scale)
        elif roi_layer_type == 'RoIAlign':
            if pool_mode != 'avg':
                raise ConfigError(f"config '{where}.pool_mode': only 'avg' RoIAlign is implemented, got {pool_mode!r}")
            if not aligned:
                raise ConfigError(f"config '{where}.aligned': only aligned=True RoIAlign (mmaction2's default) is "
                                  f"implemented")
            self.roi_layer = RoIAlign(output_size, self.spatial_scale, sampling_ratio, aligned=True)
        else:
            raise ConfigError(f"config '{where}.roi_layer_type' must be 'RoIAlign' or 'RoIPool', got "
                              f"{roi_layer_type!r}")
        self.global_pool = nn.AdaptiveAvgPool2d(output_size)

    def forward(self, feat: torch.Tensor | Sequence[torch.Tensor],
                rois: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feats = [feat] if isinstance(feat, torch.Tensor) else list(feat)
        if len(feats) > 1:
            size = (max(x.shape[2] for x in feats),) + tuple(feats[0].shape[3:])
            feats = [F.interpolate(x, size) for x in feats]
        if self.with_temporal_pool:
            if self.temporal_pool_mode == 'avg':
                feats = [x.mean(2, keepdim=True) for x in feats]
            else:
                feats = [x.amax(2, keepdim=True) for x in feats]
        feat = torch.cat(feats, dim=1)
        roi_feats = []
        for t in range(feat.shape[2]):
            frame = feat[:, :, t].contiguous()
            roi_feat = self.roi_layer(frame, rois)
            if self.with_global:
                roi_feat = torch.cat([roi_feat, self.global_pool(frame)[rois[:, 0].long()]], dim=1)
            roi_feats.append(roi_feat)
        return torch.stack(roi_feats, dim=2), feat
