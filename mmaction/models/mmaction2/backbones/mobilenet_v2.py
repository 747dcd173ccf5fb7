"""mmaction2's MobileNetV2 backbone (the base of TSM-MobileNetV2), with mmaction2's (mmcls') state-dict keys.

Keys: ``conv1.conv/bn``, ``layer{1..7}.{j}.conv.{0,1,2}.conv/bn`` (inverted residual blocks of ConvModules; the
expansion conv is absent when ``expand_ratio == 1``), ``conv2.conv/bn`` (the final 1x1 to 1280 channels).

Shapes: ``(N * T, 3, H, W)`` -> ``conv1`` ``(N * T, 32w, H/2, W/2)`` -> layers 1-7 with strides 1, 2, 2, 2, 1, 2, 1
and ``16w, 24w, 32w, 64w, 96w, 160w, 320w`` channels (``w = widen_factor``, rounded to multiples of 8) ->
``conv2`` ``(N * T, 1280, H/32, W/32)`` (``int(1280 w)`` when ``w > 1``). ``out_indices`` count layer1..7 as 0..6
and conv2 as 7.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule

from mmaction.models.backbones._common import (apply_bn_eval, freeze_modules, init_mm2_2d, load_2d_pretrained,
                                               maybe_checkpoint, run_stages)
from mmaction.registry import MODELS


def make_divisible(value: float, divisor: int, min_value: int | None = None, min_ratio: float = 0.9) -> int:
    """Round a channel count to the nearest multiple of ``divisor``, never below ``min_ratio`` of it."""
    min_value = divisor if min_value is None else min_value
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < min_ratio * value else rounded


class InvertedResidual(nn.Module):
    """1x1 expansion (skipped when ``expand_ratio == 1``) -> 3x3 depthwise (``stride``) -> 1x1 linear projection,
    with an identity shortcut when the shape is kept: ``(N, in, H, W)`` -> ``(N, out, H/stride, W/stride)``."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: float,
                 conv_cfg: dict | None = None, norm_cfg: dict | None = None, act_cfg: dict | None = None,
                 with_cp: bool = False) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f'MobileNetV2: block stride must be 1 or 2, got {stride}')
        self.with_cp = with_cp
        self.use_res_connect = stride == 1 and in_channels == out_channels
        hidden = int(round(in_channels * expand_ratio))
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        layers = [ConvModule(in_channels, hidden, 1, act_cfg=act_cfg, **common)] if expand_ratio != 1 else []
        layers += [ConvModule(hidden, hidden, 3, stride=stride, padding=1, groups=hidden, act_cfg=act_cfg, **common),
                   ConvModule(hidden, out_channels, 1, act_cfg=None, **common)]
        self.conv = nn.Sequential(*layers)

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return maybe_checkpoint(self._residual, x, self.with_cp)


@MODELS.register_module()
class MobileNetV2(nn.Module):
    """MobileNetV2 backbone (no classifier).

    Args:
        pretrained: checkpoint read by :meth:`init_weights` (mmaction2/mmcls layout, ``backbone.`` prefix allowed).
        widen_factor: channel multiplier.
        out_indices: outputs among layer1..7 (0..6) and conv2 (7); one tensor out when one index.
        frozen_stages: conv1 and the first ``frozen_stages`` of layer1..7, conv2 frozen in eval mode (-1: none).
        conv_cfg, norm_cfg, act_cfg: mmcv layer configs (ReLU6 by default).
        norm_eval: all BN layers in eval mode while training.
        with_cp: gradient checkpointing in each block.
        init_cfg: accepted for mmaction2 configs; :meth:`init_weights` does mmaction2's default init.
    """

    # expand_ratio, channels, blocks, stride of the first block
    arch_settings = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2],
                     [6, 320, 1, 1]]

    def __init__(self, pretrained: str | None = None, widen_factor: float = 1., out_indices: Sequence[int] = (7,),
                 frozen_stages: int = -1, conv_cfg: dict = dict(type='Conv'),
                 norm_cfg: dict = dict(type='BN2d', requires_grad=True),
                 act_cfg: dict = dict(type='ReLU6', inplace=True), norm_eval: bool = False, with_cp: bool = False,
                 init_cfg: dict | list | None = None) -> None:
        super().__init__()
        name = type(self).__name__
        if pretrained is not None and not isinstance(pretrained, str):
            raise TypeError(f'{name}: pretrained must be a str or None, got {pretrained!r}')
        bad = [i for i in out_indices if i not in range(8)]
        if bad or not out_indices:
            raise ValueError(f'{name}: out_indices must be in 0..7 (layer1..7, conv2), got {tuple(out_indices)}')
        if frozen_stages not in range(-1, 9):
            raise ValueError(f'{name}: frozen_stages must be in -1..8, got {frozen_stages}')
        self.pretrained = pretrained
        self.widen_factor = widen_factor
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval

        channels = make_divisible(32 * widen_factor, 8)
        common = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv1 = ConvModule(3, channels, 3, stride=2, padding=1, **common)
        self.layers = []
        for i, (expand_ratio, width, num_blocks, stride) in enumerate(self.arch_settings):
            out_channels = make_divisible(width * widen_factor, 8)
            blocks = []
            for j in range(num_blocks):
                blocks.append(InvertedResidual(channels, out_channels, stride if j == 0 else 1, expand_ratio,
                                               with_cp=with_cp, **common))
                channels = out_channels
            self.add_module(f'layer{i + 1}', nn.Sequential(*blocks))
            self.layers.append(f'layer{i + 1}')
        self.out_channel = int(1280 * widen_factor) if widen_factor > 1.0 else 1280
        self.conv2 = ConvModule(channels, self.out_channel, 1, **common)
        self.layers.append('conv2')

    def init_weights(self) -> None:
        """Load ``pretrained`` (missing entries logged) or use mmaction2's default init."""
        init_mm2_2d(self)
        if self.pretrained:
            load_2d_pretrained(self, self.pretrained)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """``(N * T, 3, H, W)`` -> the ``out_indices`` outputs (a tensor when there is one)."""
        x = self.conv1(x)
        return run_stages([getattr(self, name) for name in self.layers], x, self.out_indices)

    def train(self, mode: bool = True) -> 'MobileNetV2':
        super().train(mode)
        if self.frozen_stages >= 0:
            freeze_modules(self.conv1, *[getattr(self, name) for name in self.layers[:self.frozen_stages]])
        if mode:
            apply_bn_eval(self, self.norm_eval, bn_frozen=False)
        return self
