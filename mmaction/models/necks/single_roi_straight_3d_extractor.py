"""``SingleRoIStraight3DExtractor``: RoI features of a 3D feature map, frame by frame.

``(B, C, T, H, W)`` features and ``(N, 5)`` rois -> ``(N, C, T', out, out)`` where ``T' = 1`` with
``with_temporal_pool`` (mean over time first, as the AVA config does) and ``T' = T`` otherwise. The frames are
folded into the batch so that one RoIAlign call handles every box of every frame.

Two-pathway features (SlowFast: a tuple ``(slow (B, Cs, Ts, H, W), fast (B, Cf, Tf, H, W))``) are fused as in
mmaction2's ``SingleRoIExtractor3D``: each pathway is nearest-resampled in time to the longest ``T``, temporally
pooled when ``with_temporal_pool``, and the channels concatenated (R50 4x16: 2048 + 256 = 2304) before RoIAlign.
Nearest resampling repeats each slow frame ``Tf / Ts`` times, so the temporal mean equals each pathway's own mean.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmaction.ops.roi_align import RoIAlign
from mmaction.ops.roi_pool import RoIPool
from mmaction.registry import ROI_EXTRACTORS

_ROI_LAYERS = {'RoIAlign': RoIAlign, 'RoIPool': RoIPool}


@ROI_EXTRACTORS.register_module()
class SingleRoIStraight3DExtractor(nn.Module):
    """``roi_layer=dict(type='RoIAlign', out_size=16, sample_num=2)``, ``featmap_strides=[16]``."""

    def __init__(self, roi_layer: dict, out_channels: int, featmap_strides: Sequence[int], finest_scale: int = 56,
                 with_temporal_pool: bool = False, temporal_pool_mode: str = 'avg'):
        super().__init__()
        if temporal_pool_mode not in ('avg', 'max'):
            raise ValueError(f"model.bbox_roi_extractor.temporal_pool_mode must be 'avg' or 'max', "
                             f"got {temporal_pool_mode!r}")
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
        self.temporal_pool_mode = temporal_pool_mode

    def init_weights(self) -> None:
        pass

    def fuse(self, feats: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
        """One ``(B, C, T', H, W)`` map from a tensor or a tuple of pathway tensors (see the module doc)."""
        parts = [feats] if isinstance(feats, torch.Tensor) else list(feats)
        for p in parts:
            if not isinstance(p, torch.Tensor) or p.dim() != 5:
                shape = tuple(p.shape) if isinstance(p, torch.Tensor) else type(p).__name__
                raise ValueError(f'SingleRoIStraight3DExtractor: features must be (B, C, T, H, W), got {shape}')
        if len(parts) > 1:
            if len({(p.shape[0],) + tuple(p.shape[-2:]) for p in parts}) != 1:
                raise ValueError('SingleRoIStraight3DExtractor: pathway features must share batch and spatial size, '
                                 f'got {[tuple(p.shape) for p in parts]} (use the same spatial strides)')
            t_max = max(p.shape[2] for p in parts)
            parts = [p if p.shape[2] == t_max else F.interpolate(p, size=(t_max,) + tuple(p.shape[-2:]))
                     for p in parts]
        if self.with_temporal_pool:
            parts = [p.mean(2, keepdim=True) if self.temporal_pool_mode == 'avg' else p.amax(2, keepdim=True)
                     for p in parts]
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)

    def forward(self, feats: torch.Tensor | Sequence[torch.Tensor], rois: torch.Tensor) -> torch.Tensor:
        """``feats``: ``(B, C, T, H, W)`` or a tuple of pathways; ``rois (N, 5)`` -> ``(N, C_total, T', out, out)``."""
        feat = self.fuse(feats)
        b, c, t, h, w = feat.shape
        frames = feat.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w)
        # Box n on frame k of image i reads map i * T + k.
        rois_t = rois[:, None, :].repeat(1, t, 1)
        rois_t[:, :, 0] = rois[:, None, 0] * t + torch.arange(t, device=rois.device, dtype=rois.dtype)
        out = self.roi_layers[0](frames, rois_t.reshape(-1, 5))  # (N * T, C, oh, ow)
        n = rois.shape[0]
        return out.view(n, t, c, *out.shape[-2:]).permute(0, 2, 1, 3, 4).contiguous()
