"""``ResNet_R3D``: VMZ (caffe2) style video ResNets — R3D, R(2+1)D and the channel-separated CSNs.

``block_type`` selects how every 3x3x3 conv of a block is built:

- ``'3d'``: a full 3x3x3 conv (R3D);
- ``'2.5d'``: R(2+1)D factorisation ``conv_s`` (1x3x3, to M channels) -> ``bn_s`` -> ReLU -> ``conv_t`` (3x1x1),
  with ``M = int(3 * Cin * Cout * 9 / (Cin * 9 + 3 * Cout))`` so the parameter count matches the 3x3x3 conv;
  the stem is ``conv1_s`` (1x7x7, 45 channels) + ``conv1_t`` (kx1x1);
- ``'3d-sep'``: a depthwise 3x3x3 conv (ir-CSN);
- ``'0.3d'``: ``conv_T`` (1x1x1) -> ``bn_T`` -> ReLU -> ``conv_C`` (depthwise 3x3x3) (ip-CSN). The original code
  built ``conv_C`` as a full conv, which does not match the released ip-CSN weights (``[C, 1, 3, 3, 3]``,
  issue #148); it is depthwise here so those weights load.

Blocks of a stage are named by letters (``layer1.a``, ``layer1.b`` ...; ``aa``, ``ab`` ... when a stage has 26
blocks or more, e.g. layer3 of R152). Block convs: ``conv0/bn0`` (bottleneck 1x1), ``conv1/bn1``, ``conv2/bn2``,
shortcut ``conv3/bn3``. All BNs use eps=1e-3. Stages 2-4 downsample by 2 in space and, by default
(``temporal_strides=(1, 2, 2, 2)``), in time; short clips keep their length with ``(1, 1, 1, 1)``.
``channel_multiplier`` scales every width, the stem included (thin toy models); 1.0 builds the released widths.

Shapes (R34, 2.5d, use_pool1): ``(N, 3, 8, 256, 256)`` -> ``(N, 512, 1, 8, 8)``.
"""
from __future__ import annotations

import itertools
import string

import torch
import torch.nn as nn

from mmaction.registry import BACKBONES

from ._common import init_weights_3d, load_pretrained, maybe_checkpoint, maybe_sync_bn, set_train_modes

BLOCK_TYPES = ('3d', '2.5d', '3d-sep', '0.3d')
BLOCK_CONFIG = {10: (1, 1, 1, 1), 16: (2, 2, 2, 1), 18: (2, 2, 2, 2), 26: (2, 2, 2, 2), 34: (3, 4, 6, 3),
                50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}
SHALLOW_FILTER_CONFIG = ((64, 64), (128, 128), (256, 256), (512, 512))
DEEP_FILTER_CONFIG = ((256, 64), (512, 128), (1024, 256), (2048, 512))


def _bn(channels: int) -> nn.BatchNorm3d:
    return nn.BatchNorm3d(channels, eps=1e-3)


class NamedSequential(nn.Module):
    """Runs sub-modules in order under explicit names (the VMZ ``module_list``: letters or conv_s/bn_s/...)."""

    def __init__(self, modules: list[nn.Module], names: list[str] | None = None) -> None:
        super().__init__()
        if names is None:
            letters = list(string.ascii_lowercase)
            names = letters if len(modules) < 26 else [a + b for a, b in itertools.product(letters, letters)]
            names = names[:len(modules)]
        if len(names) != len(modules):
            raise ValueError(f'NamedSequential: {len(modules)} modules but {len(names)} names')
        self.names = list(names)
        for name, module in zip(self.names, modules):
            self.add_module(name, module)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name in self.names:
            x = getattr(self, name)(x)
        return x


def conv3d_unit(cin: int, cout: int, kernel: tuple, stride: tuple, pad: tuple, block_type: str = '3d',
                with_bn: bool = True) -> nn.Module:
    """The conv a block uses in place of a ``kernel`` conv, according to ``block_type`` (see module doc)."""
    bias = not with_bn
    if block_type == '2.5d':
        # Keeps the parameter count of the full 3x3x3 conv (the "3" is the temporal kernel, as coded in VMZ).
        middle = int(3 * cin * cout * kernel[1] * kernel[2] / (cin * kernel[1] * kernel[2] + 3 * cout))
        conv_s = nn.Conv3d(cin, middle, (1, kernel[1], kernel[2]), stride=(1, stride[1], stride[2]),
                           padding=(0, pad[1], pad[2]), bias=bias)
        conv_t = nn.Conv3d(middle, cout, (kernel[0], 1, 1), stride=(stride[0], 1, 1), padding=(pad[0], 0, 0),
                           bias=bias)
        if with_bn:
            return NamedSequential([conv_s, _bn(middle), nn.ReLU(), conv_t], ['conv_s', 'bn_s', 'relu_s', 'conv_t'])
        return NamedSequential([conv_s, nn.ReLU(), conv_t], ['conv_s', 'relu_s', 'conv_t'])
    if block_type == '0.3d':
        conv_T = nn.Conv3d(cin, cout, 1, bias=bias)
        conv_C = nn.Conv3d(cout, cout, kernel, stride=stride, padding=pad, groups=cout, bias=bias)
        if with_bn:
            return NamedSequential([conv_T, _bn(cout), nn.ReLU(), conv_C], ['conv_T', 'bn_T', 'relu_T', 'conv_C'])
        return NamedSequential([conv_T, nn.ReLU(), conv_C], ['conv_T', 'relu_T', 'conv_C'])
    if block_type == '3d-sep':
        if cin != cout:
            raise ValueError(f"block_type '3d-sep' is a depthwise conv and needs in == out channels, got {cin}->{cout}")
        return nn.Conv3d(cin, cout, kernel, stride=stride, padding=pad, groups=cin, bias=bias)
    if block_type == '3d':
        return nn.Conv3d(cin, cout, kernel, stride=stride, padding=pad, bias=bias)
    raise ValueError(f'ResNet_R3D: unknown block_type {block_type!r}, expected one of {BLOCK_TYPES}')


