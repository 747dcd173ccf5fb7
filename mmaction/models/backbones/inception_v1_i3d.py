"""``InceptionV1_I3D``: DeepMind's I3D (inflated Inception-v1 / GoogLeNet) with the names of the converted weights.

Flat attribute names as in the original: ``conv1_7x7_s2(_bn)``, ``conv2_3x3_reduce(_bn)``, ``conv2_3x3(_bn)`` and
``inception_{3a..5b}_{1x1, branch1_3x3_reduce, branch1_3x3, branch2_3x3_reduce, branch2_3x3, pool_proj}`` (+``_bn``),
convs without bias, BN eps 1e-5. The input is padded TF-"SAME"-style, asymmetric ``(2, 4)`` on T, H and W, before
the 7x7x7 stride-2 conv1; all max-pools use ceil mode. RGB takes 3 channels, Flow 2.

Shapes: ``(N, 3, 64, 224, 224)`` -> ``(N, 1024, 8, 7, 7)``; the output has 1024 channels at the default
``channel_multiplier=1`` (the released weights); a smaller multiplier scales every conv of the table (thin toy
models), and ``feat_dim`` says the output width.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmaction.registry import BACKBONES

from ._common import bns_except_stem, init_weights_3d, load_pretrained, maybe_checkpoint, set_train_modes

# block at multiplier 1: (in, 1x1, branch1 reduce, branch1 3x3, branch2 reduce, branch2 3x3, pool proj); out = sum of 4 branches
INCEPTION_BLOCKS = {
    '3a': (192, 64, 96, 128, 16, 32, 32),
    '3b': (256, 128, 128, 192, 32, 96, 64),
    '4a': (480, 192, 96, 208, 16, 48, 64),
    '4b': (512, 160, 112, 224, 24, 64, 64),
    '4c': (512, 128, 128, 256, 24, 64, 64),
    '4d': (512, 112, 144, 288, 32, 64, 64),
    '4e': (528, 256, 160, 320, 32, 128, 128),
    '5a': (832, 256, 160, 320, 32, 128, 128),
    '5b': (832, 384, 192, 384, 48, 128, 128),
}
# max-pools (kernel, stride) applied before a block
POOL_BEFORE = {'3a': ((1, 3, 3), (1, 2, 2)), '4a': ((3, 3, 3), (2, 2, 2)), '5a': ((2, 2, 2), (2, 2, 2))}
POOL_NAMES = {'3a': 'pool2_3x3_s2', '4a': 'inception_3c_pool', '5a': 'inception_4f_pool'}


@BACKBONES.register_module()
class InceptionV1_I3D(nn.Module):
    """I3D Inception-v1 for RGB (3 channels) or Flow (2 channels) clips. ``feat_dim`` = 1024 at multiplier 1."""

    def __init__(self, pretrained: str | None = None, bn_eval: bool = True, bn_frozen: bool = False,
                 partial_bn: bool = False, modality: str = 'RGB', channel_multiplier: float = 1.0,
                 with_cp: bool = False) -> None:
        super().__init__()
        if modality not in ('RGB', 'Flow'):
            raise ValueError(f"InceptionV1_I3D: modality must be 'RGB' or 'Flow', got {modality!r}")
        if not 0 < channel_multiplier <= 1:
            raise ValueError(f'InceptionV1_I3D: channel_multiplier must be in (0, 1], got {channel_multiplier}')

        def width(channels: int) -> int:
            return max(1, round(channels * channel_multiplier))

        self.pretrained = pretrained
        self.bn_eval = bn_eval
        self.bn_frozen = bn_frozen
        self.partial_bn = partial_bn
        self.modality = modality
        self.with_cp = with_cp
        self._unit('conv1_7x7_s2', 3 if modality == 'RGB' else 2, width(64), 7, stride=2, padding=0)
        self.pool1_3x3_s2 = nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), ceil_mode=True)
        self._unit('conv2_3x3_reduce', width(64), width(64), 1)
        self._unit('conv2_3x3', width(64), width(192), 3, padding=1)
        cin = width(192)
        for block, (_, *table) in INCEPTION_BLOCKS.items():
            c1, r1, c3, r2, c3b, cp = (width(c) for c in table)
            if block in POOL_BEFORE:
                kernel, stride = POOL_BEFORE[block]
                setattr(self, POOL_NAMES[block], nn.MaxPool3d(kernel, stride=stride, ceil_mode=True))
            prefix = f'inception_{block}_'
            self._unit(prefix + '1x1', cin, c1, 1)
            self._unit(prefix + 'branch1_3x3_reduce', cin, r1, 1)
            self._unit(prefix + 'branch1_3x3', r1, c3, 3, padding=1)
            self._unit(prefix + 'branch2_3x3_reduce', cin, r2, 1)
            self._unit(prefix + 'branch2_3x3', r2, c3b, 3, padding=1)
            setattr(self, prefix + 'pool', nn.MaxPool3d(3, stride=1, padding=1, ceil_mode=True))
            self._unit(prefix + 'pool_proj', cin, cp, 1)
            cin = c1 + c3 + c3b + cp
        self.feat_dim = cin

    def _unit(self, name: str, cin: int, cout: int, kernel: int, stride: int = 1, padding: int = 0) -> None:
        setattr(self, name, nn.Conv3d(cin, cout, kernel, stride=stride, padding=padding, bias=False))
        setattr(self, name + '_bn', nn.BatchNorm3d(cout, eps=1e-5))

    def _run(self, name: str, x: torch.Tensor) -> torch.Tensor:
        return F.relu(getattr(self, name + '_bn')(getattr(self, name)(x)))

    def init_weights(self) -> None:
        init_weights_3d(self)
        if isinstance(self.pretrained, str):
            load_pretrained(self, self.pretrained, inflate=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # TF "SAME" padding for a 7x7x7 stride-2 conv: 2 before, 4 after (as the converted weights expect).
        x = self._run('conv1_7x7_s2', F.pad(x, (2, 4, 2, 4, 2, 4)))
        x = self.pool1_3x3_s2(x)
        x = self._run('conv2_3x3', self._run('conv2_3x3_reduce', x))
        for block in INCEPTION_BLOCKS:
            if block in POOL_BEFORE:
                x = getattr(self, POOL_NAMES[block])(x)
            x = maybe_checkpoint(self._inception, x, self.with_cp, block)
        return x

    def _inception(self, x: torch.Tensor, block: str) -> torch.Tensor:
        p = f'inception_{block}_'
        return torch.cat([self._run(p + '1x1', x),
                          self._run(p + 'branch1_3x3', self._run(p + 'branch1_3x3_reduce', x)),
                          self._run(p + 'branch2_3x3', self._run(p + 'branch2_3x3_reduce', x)),
                          self._run(p + 'pool_proj', getattr(self, p + 'pool')(x))], dim=1)

    def train(self, mode: bool = True) -> 'InceptionV1_I3D':
        super().train(mode)
        set_train_modes(self, mode, self.bn_eval, self.bn_frozen,
                        partial_bn=bns_except_stem(self) if self.partial_bn else ())
        return self
