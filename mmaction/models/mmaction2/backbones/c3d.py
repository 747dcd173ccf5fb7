"""mmaction2's ``C3D`` (Tran et al.): eight 3x3x3 ``ConvModule``s, five max-pools and two FC layers.

Keys ``conv1a.conv.weight`` ... ``conv5b.conv.bias``, ``fc6``, ``fc7`` (mmaction2's, unlike the original-MMAction
``C3D`` whose convs are bare). ``(N, 3, 16, 112, 112) -> (N, 4096)`` (fc7 after ReLU); ``out_dim`` is the flattened
pool5 size, 512 * 1 * 4 * 4 = 8192 for that input.
"""
from __future__ import annotations

import logging

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule

from mmaction.models.backbones.c3d import C3D_CONVS
from mmaction.registry import MODELS
from mmaction.utils.checkpoint import load_checkpoint

logger = logging.getLogger('mmaction')


@MODELS.register_module()
class C3D(nn.Module):
    """C3D with mmaction2's arguments (``style`` is accepted and unused, as in mmaction2)."""

    def __init__(self, pretrained: str | None = None, style: str = 'pytorch', conv_cfg: dict | None = None,
                 norm_cfg: dict | None = None, act_cfg: dict | None = None, out_dim: int = 8192,
                 dropout_ratio: float = 0.5, init_std: float = 0.005) -> None:
        super().__init__()
        self.pretrained = pretrained
        self.style = style
        self.init_std = init_std
        conv_param = dict(kernel_size=(3, 3, 3), padding=(1, 1, 1), conv_cfg=conv_cfg or dict(type='Conv3d'),
                          norm_cfg=norm_cfg, act_cfg=act_cfg or dict(type='ReLU'))
        self.layout = []  # (conv name, name of the pool after it or None), in forward order
        in_channels, pool_index = 3, 1
        for name, width, pool in C3D_CONVS:
            setattr(self, name, ConvModule(in_channels, width, **conv_param))
            in_channels = width
            pool_name = None
            if pool is not None:
                pool_name = f'pool{pool_index}'
                # pool5 pads H and W so that 7x7 maps (112 input) pool to 4x4.
                padding = (0, 1, 1) if pool_index == 5 else 0
                setattr(self, pool_name, nn.MaxPool3d(kernel_size=pool, stride=pool, padding=padding))
                pool_index += 1
            self.layout.append((name, pool_name))
        self.fc6 = nn.Linear(out_dim, 4096)
        self.fc7 = nn.Linear(4096, 4096)
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(p=dropout_ratio)

    def init_weights(self) -> None:
        """Load ``pretrained`` by key name, or Kaiming convs, normal(``init_std``) FCs, BNs to 1/0."""
        if isinstance(self.pretrained, str):
            logger.info('C3D: load model from %s', self.pretrained)
            load_checkpoint(self, self.pretrained, strict=False, logger=logger)
        elif self.pretrained is None:
            for m in self.modules():
                if isinstance(m, nn.Conv3d):
                    nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, self.init_std)
                    nn.init.zeros_(m.bias)
                elif isinstance(m, nn.modules.batchnorm._BatchNorm):
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
        else:
            raise TypeError(f'C3D: pretrained must be a str or None, got {type(self.pretrained).__name__}')

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W)`` -> ``(N, 4096)``; ``T, H, W`` must pool to ``out_dim / 512`` positions."""
        for conv_name, pool_name in self.layout:
            x = getattr(self, conv_name)(x)
            if pool_name is not None:
                x = getattr(self, pool_name)(x)
        x = self.dropout(self.relu(self.fc6(x.flatten(start_dim=1))))
        return self.relu(self.fc7(x))
