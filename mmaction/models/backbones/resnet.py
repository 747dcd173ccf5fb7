"""2D ResNet (18/34/50/101/152) with torchvision parameter names, as used by TSN2D.

Keys: ``conv1``, ``bn1``, ``layer{1..4}.{j}.conv{1,2,3}``, ``.bn{1,2,3}``, ``.downsample.0`` (1x1 conv) and
``.downsample.1`` (BN), so ``modelzoo://resnetXX`` (torchvision ImageNet weights) loads by name.

Shapes: ``(N, 3, H, W)`` -> stem ``(N, w, H/4, W/4)`` -> stage ``i`` ``(N, w * 2**i * expansion, H/2**(i+2), ...)``
with the default strides, where ``w = base_channels`` (64) and ``expansion`` is 1 (18/34) or 4 (50+).
ResNet-50 at 224: ``(N, 2048, 7, 7)`` from the last stage.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from mmaction.registry import BACKBONES

from ._common import (basic_residual, bottleneck_residual, check_block_style, check_stage_args, init_backbone,
                      maybe_checkpoint, resnet_arch_settings, run_stages, set_staged_train_modes)


def _conv3x3(in_planes: int, out_planes: int, stride: int = 1, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, 3, stride=stride, padding=dilation, dilation=dilation, bias=False)


def _run_block(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``relu(block._residual(x))``, recomputing the residual in backward when ``block.with_cp``."""
    return block.relu(maybe_checkpoint(block._residual, x, block.with_cp))


class BasicBlock(nn.Module):
    """Two 3x3 convs: ``(N, inplanes, H, W)`` -> ``(N, planes, H/stride, W/stride)``."""
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1,
                 downsample: nn.Module | None = None, style: str = 'pytorch', with_cp: bool = False) -> None:
        super().__init__()
        self.conv1 = _conv3x3(inplanes, planes, stride, dilation)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.with_cp = with_cp

    _residual = basic_residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _run_block(self, x)


class Bottleneck(nn.Module):
    """1x1 -> 3x3 -> 1x1 (x4): ``(N, inplanes, H, W)`` -> ``(N, 4 * planes, H/stride, W/stride)``.

    ``style='pytorch'`` puts the stride in the 3x3 conv, ``'caffe'`` in the first 1x1 conv.
    """
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1,
                 downsample: nn.Module | None = None, style: str = 'pytorch', with_cp: bool = False) -> None:
        super().__init__()
        check_block_style('ResNet', style)
        conv1_stride, conv2_stride = (1, stride) if style == 'pytorch' else (stride, 1)
        self.conv1 = nn.Conv2d(inplanes, planes, 1, stride=conv1_stride, bias=False)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=conv2_stride, padding=dilation, dilation=dilation,
                               bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.with_cp = with_cp

    _residual = bottleneck_residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _run_block(self, x)


def make_res_layer(block: type, inplanes: int, planes: int, blocks: int, stride: int = 1, dilation: int = 1,
                   style: str = 'pytorch', with_cp: bool = False) -> nn.Sequential:
    """One ResNet stage of ``blocks`` blocks; the first one carries the stride and the projection shortcut."""
    downsample = None
    if stride != 1 or inplanes != planes * block.expansion:
        downsample = nn.Sequential(
            nn.Conv2d(inplanes, planes * block.expansion, 1, stride=stride, bias=False),
            nn.BatchNorm2d(planes * block.expansion))
    layers = [block(inplanes, planes, stride, dilation, downsample, style=style, with_cp=with_cp)]
    inplanes = planes * block.expansion
    layers += [block(inplanes, planes, 1, dilation, style=style, with_cp=with_cp) for _ in range(1, blocks)]
    return nn.Sequential(*layers)


@BACKBONES.register_module()
class ResNet(nn.Module):
    """ResNet backbone (no fc).

    Args:
        depth: 18, 34, 50, 101 or 152.
        pretrained: checkpoint path or ``modelzoo://resnetXX`` / ``open-mmlab://`` / http name.
        num_stages: number of stages built (1-4).
        strides, dilations: per-stage stride of the first block and dilation.
        out_indices: stages whose outputs are returned (a single tensor when only one).
        style: 'pytorch' (stride in 3x3) or 'caffe' (stride in first 1x1).
        frozen_stages: stem and stages ``1..frozen_stages`` in eval mode with frozen parameters (-1: none).
        bn_eval: all BNs in eval mode during training; bn_frozen: also freeze their affine parameters.
        partial_bn: as in the original, BNs of stages ``1..frozen_stages`` are put in eval mode and frozen.
        with_cp: gradient checkpointing in each block (saves memory).
        base_channels: width of the stem and first stage (64 for the standard networks).
    """

    arch_settings = resnet_arch_settings(BasicBlock, Bottleneck)

    def __init__(self,
                 depth: int,
                 pretrained: str | None = None,
                 num_stages: int = 4,
                 strides: Sequence[int] = (1, 2, 2, 2),
                 dilations: Sequence[int] = (1, 1, 1, 1),
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 style: str = 'pytorch',
                 frozen_stages: int = -1,
                 bn_eval: bool = True,
                 bn_frozen: bool = False,
                 partial_bn: bool = False,
                 with_cp: bool = False,
                 base_channels: int = 64) -> None:
        super().__init__()
        if depth not in self.arch_settings:  # KeyError, as the original mmdet-style ResNet raised
            raise KeyError(f'ResNet: invalid depth {depth}; expected one of {sorted(self.arch_settings)}')
        check_stage_args('ResNet', depth, self.arch_settings, num_stages, out_indices, strides=strides,
                         dilations=dilations)
        self.depth = depth
        self.pretrained = pretrained
        self.num_stages = num_stages
        self.strides = tuple(strides)
        self.dilations = tuple(dilations)
        self.out_indices = tuple(out_indices)
        self.style = style
        self.frozen_stages = frozen_stages
        self.bn_eval = bn_eval
        self.bn_frozen = bn_frozen
        self.partial_bn = partial_bn
        self.with_cp = with_cp
        self.base_channels = base_channels

        self.block, stage_blocks = self.arch_settings[depth]
        self.stage_blocks = stage_blocks[:num_stages]
        self.conv1 = nn.Conv2d(3, base_channels, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(base_channels)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)

        inplanes = base_channels
        self.res_layers = []
        for i, num_blocks in enumerate(self.stage_blocks):
            planes = base_channels * 2 ** i
            layer = make_res_layer(self.block, inplanes, planes, num_blocks, stride=self.strides[i],
                                   dilation=self.dilations[i], style=style, with_cp=with_cp)
            inplanes = planes * self.block.expansion
            self.add_module(f'layer{i + 1}', layer)
            self.res_layers.append(f'layer{i + 1}')
        self.feat_dim = self.block.expansion * base_channels * 2 ** (len(self.stage_blocks) - 1)

    def init_weights(self) -> None:
        init_backbone(self, self.pretrained)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return run_stages([getattr(self, name) for name in self.res_layers], x, self.out_indices)

    def train(self, mode: bool = True) -> 'ResNet':
        super().train(mode)
        set_staged_train_modes(self, mode, [self.conv1, self.bn1], [getattr(self, n) for n in self.res_layers],
                               self.frozen_stages, self.bn_eval, self.bn_frozen, self.partial_bn)
        return self
