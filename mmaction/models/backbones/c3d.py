"""``C3D``: the Caffe C3D network (Tran et al.) with its Caffe layer names, for the converted Sports-1M weights.

Layers: ``conv1a`` -> pool1 (1x2x2) -> ``conv2a`` -> pool2 -> ``conv3a, conv3b`` -> pool3 -> ``conv4a, conv4b``
-> pool4 -> ``conv5a, conv5b`` -> pool5 (all 2x2x2, ceil mode) -> ``fc6`` (8192 -> 4096) -> dropout 0.5 -> ``fc7``.
All convs are 3x3x3 with bias. The FC layers fix the input to 16 x 112 x 112.

Shapes: ``(N, 3, 16, 112, 112)`` -> ``(N, 4096, 1, 1, 1)`` (fc7 after ReLU, reshaped for the 3D recognizer).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from mmaction.registry import BACKBONES

from .resnet_i3d import load_pretrained

# (name, in, out, pool after the stage: kernel=stride or None)
C3D_CONVS = (('conv1a', 3, 64, (1, 2, 2)), ('conv2a', 64, 128, (2, 2, 2)), ('conv3a', 128, 256, None),
             ('conv3b', 256, 256, (2, 2, 2)), ('conv4a', 256, 512, None), ('conv4b', 512, 512, (2, 2, 2)),
             ('conv5a', 512, 512, None), ('conv5b', 512, 512, (2, 2, 2)))


@BACKBONES.register_module()
class C3D(nn.Module):
    """Caffe C3D (``modality='RGB'`` only). ``pretrained``: a C3D checkpoint loaded by key name."""

    def __init__(self, pretrained: str | None = None, modality: str = 'RGB') -> None:
        super().__init__()
        if modality != 'RGB':
            raise ValueError(f"C3D: only modality='RGB' is supported, got {modality!r}")
        self.pretrained = pretrained
        self.modality = modality
        self.pools = nn.ModuleDict()
        for name, cin, cout, pool in C3D_CONVS:
            setattr(self, name, nn.Conv3d(cin, cout, kernel_size=3, padding=1, bias=True))
            if pool is not None:
                self.pools[name] = nn.MaxPool3d(pool, stride=pool, ceil_mode=True)
        self.fc6 = nn.Linear(8192, 4096)
        self.fc7 = nn.Linear(4096, 4096)
        self.relu = nn.ReLU(inplace=True)
        self.drop6 = nn.Dropout(p=0.5)
        self.feat_dim = 4096

    def init_weights(self) -> None:
        # Caffe-style init of the original (normal std 0.01 / 0.005 with bias 1).
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.constant_(m.bias, 1)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.005)
                nn.init.constant_(m.bias, 1)
        if isinstance(self.pretrained, str):
            load_pretrained(self, self.pretrained, inflate=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name, _, _, pool in C3D_CONVS:
            x = self.relu(getattr(self, name)(x))
            if pool is not None:
                x = self.pools[name](x)
        x = x.flatten(start_dim=1)
        if x.shape[1] != self.fc6.in_features:
            raise ValueError(f'C3D: pool5 gives {x.shape[1]} features, fc6 expects 8192: the input clip must be '
                             f'16 x 112 x 112 (input_size=112, new_length=16)')
        x = self.drop6(self.relu(self.fc6(x)))
        x = self.relu(self.fc7(x))
        return x[:, :, None, None, None]
