"""BN-Inception (Inception v2 with batch norm), in the Caffe-converted layout used by TSN.

Layer names follow the Caffe prototxt so that ``open-mmlab://bninception_caffe`` and the released TSN UCF101
checkpoints load by key: ``conv1_7x7_s2(_bn)``, ``conv2_3x3_reduce(_bn)``, ``conv2_3x3(_bn)`` and, for each
inception block ``inception_<b>_``, the branches ``1x1``, ``3x3_reduce``, ``3x3``, ``double_3x3_reduce``,
``double_3x3_1``, ``double_3x3_2``, ``pool_proj`` (each conv has a bias and is followed by ``<name>_bn``).
Blocks 3c and 4e downsample: no ``1x1``/``pool_proj``, a stride-2 max-pool branch instead.

Shapes (224 input): ``(N, 3, 224, 224)`` -> conv1 ``(N, 64, 112, 112)`` -> pool1 ``56`` -> conv2 ``(N, 192, 56, 56)``
-> pool2 ``28`` -> 3a 256 -> 3b 320 -> 3c 576@14 -> 4a 576 -> 4b 576 -> 4c 608 -> 4d 608 -> 4e 1056@7 ->
5a 1024 -> 5b ``(N, 1024, 7, 7)``. Max-pools use ``ceil_mode=True`` (Caffe's output-size rounding).
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmaction.registry import BACKBONES

from ._common import bns_except_stem, init_backbone, set_train_modes


class _Block(NamedTuple):
    """Channel table of one inception block (0 = branch absent); ``pool`` is 'avg', 'max' or 'max_s2'."""
    in_channels: int
    c1x1: int
    c3x3_reduce: int
    c3x3: int
    double_reduce: int
    double: int
    pool: str
    pool_proj: int


# From the BN-Inception Caffe prototxt (tsn-caffe / tsn-pytorch bn_inception.yaml).
_BLOCKS: dict[str, _Block] = {
    '3a': _Block(192, 64, 64, 64, 64, 96, 'avg', 32),
    '3b': _Block(256, 64, 64, 96, 64, 96, 'avg', 64),
    '3c': _Block(320, 0, 128, 160, 64, 96, 'max_s2', 0),
    '4a': _Block(576, 224, 64, 96, 96, 128, 'avg', 128),
    '4b': _Block(576, 192, 96, 128, 96, 128, 'avg', 128),
    '4c': _Block(576, 160, 128, 160, 128, 160, 'avg', 128),
    '4d': _Block(608, 96, 128, 192, 160, 192, 'avg', 128),
    '4e': _Block(608, 0, 128, 192, 192, 256, 'max_s2', 0),
    '5a': _Block(1056, 352, 192, 320, 160, 224, 'avg', 128),
    '5b': _Block(1024, 352, 192, 320, 192, 224, 'max', 128),
}


def _bn(channels: int) -> nn.BatchNorm2d:
    # momentum=0.9 is what the original (and the Caffe->PyTorch conversion it came from) set; in PyTorch's
    # convention it weights the *new* batch statistic by 0.9. Kept so training matches the released models.
    return nn.BatchNorm2d(channels, eps=1e-5, momentum=0.9)


@BACKBONES.register_module()
class BNInception(nn.Module):
    """BN-Inception backbone: ``(N, 3, H, W)`` -> ``(N, 1024, H/32, W/32)`` (1024x7x7 at 224).

    Args:
        pretrained: checkpoint path or ``open-mmlab://``/``modelzoo://``/http name, loaded by :meth:`init_weights`.
        bn_eval: put every BN in eval mode in :meth:`train` (running statistics frozen).
        bn_frozen: with ``bn_eval``, also freeze BN affine parameters.
        partial_bn: TSN's partial BN: every BN except those whose name contains ``conv1`` is put in eval mode and
            its affine parameters frozen during training.
    """

    def __init__(self, pretrained: str | None = None, bn_eval: bool = False, bn_frozen: bool = False,
                 partial_bn: bool = False) -> None:
        super().__init__()
        self.pretrained = pretrained
        self.bn_eval = bn_eval
        self.bn_frozen = bn_frozen
        self.partial_bn = partial_bn

        # Registration order = the original's state-dict order (and conv1_7x7_s2 stays the first conv,
        # which TSN2D rebuilds for Flow/RGBDiff).
        self._add_conv('conv1_7x7_s2', 3, 64, 7, stride=2, padding=3)
        self.pool1_3x3_s2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self._add_conv('conv2_3x3_reduce', 64, 64, 1)
        self._add_conv('conv2_3x3', 64, 192, 3, padding=1)
        self.pool2_3x3_s2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        for name, spec in _BLOCKS.items():
            self._add_block(f'inception_{name}', spec)
        self.feat_dim = 1024

    def _add_conv(self, name: str, in_channels: int, out_channels: int, kernel: int, stride: int = 1,
                  padding: int = 0) -> None:
        self.add_module(name, nn.Conv2d(in_channels, out_channels, kernel, stride=stride, padding=padding))
        self.add_module(f'{name}_bn', _bn(out_channels))

    def _add_block(self, prefix: str, spec: _Block) -> None:
        stride = 2 if spec.pool == 'max_s2' else 1
        if spec.c1x1:
            self._add_conv(f'{prefix}_1x1', spec.in_channels, spec.c1x1, 1)
        self._add_conv(f'{prefix}_3x3_reduce', spec.in_channels, spec.c3x3_reduce, 1)
        self._add_conv(f'{prefix}_3x3', spec.c3x3_reduce, spec.c3x3, 3, stride=stride, padding=1)
        self._add_conv(f'{prefix}_double_3x3_reduce', spec.in_channels, spec.double_reduce, 1)
        self._add_conv(f'{prefix}_double_3x3_1', spec.double_reduce, spec.double, 3, padding=1)
        self._add_conv(f'{prefix}_double_3x3_2', spec.double, spec.double, 3, stride=stride, padding=1)
        if spec.pool == 'avg':
            # Caffe AVE pooling divides by the full 3x3 window, padding included.
            pool = nn.AvgPool2d(3, stride=1, padding=1, ceil_mode=True, count_include_pad=True)
        elif spec.pool == 'max':
            pool = nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True)
        else:
            pool = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.add_module(f'{prefix}_pool', pool)
        if spec.pool_proj:
            self._add_conv(f'{prefix}_pool_proj', spec.in_channels, spec.pool_proj, 1)

    def _cbr(self, name: str, x: torch.Tensor) -> torch.Tensor:
        """conv -> BN -> ReLU of the layer ``name``."""
        return F.relu(getattr(self, f'{name}_bn')(getattr(self, name)(x)), inplace=True)

    def _block(self, prefix: str, spec: _Block, x: torch.Tensor) -> torch.Tensor:
        outs = []
        if spec.c1x1:
            outs.append(self._cbr(f'{prefix}_1x1', x))
        outs.append(self._cbr(f'{prefix}_3x3', self._cbr(f'{prefix}_3x3_reduce', x)))
        y = self._cbr(f'{prefix}_double_3x3_reduce', x)
        outs.append(self._cbr(f'{prefix}_double_3x3_2', self._cbr(f'{prefix}_double_3x3_1', y)))
        pooled = getattr(self, f'{prefix}_pool')(x)
        outs.append(self._cbr(f'{prefix}_pool_proj', pooled) if spec.pool_proj else pooled)
        return torch.cat(outs, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1_3x3_s2(self._cbr('conv1_7x7_s2', x))
        x = self._cbr('conv2_3x3', self._cbr('conv2_3x3_reduce', x))
        x = self.pool2_3x3_s2(x)
        for name, spec in _BLOCKS.items():
            x = self._block(f'inception_{name}', spec, x)
        return x

    def init_weights(self) -> None:
        init_backbone(self, self.pretrained)

    def train(self, mode: bool = True) -> 'BNInception':
        super().train(mode)
        set_train_modes(self, mode, self.bn_eval, self.bn_frozen,
                        partial_bn=bns_except_stem(self) if self.partial_bn else ())
        return self
