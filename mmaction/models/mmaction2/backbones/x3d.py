"""mmaction2's ``X3D`` (https://arxiv.org/abs/2004.04730), the network of the released X3D-S/M weights.

Stem: a 1x3x3 spatial conv (stride 2, no norm) and a depthwise 5x1x1 temporal conv; four stages of ``BlockX3D``
(1x1x1 expand to ``gamma_b`` times the width, depthwise 3x3x3, squeeze-excitation on every other block, Swish,
1x1x1 project); ``conv5`` widens by ``gamma_b``. ``(N, 3, T, H, W) -> (N, int(192 * gamma_w' * gamma_b), T,
H/32, W/32)`` where the stage widths are 24, 48, 96, 192 scaled by ``gamma_w`` and rounded to multiples of 8.
"""
from __future__ import annotations

import logging
import math
from typing import Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, Swish, build_activation_layer

from mmaction.models.backbones._common import apply_bn_eval, freeze_stages, init_conv3d_bn, maybe_checkpoint
from mmaction.registry import MODELS
from mmaction.utils.checkpoint import load_checkpoint

logger = logging.getLogger('mmaction')


def round_width(width: float, multiplier: float, min_width: int = 8, divisor: int = 8) -> int:
    """``width * multiplier`` rounded to the nearest multiple of ``divisor`` (at least ``min_width``), rounded up
    when rounding would lose more than 10%."""
    width *= multiplier
    rounded = max(min_width, int(width + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * width:
        rounded += divisor
    return int(rounded)


class SEModule(nn.Module):
    """Squeeze-excitation: ``x * sigmoid(fc2(relu(fc1(mean(x)))))``, bottleneck ``round_width(C, reduction)``."""

    def __init__(self, channels: int, reduction: float) -> None:
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool3d(1)
        self.bottleneck = round_width(channels, reduction)
        self.fc1 = nn.Conv3d(channels, self.bottleneck, kernel_size=1, padding=0)
        self.relu = nn.ReLU()
        self.fc2 = nn.Conv3d(self.bottleneck, channels, kernel_size=1, padding=0)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.sigmoid(self.fc2(self.relu(self.fc1(self.avg_pool(x)))))


class BlockX3D(nn.Module):
    """``(N, inplanes, T, H, W) -> (N, outplanes, T, H/s, W/s)`` through a ``planes``-wide depthwise bottleneck."""

    def __init__(self, inplanes: int, planes: int, outplanes: int, spatial_stride: int = 1,
                 downsample: nn.Module | None = None, se_ratio: float | None = None, use_swish: bool = True,
                 conv_cfg: dict = dict(type='Conv3d'), norm_cfg: dict = dict(type='BN3d'),
                 act_cfg: dict = dict(type='ReLU'), with_cp: bool = False) -> None:
        super().__init__()
        self.downsample = downsample  # registered first: mmaction2's key order starts with it
        self.se_ratio = se_ratio
        # mmaction2 stores use_swish but always applies Swish; the released weights were trained that way.
        self.use_swish = use_swish
        self.with_cp = with_cp
        self.conv1 = ConvModule(inplanes, planes, kernel_size=1, stride=1, padding=0, bias=False,
                                conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv2 = ConvModule(planes, planes, kernel_size=3, stride=(1, spatial_stride, spatial_stride),
                                padding=1, groups=planes, bias=False, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                                act_cfg=None)
        self.swish = Swish()
        self.conv3 = ConvModule(planes, outplanes, kernel_size=1, stride=1, padding=0, bias=False,
                                conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None)
        if se_ratio is not None:
            self.se_module = SEModule(planes, se_ratio)
        self.relu = build_activation_layer(act_cfg)

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.conv1(x))
        if self.se_ratio is not None:
            out = self.se_module(out)
        out = self.conv3(self.swish(out))
        return out + (x if self.downsample is None else self.downsample(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(maybe_checkpoint(self._residual, x, self.with_cp))


@MODELS.register_module()
class X3D(nn.Module):
    """X3D with width (``gamma_w``), bottleneck (``gamma_b``) and depth (``gamma_d``) expansion factors.

    ``se_style='half'`` puts SE in blocks 0, 2, 4, ... of each stage, ``'all'`` in every block.
    """

    def __init__(self, gamma_w: float = 1.0, gamma_b: float = 1.0, gamma_d: float = 1.0,
                 pretrained: str | None = None, in_channels: int = 3, num_stages: int = 4,
                 spatial_strides: Sequence[int] = (2, 2, 2, 2), frozen_stages: int = -1, se_style: str = 'half',
                 se_ratio: float | None = 1 / 16, use_swish: bool = True, conv_cfg: dict = dict(type='Conv3d'),
                 norm_cfg: dict = dict(type='BN3d', requires_grad=True),
                 act_cfg: dict = dict(type='ReLU', inplace=True), norm_eval: bool = False, with_cp: bool = False,
                 zero_init_residual: bool = True) -> None:
        super().__init__()
        if not 1 <= num_stages <= 4:
            raise ValueError(f'X3D: num_stages must be in 1..4, got {num_stages}')
        if len(spatial_strides) != num_stages:
            raise ValueError(f'X3D: spatial_strides {tuple(spatial_strides)} needs num_stages={num_stages} entries')
        if se_style not in ('all', 'half'):
            raise ValueError(f"X3D: se_style must be 'all' or 'half', got {se_style!r}")
        if se_ratio is not None and se_ratio <= 0:
            raise ValueError(f'X3D: se_ratio must be positive or None, got {se_ratio}')
        self.gamma_w, self.gamma_b, self.gamma_d = gamma_w, gamma_b, gamma_d
        self.pretrained = pretrained
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.zero_init_residual = zero_init_residual
        # A zero/None factor leaves the width or depth unchanged (mmaction2's convention).
        self.base_channels = round_width(24, gamma_w) if gamma_w else 24
        self.stage_blocks = [int(math.ceil(gamma_d * n)) if gamma_d else n for n in (1, 2, 5, 3)][:num_stages]

        self.conv1_s = ConvModule(in_channels, self.base_channels, kernel_size=(1, 3, 3), stride=(1, 2, 2),
                                  padding=(0, 1, 1), bias=False, conv_cfg=conv_cfg, norm_cfg=None, act_cfg=None)
        self.conv1_t = ConvModule(self.base_channels, self.base_channels, kernel_size=(5, 1, 1), stride=1,
                                  padding=(2, 0, 0), groups=self.base_channels, bias=False, conv_cfg=conv_cfg,
                                  norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.res_layers = []
        layer_inplanes = self.base_channels
        for i, num_blocks in enumerate(self.stage_blocks):
            width = self.base_channels * 2 ** i
            planes = int(width * gamma_b)
            stride = spatial_strides[i]
            downsample = None
            if stride != 1 or layer_inplanes != width:
                downsample = ConvModule(layer_inplanes, width, kernel_size=1, stride=(1, stride, stride), padding=0,
                                        bias=False, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None)
            blocks = []
            for j in range(num_blocks):
                use_se = se_style == 'all' or j % 2 == 0
                blocks.append(BlockX3D(
                    layer_inplanes if j == 0 else width, planes, width, spatial_stride=stride if j == 0 else 1,
                    downsample=downsample if j == 0 else None, se_ratio=se_ratio if use_se else None,
                    use_swish=use_swish, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg, with_cp=with_cp))
            layer_inplanes = width
            self.add_module(f'layer{i + 1}', nn.Sequential(*blocks))
            self.res_layers.append(f'layer{i + 1}')
        feat_dim = self.base_channels * 2 ** (len(self.stage_blocks) - 1)
        self.conv5 = ConvModule(feat_dim, int(feat_dim * gamma_b), kernel_size=1, stride=1, padding=0, bias=False,
                                conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.feat_dim = int(feat_dim * gamma_b)

    def init_weights(self) -> None:
        """Load ``pretrained`` by key name, or Kaiming convs, BNs to 1/0 (each block's last BN to 0 when
        ``zero_init_residual``)."""
        if isinstance(self.pretrained, str):
            logger.info('X3D: load model from %s', self.pretrained)
            load_checkpoint(self, self.pretrained, strict=False, logger=logger)
        elif self.pretrained is None:
            zero = [m.conv3.bn for m in self.modules() if isinstance(m, BlockX3D)] if self.zero_init_residual else []
            init_conv3d_bn(self, zero)
        else:
            raise TypeError(f'X3D: pretrained must be a str or None, got {type(self.pretrained).__name__}')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, T, H, W) -> (N, feat_dim, T, H/32, W/32)`` with the default strides."""
        x = self.conv1_t(self.conv1_s(x))
        for layer_name in self.res_layers:
            x = getattr(self, layer_name)(x)
        return self.conv5(x)

    def train(self, mode: bool = True) -> 'X3D':
        super().train(mode)
        stages = [[self.conv1_s, self.conv1_t]] + [[getattr(self, name)] for name in self.res_layers]
        freeze_stages(stages, self.frozen_stages)
        apply_bn_eval(self, mode and self.norm_eval, bn_frozen=False)
        return self
