"""mmaction2's ResNetTIN (Temporal Interlacing Network), with a pure-PyTorch interlaced shift where mmaction2 needs
mmcv's CUDA op ``tin_shift``.

Paper: Temporal Interlacing Network (https://arxiv.org/abs/2001.06499). Each Bottleneck's first conv is preceded
by a :class:`TemporalInterlace` that moves the first ``C / shift_div`` channels in time by learned fractional
offsets (linear interpolation between two whole-frame shifts) and reweights them per frame. Keys as mmaction2:
``layer{i}.{j}.conv1.conv.net1.offset_net.*``, ``...net1.weight_net.*``, ``layer{i}.{j}.conv1.conv.net2.weight``.

Input ``(N * T, 3, H, W)``, ``T = num_segments``; output as :class:`ResNet`.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from mmaction.registry import MODELS

from ._shift import tin_shift
from .resnet import ResNet
from .resnet_tsm import insert_non_local


def linear_sampler(data: torch.Tensor, offset: torch.Tensor) -> torch.Tensor:
    """Shift channel groups of ``data`` ``(N, T, C, H, W)`` by fractional frame ``offset`` ``(N, G)``:
    ``(1 - frac) * shift(floor) + frac * shift(floor + 1)`` per group of ``C // G`` channels; same shape out.
    Differentiable in both (the offset through the interpolation weights)."""
    n, t, c, h, w = data.shape
    floor = torch.floor(offset)
    flat = data.reshape(n, t, c, h * w)
    shifted0 = tin_shift(flat, floor.int())
    shifted1 = tin_shift(flat, floor.int() + 1)
    weight1 = (offset - floor).repeat_interleave(c // offset.shape[1], dim=1).view(n, 1, c, 1)
    return ((1 - weight1) * shifted0 + weight1 * shifted1).view(n, t, c, h, w)


class WeightNet(nn.Module):
    """Per-frame, per-group weights in (0, 2): ``(N, C, T)`` -> ``(N, T, groups)``. The conv bias starts at 0, so
    the initial weight is 1."""

    def __init__(self, in_channels: int, groups: int) -> None:
        super().__init__()
        self.groups = groups
        self.conv = nn.Conv1d(in_channels, groups, 3, padding=1)
        nn.init.zeros_(self.conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 2 * torch.sigmoid(self.conv(x).permute(0, 2, 1))


class OffsetNet(nn.Module):
    """Per-clip, per-group temporal offsets in (-2, 2): ``(N, C, T)`` -> ``(N, 1, groups)``. The last bias starts
    at 0.5108 (sigmoid 0.625), so the initial offset is 0.5 frames."""

    def __init__(self, in_channels: int, groups: int, num_segments: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(in_channels, 1, 3, padding=1)
        self.fc1 = nn.Linear(num_segments, num_segments)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(num_segments, groups)
        nn.init.constant_(self.fc2.bias, 0.5108)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, t = x.shape
        x = self.fc2(self.relu(self.fc1(self.conv(x).view(n, t))))
        return 4 * (torch.sigmoid(x.view(n, 1, -1)) - 0.5)


class TemporalInterlace(nn.Module):
    """Interlaced temporal shift of the first ``C // shift_div`` channels: ``(N * T, C, H, W)`` -> same shape.

    Two offset groups are learned per clip; the channels form four groups shifted by ``(o0, o1, -o0, -o1)`` and
    weighted per frame by ``(w0, w1, w0, w1)``.
    """

    def __init__(self, in_channels: int, num_segments: int = 3, shift_div: int = 1) -> None:
        super().__init__()
        self.num_segments = num_segments
        self.shift_div = shift_div
        self.in_channels = in_channels
        self.deform_groups = 2  # fixed in the original TIN
        self.offset_net = OffsetNet(in_channels // shift_div, self.deform_groups, num_segments)
        self.weight_net = WeightNet(in_channels // shift_div, self.deform_groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nt, c, h, w = x.shape
        t = self.num_segments
        n = nt // t
        folds = c // self.shift_div
        moving = x[:, :folds].reshape(n, t, folds, h, w)
        descriptor = moving.mean(dim=(3, 4)).permute(0, 2, 1).contiguous()  # (N, folds, T)
        offset = self.offset_net(descriptor).view(n, -1)  # (N, 2)
        weight = self.weight_net(descriptor)  # (N, T, 2)
        shifted = linear_sampler(moving, torch.cat([offset, -offset], 1))
        # (N, T, 2) -> (N, T, folds): groups (w0, w1, w0, w1), each over folds // 4 channels
        weight = weight[:, :, :, None].repeat(1, 1, 2, folds // 4).view(n, t, folds, 1, 1)
        return torch.cat([(shifted * weight).view(nt, folds, h, w), x[:, folds:]], 1)


class CombineNet(nn.Module):
    """``net2(net1(x))``; the names give mmaction2's keys (``conv1.conv.net1``/``net2``)."""

    def __init__(self, net1: nn.Module, net2: nn.Module) -> None:
        super().__init__()
        self.net1 = net1
        self.net2 = net2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net2(self.net1(x))


@MODELS.register_module()
class ResNetTIN(ResNet):
    """ResNet with a temporal interlace before every block's first conv.

    Args:
        depth: 18, 34, 50, 101 or 152.
        is_tin: insert the temporal interlace.
        num_segments: frames per clip ``T``.
        shift_div: ``1/shift_div`` of the channels are interlaced (mmaction2's configs use 4).
        non_local, non_local_cfg: 3D non-local blocks, as in :class:`ResNetTSM`.
        is_shift, shift_place, temporal_pool, pretrained2d: :class:`ResNetTSM` arguments that mmaction2's TIN
            accepts and does not use; ``temporal_pool=True`` is refused rather than ignored.
        **kwargs: :class:`ResNet` arguments.
    """

    def __init__(self, depth: int, is_tin: bool = True, num_segments: int = 8, shift_div: int = 8,
                 non_local: Sequence = (0, 0, 0, 0), non_local_cfg: dict | None = None, is_shift: bool = True,
                 shift_place: str = 'blockres', temporal_pool: bool = False, pretrained2d: bool = True,
                 **kwargs) -> None:
        super().__init__(depth, **kwargs)
        if temporal_pool:
            raise ValueError('ResNetTIN: temporal_pool is not supported (mmaction2 ignores it for TIN)')
        self.is_tin = is_tin
        self.num_segments = num_segments
        self.shift_div = shift_div
        self.non_local_cfg = dict(non_local_cfg or {})
        if is_tin:
            for name in self.res_layers:
                for block in getattr(self, name):
                    interlace = TemporalInterlace(block.conv1.in_channels, num_segments, shift_div)
                    block.conv1.conv = CombineNet(interlace, block.conv1.conv)
        if self.non_local_cfg:
            insert_non_local(self, non_local, self.non_local_cfg, num_segments)
