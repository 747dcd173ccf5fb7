"""mmaction2's ``ResNet2Plus1d``: R(2+1)D (https://arxiv.org/abs/1711.11248) and its ``Conv2plus1d`` conv.

A ``ResNet3d`` built with ``conv_cfg=dict(type='Conv2plus1d')``: every t x k x k conv becomes a 1 x k x k
spatial conv (``conv_s``), BN (``bn_s``), ReLU and a t x 1 x 1 temporal conv (``conv_t``). No ``pool2`` and only
the last stage is returned: ``(N, C, T, H, W) -> (N, 512, T/8, H/32, W/32)`` for R34 with temporal strides
1, 2, 2, 2.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.registry import MODELS as MMENGINE_MODELS
from torch.nn.modules.utils import _triple

from mmaction.models.backbones._common import init_conv3d_bn
from mmaction.registry import MODELS

from .resnet3d import ResNet3d


class Conv2plus1d(nn.Module):
    """A (2+1)D factorised conv, a drop-in for ``nn.Conv3d`` inside mmcv's ``ConvModule``.

    The middle width ``M = floor(3 * C_in * C_out * kh * kw / (C_in * kh * kw + 3 * C_out))`` keeps the parameter
    count of a 3 x kh x kw conv (the paper's formula with t = 3, which mmaction2 uses for every kernel).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | Sequence[int],
                 stride: int | Sequence[int] = 1, padding: int | Sequence[int] = 0,
                 dilation: int | Sequence[int] = 1, groups: int = 1, bias: bool | str = True,
                 norm_cfg: dict = dict(type='BN3d')) -> None:
        super().__init__()
        kernel_size, stride, padding = _triple(kernel_size), _triple(stride), _triple(padding)
        # ConvModule reads these like an nn.Conv3d's.
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.groups, self.bias = dilation, groups, bias
        self.output_padding, self.transposed = (0, 0, 0), False
        spatial = in_channels * out_channels * kernel_size[1] * kernel_size[2]
        mid_channels = int(3 * spatial / (in_channels * kernel_size[1] * kernel_size[2] + 3 * out_channels))
        self.conv_s = nn.Conv3d(in_channels, mid_channels, kernel_size=(1,) + kernel_size[1:],
                                stride=(1,) + stride[1:], padding=(0,) + padding[1:], bias=bias)
        _, self.bn_s = build_norm_layer(norm_cfg, mid_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv_t = nn.Conv3d(mid_channels, out_channels, kernel_size=(kernel_size[0], 1, 1),
                                stride=(stride[0], 1, 1), padding=(padding[0], 0, 0), bias=bias)
        self.init_weights()

    def init_weights(self) -> None:
        init_conv3d_bn(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_t(self.relu(self.bn_s(self.conv_s(x))))


# mmcv's ConvModule looks conv types up in mmengine's root registry.
if 'Conv2plus1d' not in MMENGINE_MODELS.module_dict:
    MMENGINE_MODELS.register_module('Conv2plus1d', module=Conv2plus1d)


@MODELS.register_module()
class ResNet2Plus1d(ResNet3d):
    """``ResNet3d`` with (2+1)D convs; needs ``conv_cfg=dict(type='Conv2plus1d')`` and ``pretrained2d=False``."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.pretrained2d:
            raise ValueError('ResNet2Plus1d: pretrained2d must be False (2D weights cannot fill (2+1)D convs)')
        if self.conv_cfg.get('type') not in ('Conv2plus1d', Conv2plus1d):
            raise ValueError(f"ResNet2Plus1d: conv_cfg must be dict(type='Conv2plus1d'), got {self.conv_cfg!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, T, H, W)`` -> the last stage's features (no pool2, whatever ``with_pool2``/``out_indices``)."""
        x = self.maxpool(self.conv1(x))
        for layer_name in self.res_layers:
            x = getattr(self, layer_name)(x)
        return x
