"""``ResNet_I3D``: inflated 3D ResNet (I3D, SlowOnly, NL-I3D, the AVA backbone).

Layout and state-dict names are torchvision's (``conv1``, ``bn1``, ``layer{1..4}.{j}.conv{1,2,3}``/``bn{1,2,3}``,
``downsample.{0,1}``) with 5-D kernels, so 2D ImageNet weights inflate by name and the released I3D/SlowOnly
checkpoints load key for key. Per-block options follow the original constructor:

- ``inflate_freq``: per stage an int (all blocks) or a tuple with one 0/1 per block; an inflated bottleneck
  puts the temporal kernel in conv1 (``3x1x1`` style: conv1 3x1x1, conv2 1x3x3) or in conv2 (``3x3x3`` style);
  a non-inflated one is 1x1x1 / 1x3x3.
- ``nonlocal_stages`` / ``nonlocal_freq`` / ``nonlocal_cfg``: a :class:`NonLocalModule` after the blocks flagged 1
  in the listed stages (``layerX.Y.nonlocal_block.*``).
- ``conv1_kernel_t``/``conv1_stride_t``, ``pool1_kernel_t``/``pool1_stride_t``; ``pool2`` = temporal max-pool
  (2x1x1, stride 2) after layer1 unless ``no_pool2`` (SlowOnly).

Shapes (R50, I3D 32x2 test config): ``(N, 3, 32, 256, 256)`` -> ``(N, 2048, 4, 8, 8)``.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from mmaction.models.necks.non_local import NonLocalModule
from mmaction.registry import BACKBONES

from ._common import (basic_residual, bottleneck_residual, check_block_style, check_stage_args, init_weights_3d,
                      load_pretrained, maybe_checkpoint, maybe_sync_bn, resnet_arch_settings, run_stages,
                      set_staged_train_modes)


# ----------------------------------------------------------------------------------------------------------------
# blocks
# ----------------------------------------------------------------------------------------------------------------
def _nonlocal(nonlocal_cfg: dict | None, channels: int) -> NonLocalModule | None:
    if nonlocal_cfg is None:
        return None
    cfg = dict(nonlocal_cfg)
    cfg['in_channels'] = channels
    return NonLocalModule(**cfg)


class _Block3d(nn.Module):
    """Shared forward: residual (optionally checkpointed) -> ReLU -> optional non-local block."""

    def _inner(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(maybe_checkpoint(self._inner, x, self.with_cp))
        return out if self.nonlocal_block is None else self.nonlocal_block(out)


class BasicBlock3d(_Block3d):
    """Two 3x3x3 convs (inflated) or two 1x3x3 convs. ``(N, C, T, H, W)`` -> ``(N, planes, T/st, H/ss, W/ss)``."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, spatial_stride: int = 1, temporal_stride: int = 1,
                 dilation: int = 1, downsample: nn.Module | None = None, style: str = 'pytorch',
                 if_inflate: bool = True, inflate_style: str = '3x1x1', nonlocal_cfg: dict | None = None,
                 with_cp: bool = False) -> None:
        super().__init__()
        kernel = (3, 3, 3) if if_inflate else (1, 3, 3)
        # Dilation is spatial only (as in Bottleneck3d), so the temporal padding stays (3 - 1) // 2.
        pad = (1 if if_inflate else 0, dilation, dilation)
        self.conv1 = nn.Conv3d(inplanes, planes, kernel, stride=(temporal_stride, spatial_stride, spatial_stride),
                               padding=pad, dilation=(1, dilation, dilation), bias=False)
        self.bn1 = nn.BatchNorm3d(planes)
        self.conv2 = nn.Conv3d(planes, planes, kernel, padding=pad, dilation=(1, dilation, dilation), bias=False)
        self.bn2 = nn.BatchNorm3d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.with_cp = with_cp
        self.nonlocal_block = _nonlocal(nonlocal_cfg, planes)

    _inner = basic_residual


