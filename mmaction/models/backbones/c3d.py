"""``C3D``: the Caffe C3D network (Tran et al.) with its Caffe layer names, for the converted Sports-1M weights.

Layers: ``conv1a`` -> pool1 (1x2x2) -> ``conv2a`` -> pool2 -> ``conv3a, conv3b`` -> pool3 -> ``conv4a, conv4b``
-> pool4 -> ``conv5a, conv5b`` -> pool5 (all 2x2x2, ceil mode) -> ``fc6`` (8192 -> 4096) -> dropout 0.5 -> ``fc7``.
All convs are 3x3x3 with bias. The FC layers fix the input to ``clip_shape`` (16 x 112 x 112 in the original).

Shapes: ``(N, 3, 16, 112, 112)`` -> ``(N, 4096, 1, 1, 1)`` (fc7 after ReLU, reshaped for the 3D recognizer).
Thin variants (``base_channels`` < 64, other ``clip_shape``/``fc_channels``) exist for the toy dataset; the defaults
build the original network and its state-dict shapes.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from mmaction.registry import BACKBONES

from ._common import load_pretrained, maybe_checkpoint

# (name, out channels, pool after the stage: kernel=stride or None); channels are those of base_channels=64
C3D_CONVS = (('conv1a', 64, (1, 2, 2)), ('conv2a', 128, (2, 2, 2)), ('conv3a', 256, None), ('conv3b', 256, (2, 2, 2)),
             ('conv4a', 512, None), ('conv4b', 512, (2, 2, 2)), ('conv5a', 512, None), ('conv5b', 512, (2, 2, 2)))


@BACKBONES.register_module()
class C3D(nn.Module):
    """Caffe C3D (``modality='RGB'`` only). ``pretrained``: a C3D checkpoint loaded by key name."""

    def __init__(self, pretrained: str | None = None, modality: str = 'RGB', base_channels: int = 64,
                 clip_shape: tuple[int, int, int] = (16, 112, 112), fc_channels: int = 4096,
                 dropout_ratio: float = 0.5, weight_init: str = 'caffe', with_cp: bool = False) -> None:
        super().__init__()
        if modality != 'RGB':
            raise ValueError(f"C3D: only modality='RGB' is supported, got {modality!r}")
        if base_channels < 1 or fc_channels < 1:
            raise ValueError(f'C3D: base_channels and fc_channels must be >= 1, got {base_channels}, {fc_channels}')
        if weight_init not in ('caffe', 'kaiming'):
            raise ValueError(f"C3D: weight_init must be 'caffe' or 'kaiming', got {weight_init!r}")
        if len(clip_shape) != 3 or min(clip_shape) < 1:
            raise ValueError(f'C3D: clip_shape must be (T, H, W) of positive ints, got {clip_shape!r}')
        self.pretrained = pretrained
        self.modality = modality
        self.clip_shape = tuple(clip_shape)
        self.weight_init = weight_init
        self.with_cp = with_cp
        self.pools = nn.ModuleDict()
        pooled = list(self.clip_shape)
        cin = 3
        for name, cout, pool in C3D_CONVS:
            width = cout * base_channels // 64
            setattr(self, name, nn.Conv3d(cin, width, kernel_size=3, padding=1, bias=True))
            cin = width
            if pool is not None:
                self.pools[name] = nn.MaxPool3d(pool, stride=pool, ceil_mode=True)
                pooled = [-(-size // k) for size, k in zip(pooled, pool)]  # ceil mode
        self.fc6 = nn.Linear(cin * pooled[0] * pooled[1] * pooled[2], fc_channels)
        self.fc7 = nn.Linear(fc_channels, fc_channels)
        self.relu = nn.ReLU(inplace=True)
        self.drop6 = nn.Dropout(p=dropout_ratio)
        self.feat_dim = fc_channels

    def init_weights(self) -> None:
        if self.weight_init == 'kaiming':
            # From scratch: He init keeps the signal alive through 8 convs and 2 FCs without BN.
            for m in self.modules():
                if isinstance(m, (nn.Conv3d, nn.Linear)):
                    nn.init.kaiming_normal_(m.weight, mode='fan_in', nonlinearity='relu')
                    nn.init.zeros_(m.bias)
        else:
            # The original's Caffe init (normal std 0.01 / 0.005, bias 1), meant to be overwritten by the Sports-1M
            # weights; from scratch it does not train (the signal shrinks ~5x per layer).
            for m in self.modules():
                if isinstance(m, nn.Conv3d):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.constant_(m.bias, 1)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.005)
                    nn.init.constant_(m.bias, 1)
        if isinstance(self.pretrained, str):
            load_pretrained(self, self.pretrained, inflate=False)

    def _conv_unit(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return self.relu(getattr(self, name)(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name, _, pool in C3D_CONVS:
            x = maybe_checkpoint(self._conv_unit, x, self.with_cp, name)
            if pool is not None:
                x = self.pools[name](x)
        x = x.flatten(start_dim=1)
        if x.shape[1] != self.fc6.in_features:
            t, h, w = self.clip_shape
            raise ValueError(f'C3D: pool5 gives {x.shape[1]} features, fc6 expects {self.fc6.in_features}: the input '
                             f'clip must be {t} x {h} x {w} (new_length={t}, input_size={h}; clip_shape sets it)')
        x = self.drop6(self.relu(self.fc6(x)))
        x = self.relu(self.fc7(x))
        return x[:, :, None, None, None]
