"""mmaction2's ``ResNet3dSlowFast``: a slow and a fast ``ResNet3d`` pathway fused by lateral convs.

``(N, C, T, H, W)`` -> ``(slow (N, 2048, T/resample_rate, H/32, W/32),
fast (N, 256, T*speed_ratio/resample_rate, H/32, W/32))`` for depth 50 with mmaction2's defaults. The fast
pathway runs ``speed_ratio`` times more frames with ``channel_ratio`` times fewer channels; after the stem and
each of the first three stages its features, strided by ``speed_ratio`` in time, are concatenated to the slow
features.
"""
from __future__ import annotations

import logging

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmaction.registry import MODELS
from mmaction.utils.checkpoint import load_checkpoint

from .resnet3d import ResNet3d

logger = logging.getLogger('mmaction')

# mmaction2 names the pathway class by a lower-case ``type`` inside ``slow_pathway``/``fast_pathway``.
PATHWAY_TYPES = {'resnet3d': ResNet3d}


def build_pathway(cfg: dict, where: str) -> ResNet3d:
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise ValueError(f"ResNet3dSlowFast: {where} must be a dict with a 'type' key, got {cfg!r}")
    args = dict(cfg)
    kind = args.pop('type')
    if kind not in PATHWAY_TYPES:
        raise ValueError(f"ResNet3dSlowFast: {where}.type {kind!r} is unknown, expected one of {sorted(PATHWAY_TYPES)}")
    return PATHWAY_TYPES[kind](**args)


@MODELS.register_module()
class ResNet3dSlowFast(nn.Module):
    """SlowFast (https://arxiv.org/abs/1812.03982). The slow pathway takes one frame in ``resample_rate``
    (``tau``), the fast one one in ``resample_rate // speed_ratio`` (``alpha = speed_ratio``); a slow pathway
    with ``lateral=True`` gets ``speed_ratio``/``channel_ratio`` from here. Keys: ``slow_path.*``, ``fast_path.*``.
    """

    def __init__(self, pretrained: str | None = None, resample_rate: int = 8, speed_ratio: int = 8,
                 channel_ratio: int = 8,
                 slow_pathway: dict = dict(type='resnet3d', depth=50, pretrained=None, lateral=True,
                                           conv1_kernel=(1, 7, 7), conv1_stride_t=1, pool1_stride_t=1,
                                           inflate=(0, 0, 1, 1)),
                 fast_pathway: dict = dict(type='resnet3d', depth=50, pretrained=None, lateral=False,
                                           base_channels=8, conv1_kernel=(5, 7, 7), conv1_stride_t=1,
                                           pool1_stride_t=1),
                 init_cfg: dict | None = None) -> None:
        super().__init__()
        if resample_rate < speed_ratio:
            raise ValueError(f'ResNet3dSlowFast: resample_rate {resample_rate} must be >= speed_ratio '
                             f'{speed_ratio} (the fast pathway samples one frame in resample_rate // speed_ratio)')
        self.pretrained = pretrained
        self.resample_rate = resample_rate
        self.speed_ratio = speed_ratio
        self.channel_ratio = channel_ratio
        slow_pathway = dict(slow_pathway)
        if slow_pathway.get('lateral', False):
            slow_pathway.update(speed_ratio=speed_ratio, channel_ratio=channel_ratio)
        self.slow_path = build_pathway(slow_pathway, 'slow_pathway')
        self.fast_path = build_pathway(fast_pathway, 'fast_pathway')

    def init_weights(self, pretrained: str | None = None) -> None:
        """Load a full SlowFast checkpoint (strict), or init each pathway (lateral convs Kaiming-initialised)."""
        self.pretrained = pretrained or self.pretrained
        if isinstance(self.pretrained, str):
            logger.info('ResNet3dSlowFast: load model from %s', self.pretrained)
            load_checkpoint(self, self.pretrained, strict=True, logger=logger)
        elif self.pretrained is None:
            self.fast_path.init_weights()
            self.slow_path.init_weights()
        else:
            raise TypeError(f'ResNet3dSlowFast: pretrained must be a str or None, got {type(self.pretrained).__name__}')

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N, C, T, H, W)`` -> ``(slow features, fast features)``."""
        # Nearest-neighbour resampling in time = taking every k-th frame, as mmaction2 does.
        x_slow = F.interpolate(x, mode='nearest', scale_factor=(1.0 / self.resample_rate, 1.0, 1.0))
        x_slow = self.slow_path.maxpool(self.slow_path.conv1(x_slow))
        x_fast = F.interpolate(x, mode='nearest',
                               scale_factor=(1.0 / (self.resample_rate // self.speed_ratio), 1.0, 1.0))
        x_fast = self.fast_path.maxpool(self.fast_path.conv1(x_fast))
        lateral = self.slow_path.lateral
        if lateral:
            x_slow = torch.cat((x_slow, self.slow_path.conv1_lateral(x_fast)), dim=1)
        last = len(self.slow_path.res_layers) - 1
        for i, layer_name in enumerate(self.slow_path.res_layers):
            x_slow = getattr(self.slow_path, layer_name)(x_slow)
            x_fast = getattr(self.fast_path, layer_name)(x_fast)
            if lateral and i != last:
                conv_lateral = getattr(self.slow_path, self.slow_path.lateral_connections[i])
                x_slow = torch.cat((x_slow, conv_lateral(x_fast)), dim=1)
        return x_slow, x_fast
