"""``SingleRoIStraight3DExtractor``: RoI features of a 3D feature map, frame by frame.

``(B, C, T, H, W)`` features and ``(N, 5)`` rois -> ``(N, C, T', out, out)`` where ``T' = 1`` with
``with_temporal_pool`` (mean over time first, as the AVA config does) and ``T' = T`` otherwise. The frames are
folded into the batch so that one RoIAlign call handles every box of every frame.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from mmaction.models.ops.roi_align import RoIAlign
from mmaction.models.ops.roi_pool import RoIPool
from mmaction.registry import ROI_EXTRACTORS

_ROI_LAYERS = {'RoIAlign': RoIAlign, 'RoIPool': RoIPool}


@ROI_EXTRACTORS.register_module()
class SingleRoIStraight3DExtractor(nn.Module):
    """``roi_layer=dict(type='RoIAlign', out_size=16, sample_num=2)``, ``featmap_strides=[16]``."""

    def __init__(self, roi_layer: dict, out_channels: int, featmap_strides: Sequence[int], finest_scale: int = 56,
                 with_temporal_pool: bool = False):
        super().__init__()
        cfg = dict(roi_layer)
        layer_type = cfg.pop('type', None)
        if layer_type not in _ROI_LAYERS:
            raise ValueError(f"model.bbox_roi_extractor.roi_layer.type must be one of {sorted(_ROI_LAYERS)}, "
                             f"got {layer_type!r}")
        if len(featmap_strides) != 1:
            raise ValueError(f'SingleRoIStraight3DExtractor uses one feature level, got featmap_strides='
                             f'{list(featmap_strides)}')
        self.roi_layers = nn.ModuleList([_ROI_LAYERS[layer_type](spatial_scale=1.0 / s, **cfg)
                                         for s in featmap_strides])
        self.out_channels = out_channels
        self.featmap_strides = list(featmap_strides)
        self.finest_scale = finest_scale
        self.with_temporal_pool = with_temporal_pool

    def init_weights(self) -> None:
        pass

    def forward(self, feats: torch.Tensor | Sequence[torch.Tensor], rois: torch.Tensor) -> torch.Tensor:
        feat = feats if isinstance(feats, torch.Tensor) else feats[0]
        if feat.dim() != 5:
            raise ValueError(f'SingleRoIStraight3DExtractor: features must be (B, C, T, H, W), got {tuple(feat.shape)}')
        if self.with_temporal_pool:
            feat = feat.mean(2, keepdim=True)
        b, c, t, h, w = feat.shape
        frames = feat.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
        # Box n on frame k of image i reads map i * T + k.
        rois_t = rois[:, None, :].repeat(1, t, 1)
        rois_t[:, :, 0] = rois[:, None, 0] * t + torch.arange(t, device=rois.device, dtype=rois.dtype)
        out = self.roi_layers[0](frames, rois_t.reshape(-1, 5))  # (N * T, C, oh, ow)
        n = rois.shape[0]
        return out.view(n, t, c, *out.shape[-2:]).permute(0, 2, 1, 3, 4).contiguous()
