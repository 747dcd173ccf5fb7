"""mmaction2's 2D ResNet (TSN, TRN and the base of TSM/TIN/TANet), with mmaction2's state-dict keys.

Every conv+norm(+act) is an ``mmcv.cnn.ConvModule``, so the keys are ``conv1.conv.weight``, ``conv1.bn.*``,
``layer{i}.{j}.conv{1,2,3}.conv/bn.*`` and ``layer{i}.0.downsample.conv/bn.*``; a checkpoint written by mmaction2
loads with ``strict=True``. ``init_weights()`` reads ``pretrained`` (torchvision or mmaction2 layout), never the
constructor, so building a config with a pretrained URL does no I/O.

Shapes: ``(N * T, in_channels, H, W)`` -> stem ``(N * T, 64, H/4, W/4)`` -> stage ``i`` (0-based)
``(N * T, 64 * 2**i * expansion, H / 2**(i + 2), W / 2**(i + 2))`` with the default strides, where ``expansion``
is 1 (ResNet-18/34) or 4 (50/101/152). ResNet-50 at 224: ``(N * T, 2048, 7, 7)``.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule

from mmaction.models.backbones._common import (apply_bn_eval, apply_partial_bn, check_block_style, check_stage_args,
                                               freeze_modules, init_mm2_2d, load_2d_pretrained, maybe_checkpoint,
                                               resnet_arch_settings, run_stages)
from mmaction.registry import MODELS

_BN = dict(type='BN2d', requires_grad=True)
_RELU = dict(type='ReLU', inplace=True)
_CONV = dict(type='Conv')


class BasicBlock(nn.Module):
    """Two 3x3 ConvModules: ``(N, inplanes, H, W)`` -> ``(N, planes, H/stride, W/stride)``."""
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1,
                 downsample: nn.Module | None = None, style: str = 'pytorch', conv_cfg: dict = _CONV,
                 norm_cfg: dict = _BN, act_cfg: dict = _RELU, with_cp: bool = False) -> None:
        super().__init__()
        check_block_style('ResNet', style)
        if with_cp:
            raise ValueError('ResNet: with_cp (gradient checkpointing) is only supported by Bottleneck blocks '
                             '(depth 50/101/152), as in mmaction2')
        self.conv1 = ConvModule(inplanes, planes, 3, stride=stride, padding=dilation, dilation=dilation, bias=False,
                                conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv2 = ConvModule(planes, planes, 3, padding=1, bias=False, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                                act_cfg=None)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(self.conv2(self.conv1(x)) + identity)


class Bottleneck(nn.Module):
    """1x1 -> 3x3 -> 1x1 (x4): ``(N, inplanes, H, W)`` -> ``(N, 4 * planes, H/stride, W/stride)``.

    ``style='pytorch'`` strides the 3x3 conv, ``'caffe'`` the first 1x1. ``with_cp`` recomputes the block in
    backward to save memory.
    """
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1,
                 downsample: nn.Module | None = None, style: str = 'pytorch', conv_cfg: dict = _CONV,
                 norm_cfg: dict = _BN, act_cfg: dict = _RELU, with_cp: bool = False) -> None:
        super().__init__()
        check_block_style('ResNet', style)
        conv1_stride, conv2_stride = (1, stride) if style == 'pytorch' else (stride, 1)
        self.conv1 = ConvModule(inplanes, planes, 1, stride=conv1_stride, bias=False, conv_cfg=conv_cfg,
                                norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv2 = ConvModule(planes, planes, 3, stride=conv2_stride, padding=dilation, dilation=dilation,
                                bias=False, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv3 = ConvModule(planes, planes * self.expansion, 1, bias=False, conv_cfg=conv_cfg,
                                norm_cfg=norm_cfg, act_cfg=None)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.with_cp = with_cp

    def residual(self, x: torch.Tensor, after_conv1: nn.Module | None = None) -> torch.Tensor:
        """``conv3(conv2(conv1(x))) + shortcut(x)`` before the last ReLU; ``after_conv1`` (TANet's TAM) runs
        between conv1 and conv2."""
        out = self.conv1(x)
        if after_conv1 is not None:
            out = after_conv1(out)
        out = self.conv3(self.conv2(out))
        return out + (x if self.downsample is None else self.downsample(x))

    def forward(self, x: torch.Tensor, after_conv1: nn.Module | None = None) -> torch.Tensor:
        return self.relu(maybe_checkpoint(self.residual, x, self.with_cp, after_conv1))


def make_res_layer(block: type, inplanes: int, planes: int, blocks: int, stride: int = 1, dilation: int = 1,
                   style: str = 'pytorch', conv_cfg: dict = _CONV, norm_cfg: dict = _BN, act_cfg: dict = _RELU,
                   with_cp: bool = False) -> nn.Sequential:
    """One stage of ``blocks`` blocks; the first carries the stride and a 1x1 ConvModule projection shortcut."""
    downsample = None
    if stride != 1 or inplanes != planes * block.expansion:
        downsample = ConvModule(inplanes, planes * block.expansion, 1, stride=stride, bias=False,
                                conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None)
    common = dict(style=style, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg, with_cp=with_cp)
    layers = [block(inplanes, planes, stride, dilation, downsample, **common)]
    layers += [block(planes * block.expansion, planes, 1, dilation, **common) for _ in range(1, blocks)]
    return nn.Sequential(*layers)


@MODELS.register_module()
class ResNet(nn.Module):
    """mmaction2's 2D ResNet backbone (no fc).

    Args:
        depth: 18, 34, 50, 101 or 152.
        pretrained: checkpoint path, URL or ``torchvision://resnetXX``, read by :meth:`init_weights`.
        torchvision_pretrain: kept for mmaction2 configs; the loader accepts torchvision and mmaction2 key
            layouts either way.
        in_channels: input channels (3 for RGB, ``2 * clip_len`` for stacked optical flow).
        num_stages, out_indices, strides, dilations, style: as in mmaction2 (one tensor out when one index).
        frozen_stages: stem and stages ``1..frozen_stages`` in eval mode with frozen parameters (-1: none).
        conv_cfg, norm_cfg, act_cfg: mmcv layer configs of every ConvModule.
        norm_eval: all BN layers in eval mode while training.
        partial_bn: every BN2d but the first in eval mode with frozen affine while training (TSN/TRN).
        with_cp: gradient checkpointing in each Bottleneck.
        init_cfg: accepted for mmaction2 configs; the init it describes is mmaction2's default, done by
            :meth:`init_weights`.
    """

    arch_settings = resnet_arch_settings(BasicBlock, Bottleneck)

    def __init__(self, depth: int, pretrained: str | None = None, torchvision_pretrain: bool = True,
                 in_channels: int = 3, num_stages: int = 4, out_indices: Sequence[int] = (3,),
                 strides: Sequence[int] = (1, 2, 2, 2), dilations: Sequence[int] = (1, 1, 1, 1),
                 style: str = 'pytorch', frozen_stages: int = -1, conv_cfg: dict = _CONV, norm_cfg: dict = _BN,
                 act_cfg: dict = _RELU, norm_eval: bool = False, partial_bn: bool = False, with_cp: bool = False,
                 init_cfg: dict | list | None = None) -> None:
        super().__init__()
        check_stage_args(type(self).__name__, depth, self.arch_settings, num_stages, out_indices,
                         strides=strides, dilations=dilations)
        if pretrained is not None and not isinstance(pretrained, str):
            raise TypeError(f'{type(self).__name__}: pretrained must be a str or None, got {pretrained!r}')
        self.depth = depth
        self.pretrained = pretrained
        self.torchvision_pretrain = torchvision_pretrain
        self.in_channels = in_channels
        self.num_stages = num_stages
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.partial_bn = partial_bn

        self.block, stage_blocks = self.arch_settings[depth]
        self.stage_blocks = stage_blocks[:num_stages]
        self.conv1 = ConvModule(in_channels, 64, 7, stride=2, padding=3, bias=False, conv_cfg=conv_cfg,
                                norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        inplanes = 64
        self.res_layers = []
        for i, num_blocks in enumerate(self.stage_blocks):
            planes = 64 * 2 ** i
            layer = make_res_layer(self.block, inplanes, planes, num_blocks, stride=strides[i],
                                   dilation=dilations[i], style=style, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                                   act_cfg=act_cfg, with_cp=with_cp)
            inplanes = planes * self.block.expansion
            self.add_module(f'layer{i + 1}', layer)
            self.res_layers.append(f'layer{i + 1}')
        self.feat_dim = inplanes

    def init_weights(self) -> None:
        """Load ``pretrained`` (missing entries logged) or use mmaction2's default init."""
        init_mm2_2d(self)
        if self.pretrained:
            load_2d_pretrained(self, self.pretrained)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """``(N * T, C, H, W)`` -> the ``out_indices`` stage outputs (a tensor when there is one)."""
        x = self.maxpool(self.conv1(x))
        return run_stages([getattr(self, name) for name in self.res_layers], x, self.out_indices)

    def train(self, mode: bool = True) -> 'ResNet':
        super().train(mode)
        if self.frozen_stages >= 0:
            freeze_modules(self.conv1, *[getattr(self, f'layer{i}') for i in range(1, self.frozen_stages + 1)])
        if mode:
            apply_bn_eval(self, self.norm_eval, bn_frozen=False)
            if self.partial_bn:
                apply_partial_bn(self)
        return self
