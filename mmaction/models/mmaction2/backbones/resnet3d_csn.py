"""mmaction2's ``ResNet3dCSN``: channel-separated ResNet (https://arxiv.org/abs/1904.02811).

A ``ResNet3d`` whose bottleneck 3x3x3 conv is depthwise: ``'ir'`` (interaction-reduced) keeps only the
depthwise conv, ``'ip'`` (interaction-preserved) puts a 1x1x1 conv before it. Keys: ``layerX.Y.conv2.0`` (and
``conv2.1`` for ``'ip'``) replace ``ResNet3d``'s ``layerX.Y.conv2``. ``(N, C, T, H, W) -> (N, 2048, T/8, H/32,
W/32)`` with the default temporal strides.
"""
from __future__ import annotations

from typing import Sequence

import torch.nn as nn
from mmcv.cnn import ConvModule

from mmaction.models.backbones._common import apply_bn_eval, freeze_stages, resnet_arch_settings
from mmaction.registry import MODELS

from .resnet3d import Bottleneck3d, ResNet3d


class CSNBottleneck3d(Bottleneck3d):
    """``Bottleneck3d`` with a channel-separated ``conv2`` (``bottleneck_mode`` ``'ir'`` or ``'ip'``)."""

    def __init__(self, inplanes: int, planes: int, *args, bottleneck_mode: str = 'ir', **kwargs) -> None:
        self.bottleneck_mode = bottleneck_mode  # read by _make_conv2 while Bottleneck3d builds
        super().__init__(inplanes, planes, *args, **kwargs)

    def _make_conv2(self, planes: int, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple) -> nn.Module:
        layers = []
        if self.bottleneck_mode == 'ip':
            layers.append(ConvModule(planes, planes, 1, bias=False, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                                     act_cfg=None))
        layers.append(ConvModule(planes, planes, kernel, stride=stride, padding=padding, dilation=dilation,
                                 bias=False, groups=planes, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                                 act_cfg=self.act_cfg))
        return nn.Sequential(*layers)


@MODELS.register_module()
class ResNet3dCSN(ResNet3d):
    """``ResNet3d`` (depth 50/101/152) with CSN blocks and mmaction2's CSN defaults (BN eps 1e-3, 3x3x3
    inflation, temporal strides 1, 2, 2, 2). ``bn_frozen`` with ``norm_eval`` also stops the BN gradients."""

    arch_settings = resnet_arch_settings(None, CSNBottleneck3d)

    def __init__(self, depth: int, pretrained: str | None, temporal_strides: Sequence[int] = (1, 2, 2, 2),
                 conv1_kernel: Sequence[int] = (3, 7, 7), conv1_stride_t: int = 1, pool1_stride_t: int = 1,
                 norm_cfg: dict = dict(type='BN3d', requires_grad=True, eps=1e-3), inflate_style: str = '3x3x3',
                 bottleneck_mode: str = 'ir', bn_frozen: bool = False, **kwargs) -> None:
        if bottleneck_mode not in ('ip', 'ir'):
            raise ValueError(f"ResNet3dCSN: bottleneck_mode must be 'ip' or 'ir', got {bottleneck_mode!r}")
        self.bn_frozen = bn_frozen
        super().__init__(depth, pretrained, temporal_strides=temporal_strides, conv1_kernel=conv1_kernel,
                         conv1_stride_t=conv1_stride_t, pool1_stride_t=pool1_stride_t, norm_cfg=norm_cfg,
                         inflate_style=inflate_style, bottleneck_mode=bottleneck_mode, **kwargs)

    def train(self, mode: bool = True) -> 'ResNet3dCSN':
        nn.Module.train(self, mode)
        freeze_stages(self.frozen_modules(), self.frozen_stages)
        apply_bn_eval(self, mode and self.norm_eval, bn_frozen=self.bn_frozen)
        return self
