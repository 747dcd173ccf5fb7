"""mmaction2's ResNetTSM: a 2D ResNet whose blocks shift part of their channels in time (TSM), with optional
temporal max pooling after stage 1 and 3D non-local blocks, keys as in mmaction2.

Input ``(N * T, C, H, W)`` with ``T = num_segments`` frames per clip stacked in the batch; output as
:class:`ResNet` (``(N * T', 2048, H/32, W/32)`` for ResNet-50, ``T' = T // 2`` with ``temporal_pool``).

Key layout: ``shift_place='blockres'`` wraps each block's first conv (``layer1.0.conv1.conv.net.weight``),
``'block'`` the whole block (``layer1.0.net.conv1.conv.weight``); ``temporal_pool`` wraps stage 2
(``layer2.net.0...``); a non-local block wraps its residual block (``layer2.0.block...``,
``layer2.0.non_local_block...``).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
from mmcv.cnn import NonLocal3d

from mmaction.registry import MODELS

from ._shift import TemporalShift
from .resnet import ResNet


class NL3DWrapper(nn.Module):
    """A residual block followed by a 3D non-local block over the clip's ``T`` frames:
    ``(N * T, C, H, W)`` -> same shape."""

    def __init__(self, block: nn.Module, num_segments: int, non_local_cfg: dict) -> None:
        super().__init__()
        if not hasattr(block, 'conv3'):
            raise ValueError(f'non_local: only Bottleneck blocks (depth 50, 101, 152) take a non-local block, '
                             f'got {type(block).__name__}')
        self.block = block
        self.non_local_block = NonLocal3d(block.conv3.norm.num_features, **non_local_cfg)
        self.num_segments = num_segments

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.block(x)
        nt, c, h, w = x.shape
        x = x.view(nt // self.num_segments, self.num_segments, c, h, w).transpose(1, 2)
        x = self.non_local_block(x.contiguous())
        return x.transpose(1, 2).contiguous().view(nt, c, h, w)


class TemporalPool(nn.Module):
    """Max-pool 3 frames with stride 2 in time, then run ``net``:
    ``(N * T, C, H, W)`` -> ``net((N * T/2, C, H, W))``."""

    def __init__(self, net: nn.Module, num_segments: int) -> None:
        super().__init__()
        self.net = net
        self.num_segments = num_segments
        self.max_pool3d = nn.MaxPool3d(kernel_size=(3, 1, 1), stride=(2, 1, 1), padding=(1, 0, 0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nt, c, h, w = x.shape
        x = x.view(nt // self.num_segments, self.num_segments, c, h, w).transpose(1, 2)
        x = self.max_pool3d(x).transpose(1, 2).contiguous().view(nt // 2, c, h, w)
        return self.net(x)


def insert_non_local(model: ResNet, non_local: Sequence, non_local_cfg: dict, num_segments: int) -> None:
    """Wrap the blocks flagged in ``non_local`` (per stage, a 0/1 flag per block) with :class:`NL3DWrapper`."""
    name = type(model).__name__
    if len(non_local) != model.num_stages:
        raise ValueError(f'{name}: non_local needs one entry per stage ({model.num_stages}), got {non_local!r}')
    for layer_name, flags in zip(model.res_layers, non_local):
        if isinstance(flags, int):  # one flag for the whole stage: only 0 (none) has a meaning in mmaction2
            if flags:
                raise ValueError(f'{name}: non_local entry for {layer_name} must list a 0/1 flag per block, '
                                 f'got {flags!r}')
            continue
        stage = getattr(model, layer_name)
        if len(flags) != len(stage):
            raise ValueError(f'{name}: non_local entry for {layer_name} has {len(flags)} flags for '
                             f'{len(stage)} blocks')
        for i, flag in enumerate(flags):
            if flag:
                # mmaction2 gives every non-local block the input frame count, even after a temporal pool.
                stage[i] = NL3DWrapper(stage[i], num_segments, non_local_cfg)


@MODELS.register_module()
class ResNetTSM(ResNet):
    """ResNet with temporal shift.

    Args:
        depth: 18, 34, 50, 101 or 152.
        num_segments: frames per clip ``T``.
        is_shift: insert the temporal shift.
        non_local: per stage, per block 0/1: wrap the block with a 3D non-local block (needs ``non_local_cfg``).
        non_local_cfg: ``mmcv.cnn.NonLocal3d`` arguments; empty means no non-local blocks.
        shift_div: ``1/shift_div`` of the channels move forward, as many backward.
        shift_place: ``'blockres'`` (shift inside the residual branch, before conv1) or ``'block'`` (whole block).
            For ResNet-101/152 with ``'blockres'``, every second block shifts, as in mmaction2.
        temporal_pool: halve ``T`` before stage 2 with a temporal max pool.
        pretrained2d: kept for mmaction2 configs; ``pretrained`` is always read as a 2D checkpoint (torchvision or
            mmaction2 layout), mapped into the wrapped modules.
        **kwargs: :class:`ResNet` arguments.
    """

    def __init__(self, depth: int, num_segments: int = 8, is_shift: bool = True,
                 non_local: Sequence = (0, 0, 0, 0), non_local_cfg: dict | None = None, shift_div: int = 8,
                 shift_place: str = 'blockres', temporal_pool: bool = False, pretrained2d: bool = True,
                 **kwargs) -> None:
        super().__init__(depth, **kwargs)
        if shift_place not in ('block', 'blockres'):
            raise ValueError(f"ResNetTSM: shift_place must be 'block' or 'blockres', got {shift_place!r}")
        self.num_segments = num_segments
        self.is_shift = is_shift
        self.shift_div = shift_div
        self.shift_place = shift_place
        self.temporal_pool = temporal_pool
        self.pretrained2d = pretrained2d
        self.non_local_cfg = dict(non_local_cfg or {})
        if is_shift:
            self._insert_temporal_shift()
        if self.non_local_cfg:
            insert_non_local(self, non_local, self.non_local_cfg, num_segments)
        if temporal_pool:
            self.layer2 = TemporalPool(self.layer2, num_segments)

    def _stage_segments(self) -> list[int]:
        """Frames per clip seen by each stage (halved after stage 1 by the temporal pool)."""
        if not self.temporal_pool:
            return [self.num_segments] * self.num_stages
        segments = [self.num_segments] + [self.num_segments // 2] * (self.num_stages - 1)
        if segments[-1] <= 0:
            raise ValueError(f'ResNetTSM: temporal_pool needs num_segments >= 2, got {self.num_segments}')
        return segments

    def _insert_temporal_shift(self) -> None:
        # Deep networks (23+ blocks in stage 3) shift in every second block only, as mmaction2 does.
        every = 2 if self.shift_place == 'blockres' and len(getattr(self, 'layer3', ())) >= 23 else 1
        for name, segments in zip(self.res_layers, self._stage_segments()):
            for i, block in enumerate(getattr(self, name)):
                if self.shift_place == 'block':
                    getattr(self, name)[i] = TemporalShift(block, segments, self.shift_div)
                elif i % every == 0:
                    block.conv1.conv = TemporalShift(block.conv1.conv, segments, self.shift_div)