class Bottleneck3d(_Block3d):
    """1x1 -> 3x3 -> 1x1 bottleneck with the temporal kernel placed by ``inflate_style``.

    ``style='pytorch'`` puts the (spatial and temporal) stride in conv2, ``'caffe'`` in conv1.
    ``(N, C, T, H, W)`` -> ``(N, 4 * planes, T/st, H/ss, W/ss)``.
    """

    expansion = 4

    def __init__(self, inplanes: int, planes: int, spatial_stride: int = 1, temporal_stride: int = 1,
                 dilation: int = 1, downsample: nn.Module | None = None, style: str = 'pytorch',
                 if_inflate: bool = True, inflate_style: str = '3x1x1', nonlocal_cfg: dict | None = None,
                 with_cp: bool = False) -> None:
        super().__init__()
        check_block_style('ResNet_I3D', style, inflate_style)
        if style == 'pytorch':
            s1, s2, t1, t2 = 1, spatial_stride, 1, temporal_stride
        else:
            s1, s2, t1, t2 = spatial_stride, 1, temporal_stride, 1
        if not if_inflate:
            # A non-inflated block never strides in time (as coded in the original).
            t1 = t2 = 1
        k1, p1 = ((3, 1, 1), (1, 0, 0)) if if_inflate and inflate_style == '3x1x1' else ((1, 1, 1), (0, 0, 0))
        if if_inflate and inflate_style == '3x3x3':
            k2, p2 = (3, 3, 3), (1, dilation, dilation)
        else:
            k2, p2 = (1, 3, 3), (0, dilation, dilation)
        self.conv1 = nn.Conv3d(inplanes, planes, k1, stride=(t1, s1, s1), padding=p1, bias=False)
        self.conv2 = nn.Conv3d(planes, planes, k2, stride=(t2, s2, s2), padding=p2, dilation=(1, dilation, dilation),
                               bias=False)
        self.bn1 = nn.BatchNorm3d(planes)
        self.bn2 = nn.BatchNorm3d(planes)
        self.conv3 = nn.Conv3d(planes, planes * self.expansion, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm3d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.with_cp = with_cp
        self.nonlocal_block = _nonlocal(nonlocal_cfg, planes * self.expansion)

    _inner = bottleneck_residual



def per_block(value: int | Sequence[int], blocks: int, what: str) -> tuple:
    """Expand an int to one flag per block, or check a tuple has exactly one flag per block."""
    flags = (value,) * blocks if isinstance(value, int) else tuple(value)
    if len(flags) != blocks:
        raise ValueError(f'{what}: a stage of {blocks} blocks needs {blocks} flags, got {tuple(value)}')
    return flags


def make_res_layer(block: type, inplanes: int, planes: int, blocks: int, spatial_stride: int = 1,
                   temporal_stride: int = 1, dilation: int = 1, style: str = 'pytorch',
                   inflate_freq: int | Sequence[int] = 1, inflate_style: str = '3x1x1',
                   nonlocal_freq: int | Sequence[int] = 1, nonlocal_cfg: dict | None = None,
                   lateral_inplanes: int = 0, with_cp: bool = False) -> nn.Sequential:
    """One ResNet stage. ``lateral_inplanes`` extra input channels feed its first block (SlowFast fusion)."""
    inflate = per_block(inflate_freq, blocks, 'inflate_freq')
    nonlocal_flags = per_block(nonlocal_freq, blocks, 'nonlocal_freq')
    downsample = None
    # As in the original the test ignores the temporal stride. Lateral channels also force a projection:
    # the original omitted that, which only broke basic-block (R18/R34) SlowFast; bottleneck layouts are unchanged.
    if spatial_stride != 1 or inplanes != planes * block.expansion or lateral_inplanes > 0:
        downsample = nn.Sequential(
            nn.Conv3d(inplanes + lateral_inplanes, planes * block.expansion, kernel_size=1,
                      stride=(temporal_stride, spatial_stride, spatial_stride), bias=False),
            nn.BatchNorm3d(planes * block.expansion))
    layers = [block(inplanes + lateral_inplanes, planes, spatial_stride, temporal_stride, dilation, downsample,
                    style=style, if_inflate=inflate[0] == 1, inflate_style=inflate_style,
                    nonlocal_cfg=nonlocal_cfg if nonlocal_flags[0] == 1 else None, with_cp=with_cp)]
    for i in range(1, blocks):
        layers.append(block(planes * block.expansion, planes, 1, 1, dilation, style=style,
                            if_inflate=inflate[i] == 1, inflate_style=inflate_style,
                            nonlocal_cfg=nonlocal_cfg if nonlocal_flags[i] == 1 else None, with_cp=with_cp))
    return nn.Sequential(*layers)


ARCH_SETTINGS = resnet_arch_settings(BasicBlock3d, Bottleneck3d)


@BACKBONES.register_module()
class ResNet_I3D(nn.Module):
    """Inflated 3D ResNet with the original MMAction constructor keywords (see the module docstring).

    ``pretrained`` + ``pretrained2d=True`` inflates a 2D ResNet file (``modelzoo://resnet50``, a path or URL);
    ``pretrained2d=False`` loads a 3D checkpoint by key name. ``bn_eval`` keeps BNs in eval mode during
    training (``bn_frozen`` also freezes their affine weights); ``partial_bn`` freezes the BNs of stages
    ``1..frozen_stages``; ``frozen_stages`` freezes the stem and those stages. ``base_channels`` (default 64)
    is the stem/first-stage width; stage i has ``base_channels * 2**i`` planes, so ``feat_dim`` scales with it.
    """

    arch_settings = ARCH_SETTINGS

    def __init__(self, depth: int, pretrained: str | None = None, pretrained2d: bool = True, num_stages: int = 4,
                 spatial_strides: Sequence[int] = (1, 2, 2, 2), temporal_strides: Sequence[int] = (1, 1, 1, 1),
                 dilations: Sequence[int] = (1, 1, 1, 1), out_indices: Sequence[int] = (0, 1, 2, 3),
                 conv1_kernel_t: int = 5, conv1_stride_t: int = 2, pool1_kernel_t: int = 1, pool1_stride_t: int = 2,
                 style: str = 'pytorch', frozen_stages: int = -1,
                 inflate_freq: int | Sequence = (1, 1, 1, 1), inflate_stride: Sequence[int] = (1, 1, 1, 1),
                 inflate_style: str = '3x1x1', nonlocal_stages: Sequence[int] = (-1,),
                 nonlocal_freq: int | Sequence = (0, 1, 1, 0), nonlocal_cfg: dict | None = None,
                 no_pool2: bool = False, bn_eval: bool = True, bn_frozen: bool = False, partial_bn: bool = False,
                 with_cp: bool = False, use_syncbn: bool = False, base_channels: int = 64) -> None:
        super().__init__()
        check_stage_args('ResNet_I3D', depth, self.arch_settings, num_stages, out_indices,
                         spatial_strides=spatial_strides, temporal_strides=temporal_strides, dilations=dilations)
        self.depth = depth
        self.pretrained = pretrained
        self.pretrained2d = pretrained2d
        self.num_stages = num_stages
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.inflate_freqs = (inflate_freq,) * num_stages if isinstance(inflate_freq, int) else tuple(inflate_freq)
        self.nonlocal_freqs = (nonlocal_freq,) * num_stages if isinstance(nonlocal_freq, int) else tuple(nonlocal_freq)
        if len(self.inflate_freqs) < num_stages or len(self.nonlocal_freqs) < num_stages:
            raise ValueError(f'ResNet_I3D: inflate_freq and nonlocal_freq need one entry per stage ({num_stages})')
        self.nonlocal_stages = tuple(nonlocal_stages)
        self.no_pool2 = no_pool2
        self.bn_eval = bn_eval
        self.bn_frozen = bn_frozen
        self.partial_bn = partial_bn
        self.use_syncbn = use_syncbn
        if tuple(inflate_stride) != (1, 1, 1, 1):
            # the original accepted inflate_stride and never read it; temporal strides are temporal_strides
            raise ValueError(f'ResNet_I3D: inflate_stride {tuple(inflate_stride)} is not supported (the original '
                             f'ignored it); set temporal strides with temporal_strides')
        # Width of the stem and first stage; 64 for the released networks, smaller for the toy configs.
        self.base_channels = base_channels

        self.block, stage_blocks = self.arch_settings[depth]
        self.stage_blocks = stage_blocks[:num_stages]
        self.conv1 = nn.Conv3d(3, base_channels, kernel_size=(conv1_kernel_t, 7, 7), stride=(conv1_stride_t, 2, 2),
                               padding=((conv1_kernel_t - 1) // 2, 3, 3), bias=False)
        self.bn1 = nn.BatchNorm3d(base_channels)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool3d(kernel_size=(pool1_kernel_t, 3, 3), stride=(pool1_stride_t, 2, 2),
                                    padding=(pool1_kernel_t // 2, 1, 1))
        self.pool2 = nn.MaxPool3d(kernel_size=(2, 1, 1), stride=(2, 1, 1))

        inplanes = base_channels
        self.res_layers = []
        for i, num_blocks in enumerate(self.stage_blocks):
            planes = base_channels * 2 ** i
            layer = make_res_layer(
                self.block, inplanes, planes, num_blocks, spatial_stride=spatial_strides[i],
                temporal_stride=temporal_strides[i], dilation=dilations[i], style=style,
                inflate_freq=self.inflate_freqs[i], inflate_style=inflate_style,
                nonlocal_freq=self.nonlocal_freqs[i],
                nonlocal_cfg=nonlocal_cfg if i in self.nonlocal_stages else None, with_cp=with_cp)
            inplanes = planes * self.block.expansion
            self.add_module(f'layer{i + 1}', layer)
            self.res_layers.append(f'layer{i + 1}')
        self.feat_dim = self.block.expansion * base_channels * 2 ** (len(self.stage_blocks) - 1)
        maybe_sync_bn(self, use_syncbn, 'ResNet_I3D')

    def init_weights(self) -> None:
        init_weights_3d(self)
        if isinstance(self.pretrained, str):
            load_pretrained(self, self.pretrained, inflate=self.pretrained2d)
        elif self.pretrained is not None:
            raise TypeError(f'ResNet_I3D: pretrained must be a str or None, got {type(self.pretrained).__name__}')

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return run_stages([getattr(self, name) for name in self.res_layers], x, self.out_indices,
                          after=lambda i, y: self.pool2(y) if i == 0 and not self.no_pool2 else y)

    def train(self, mode: bool = True) -> 'ResNet_I3D':
        super().train(mode)
        set_staged_train_modes(self, mode, [self.conv1, self.bn1], [getattr(self, n) for n in self.res_layers],
                               self.frozen_stages, self.bn_eval, self.bn_frozen, self.partial_bn)
        return self
