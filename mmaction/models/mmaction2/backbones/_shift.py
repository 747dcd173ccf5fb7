"""Temporal shifts shared by the mmaction2 2D backbones: TSM's fixed shift and TIN's per-group integer shift.

Frames of a clip are stacked along the batch dimension, ``(N * T, C, H, W)``; both shifts move channels along ``T``.
"""
from __future__ import annotations

import torch
import torch.nn as nn


def temporal_shift(x: torch.Tensor, num_segments: int, shift_div: int) -> torch.Tensor:
    """TSM shift of ``x`` ``(N * T, C, H, W)``, ``T = num_segments``; same shape out.

    With ``fold = C // shift_div``: channels ``[0, fold)`` take the next frame's values (the last frame gets 0),
    channels ``[fold, 2 * fold)`` the previous frame's (the first frame gets 0), the rest stay.
    """
    nt, c, h, w = x.shape
    if nt % num_segments:
        raise ValueError(f'temporal shift: batch of {nt} frames is not a multiple of num_segments={num_segments}')
    x = x.view(nt // num_segments, num_segments, c, h * w)
    fold = c // shift_div
    zeros = x.new_zeros(x.shape[0], 1, fold, h * w)
    from_next = torch.cat((x[:, 1:, :fold], zeros), 1)
    from_prev = torch.cat((zeros, x[:, :-1, fold:2 * fold]), 1)
    return torch.cat((from_next, from_prev, x[:, :, 2 * fold:]), 2).view(nt, c, h, w)


class TemporalShift(nn.Module):
    """Shift ``(N * T, C, H, W)`` in time (:func:`temporal_shift`), then run ``net``.

    The wrapped module sits under ``net`` so the state-dict keys are mmaction2's (``...conv1.conv.net.weight``).
    """

    def __init__(self, net: nn.Module, num_segments: int = 3, shift_div: int = 8) -> None:
        super().__init__()
        self.net = net
        self.num_segments = num_segments
        self.shift_div = shift_div

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(temporal_shift(x, self.num_segments, self.shift_div))


def tin_shift(data: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Pure-PyTorch ``mmcv.ops.tin_shift``: shift each channel group of ``data`` by a whole number of frames.

    ``data`` ``(N, T, C, L)``, ``shift`` ``(N, G)`` integers with ``C % G == 0``; channel ``c`` belongs to group
    ``c // (C // G)``. ``out[n, t, c] = data[n, t - shift[n, g], c]`` where that frame exists, else 0 (a positive
    shift moves content to later frames). Differentiable in ``data``; ``shift`` gets no gradient, as in mmcv.
    """
    n, t, c, length = data.shape
    if shift.dim() != 2 or shift.shape[0] != n:
        raise ValueError(f'tin_shift: shift must be (N={n}, groups), got {tuple(shift.shape)}')
    groups = shift.shape[1]
    if c % groups:
        raise ValueError(f'tin_shift: channels ({c}) must be a multiple of the number of groups ({groups})')
    per_channel = shift.long().repeat_interleave(c // groups, dim=1)  # (N, C)
    source = torch.arange(t, device=data.device).view(1, t, 1) - per_channel.view(n, 1, c)  # (N, T, C)
    valid = (source >= 0) & (source < t)
    index = source.clamp(0, t - 1).unsqueeze(-1).expand(n, t, c, length)
    return torch.where(valid.unsqueeze(-1), torch.gather(data, 1, index), data.new_zeros(()))
