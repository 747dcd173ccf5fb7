"""``ResI3DLayer``: one 3D ResNet stage used as the shared RoI head (``res5`` of the AVA Fast R-CNN).

``(N, 1024, T, 16, 16)`` RoI features -> ``(N, 2048, T, 8, 8)`` for ``depth=50, stage=3, spatial_stride=2``.
State-dict names are ``layer{stage + 1}.*`` (``shared_head.layer4.*``), so both the released AVA checkpoint
and a full I3D backbone checkpoint load into it by name.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from mmaction.models.backbones._common import freeze_modules, init_weights_3d, load_pretrained, set_train_modes
from mmaction.models.backbones.resnet_i3d import ARCH_SETTINGS, make_res_layer
from mmaction.registry import HEADS


@HEADS.register_module()
class ResI3DLayer(nn.Module):

    def __init__(self, depth: int, pretrained: str | None = None, pretrained2d: bool = True, stage: int = 3,
                 spatial_stride: int = 2, temporal_stride: int = 1, dilation: int = 1, style: str = 'pytorch',
                 inflate_freq: int | tuple = 1, inflate_style: str = '3x1x1', bn_eval: bool = True,
                 bn_frozen: bool = True, all_frozen: bool = False, with_cp: bool = False):
        super().__init__()
        if depth not in ARCH_SETTINGS:
            raise ValueError(f'ResI3DLayer: invalid depth {depth}, expected one of {sorted(ARCH_SETTINGS)}')
        if not 0 <= stage <= 3:
            raise ValueError(f'ResI3DLayer: stage must be in 0..3, got {stage}')
        block, stage_blocks = ARCH_SETTINGS[depth]
        self.stage = stage
        self.pretrained = pretrained
        self.pretrained2d = pretrained2d
        self.bn_eval, self.bn_frozen, self.all_frozen = bn_eval, bn_frozen, all_frozen
        planes = 64 * 2 ** stage
        inplanes = 64 * 2 ** (stage - 1) * block.expansion
        layer = make_res_layer(block, inplanes, planes, stage_blocks[stage], spatial_stride=spatial_stride,
                               temporal_stride=temporal_stride, dilation=dilation, style=style,
                               inflate_freq=inflate_freq, inflate_style=inflate_style, nonlocal_freq=0,
                               with_cp=with_cp)
        self.add_module(f'layer{stage + 1}', layer)
        self.out_channels = planes * block.expansion

    def init_weights(self) -> None:
        init_weights_3d(self)
        if isinstance(self.pretrained, str):
            # A backbone checkpoint names this stage layer{stage+1}.* just like here.
            load_pretrained(self, self.pretrained, inflate=self.pretrained2d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return getattr(self, f'layer{self.stage + 1}')(x)

    def train(self, mode: bool = True) -> 'ResI3DLayer':
        super().train(mode)
        set_train_modes(self, mode, self.bn_eval, self.bn_frozen)
        if self.all_frozen:
            freeze_modules(self)
        return self