class _R3DBlock(nn.Module):
    """Shared parts of the VMZ blocks: the ``conv3``/``bn3`` projection shortcut and optional BN."""

    with_bn: bool

    def _shortcut(self, input_filters: int, num_filters: int, stride: tuple) -> None:
        self.relu = nn.ReLU()
        self.has_shortcut = num_filters != input_filters or stride != (1, 1, 1)
        if self.has_shortcut:
            self.conv3 = nn.Conv3d(input_filters, num_filters, 1, stride=stride, bias=not self.with_bn)
            if self.with_bn:
                self.bn3 = _bn(num_filters)

    def _norm(self, name: str, x: torch.Tensor) -> torch.Tensor:
        return getattr(self, name)(x) if self.with_bn else x

    def _identity(self, x: torch.Tensor) -> torch.Tensor:
        return self._norm('bn3', self.conv3(x)) if self.has_shortcut else x


class R3DBasicBlock(_R3DBlock):
    """Two 3x3x3 units + identity (or 1x1x1 ``conv3``/``bn3`` shortcut). ``(N, Cin, T, H, W) -> (N, Cout, ...)``."""

    def __init__(self, input_filters: int, num_filters: int, base_filters: int, stride: tuple = (1, 1, 1),
                 block_type: str = '3d', with_bn: bool = True) -> None:
        super().__init__()
        self.with_bn = with_bn
        self.conv1 = conv3d_unit(input_filters, num_filters, (3, 3, 3), stride, (1, 1, 1), block_type, with_bn)
        self.conv2 = conv3d_unit(num_filters, num_filters, (3, 3, 3), (1, 1, 1), (1, 1, 1), block_type, with_bn)
        if with_bn:
            self.bn1 = _bn(num_filters)
            self.bn2 = _bn(num_filters)
        self._shortcut(input_filters, num_filters, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self._norm('bn1', self.conv1(x)))
        out = self._norm('bn2', self.conv2(out))
        return self.relu(out + self._identity(x))


class R3DBottleneck(_R3DBlock):
    """``conv0`` 1x1x1 (to base) -> ``conv1`` 3x3x3 unit -> ``conv2`` 1x1x1 (to num_filters) + shortcut."""

    def __init__(self, input_filters: int, num_filters: int, base_filters: int, stride: tuple = (1, 1, 1),
                 block_type: str = '3d', with_bn: bool = True) -> None:
        super().__init__()
        self.with_bn = with_bn
        self.conv0 = nn.Conv3d(input_filters, base_filters, 1, bias=not with_bn)
        self.conv1 = conv3d_unit(base_filters, base_filters, (3, 3, 3), stride, (1, 1, 1), block_type, with_bn)
        self.conv2 = nn.Conv3d(base_filters, num_filters, 1, bias=not with_bn)
        if with_bn:
            self.bn0 = _bn(base_filters)
            self.bn1 = _bn(base_filters)
            self.bn2 = _bn(num_filters)
        self._shortcut(input_filters, num_filters, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self._norm('bn0', self.conv0(x)))
        out = self.relu(self._norm('bn1', self.conv1(out)))
        out = self._norm('bn2', self.conv2(out))
        return self.relu(out + self._identity(x))


@BACKBONES.register_module()
class ResNet_R3D(nn.Module):
    """VMZ ResNet (see the module docstring). Registered also as ``ResNet_3D``, the name the original
    R(2+1)D/CSN test configs use (issue #148).

    ``bn_eval``/``bn_frozen`` default to True as in the original (fine-tuning converted caffe2 weights);
    ``use_syncbn`` is accepted and means plain BatchNorm (identical parameter names) on CPU.
    """

    def __init__(self, pretrained: str | None = None, num_input_channels: int = 3, depth: int = 34,
                 block_type: str = '2.5d', channel_multiplier: float = 1.0, bottleneck_multiplier: float = 1.0,
                 conv1_kernel_t: int = 3, conv1_stride_t: int = 1, use_pool1: bool = False, bn_eval: bool = True,
                 bn_frozen: bool = True, with_bn: bool = True, use_syncbn: bool = False,
                 temporal_strides: tuple[int, int, int, int] = (1, 2, 2, 2), with_cp: bool = False) -> None:
        super().__init__()
        if depth not in BLOCK_CONFIG:
            raise ValueError(f'ResNet_R3D: invalid depth {depth}, expected one of {sorted(BLOCK_CONFIG)}')
        if block_type not in BLOCK_TYPES:
            raise ValueError(f'ResNet_R3D: block_type {block_type!r} is not supported, expected one of {BLOCK_TYPES} '
                             "('2.5d-sep' had a stem but no block implementation in the original)")
        if len(temporal_strides) != 4 or any(int(t) < 1 for t in temporal_strides):
            raise ValueError(f'ResNet_R3D: temporal_strides must be 4 positive ints (one per stage), '
                             f'got {temporal_strides!r}')
        self.pretrained = pretrained
        self.depth = depth
        self.block_type = block_type
        self.use_pool1 = use_pool1
        self.bn_eval = bn_eval
        self.bn_frozen = bn_frozen
        self.with_bn = with_bn
        self.use_syncbn = use_syncbn
        self.with_cp = with_cp
        self.relu = nn.ReLU()
        bias = not with_bn
        kt = conv1_kernel_t
        # the multiplier thins the stem too (64 -> 16 at 0.25); at 1.0 these are the released widths
        stem, stem_mid = int(64 * channel_multiplier), int(45 * channel_multiplier)
        if block_type == '2.5d':
            self.conv1_s = nn.Conv3d(num_input_channels, stem_mid, (1, 7, 7), stride=(1, 2, 2), padding=(0, 3, 3),
                                     bias=bias)
            self.conv1_t = nn.Conv3d(stem_mid, stem, (kt, 1, 1), stride=(conv1_stride_t, 1, 1),
                                     padding=((kt - 1) // 2, 0, 0), bias=bias)
            if with_bn:
                self.bn1_s = _bn(stem_mid)
                self.bn1_t = _bn(stem)
        else:
            self.conv1 = nn.Conv3d(num_input_channels, stem, (kt, 7, 7), stride=(conv1_stride_t, 2, 2),
                                   padding=((kt - 1) // 2, 3, 3), bias=bias)
            if with_bn:
                self.bn1 = _bn(stem)
        if use_pool1:
            self.pool1 = nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))

        # As in VMZ and the original: 10/16/18/34 use basic blocks, 26 bottlenecks with the shallow widths.
        block = R3DBasicBlock if depth <= 18 or depth == 34 else R3DBottleneck
        filters = SHALLOW_FILTER_CONFIG if depth <= 34 else DEEP_FILTER_CONFIG
        filters = [(int(a * channel_multiplier), int(b * channel_multiplier)) for a, b in filters]
        self.res_layers = []
        in_filters = stem
        for i, num_blocks in enumerate(BLOCK_CONFIG[depth]):
            out_filters, base = filters[i][0], int(filters[i][1] * bottleneck_multiplier)
            spatial = 1 if i == 0 else 2
            stride = (int(temporal_strides[i]), spatial, spatial)
            blocks = [block(in_filters, out_filters, base, stride=stride, block_type=block_type, with_bn=with_bn)]
            blocks += [block(out_filters, out_filters, base, block_type=block_type, with_bn=with_bn)
                       for _ in range(num_blocks - 1)]
            self.add_module(f'layer{i + 1}', NamedSequential(blocks))
            self.res_layers.append(f'layer{i + 1}')
            in_filters = out_filters
        self.feat_dim = in_filters
        maybe_sync_bn(self, use_syncbn and with_bn, 'ResNet_R3D')

    def init_weights(self) -> None:
        init_weights_3d(self)
        if isinstance(self.pretrained, str):
            load_pretrained(self, self.pretrained, inflate=False)
        elif self.pretrained is not None:
            raise TypeError(f'ResNet_R3D: pretrained must be a str or None, got {type(self.pretrained).__name__}')

    def _stem_unit(self, conv: str, bn: str, x: torch.Tensor) -> torch.Tensor:
        x = getattr(self, conv)(x)
        return self.relu(getattr(self, bn)(x) if self.with_bn else x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.block_type == '2.5d':
            x = self._stem_unit('conv1_t', 'bn1_t', self._stem_unit('conv1_s', 'bn1_s', x))
        else:
            x = self._stem_unit('conv1', 'bn1', x)
        if self.use_pool1:
            x = self.pool1(x)
        for name in self.res_layers:
            layer = getattr(self, name)
            for block in layer.names:
                x = maybe_checkpoint(getattr(layer, block), x, self.with_cp)
        return x

    def train(self, mode: bool = True) -> 'ResNet_R3D':
        super().train(mode)
        set_train_modes(self, mode, self.bn_eval and self.with_bn, self.bn_frozen)
        return self


BACKBONES.register_module(name='ResNet_3D', module=ResNet_R3D)
