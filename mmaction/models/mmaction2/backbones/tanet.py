"""mmaction2's TANet: a 2D ResNet (Bottleneck depths) whose blocks run a Temporal Adaptive Module (TAM) after
their first conv, with mmaction2's keys: ``layer{i}.{j}.block.conv1.conv.weight``, ``layer{i}.{j}.tam.G.0.weight``...

Paper: TAM: Temporal Adaptive Module for Video Recognition (https://arxiv.org/abs/2005.06803).
Input ``(N * T, 3, H, W)``, ``T = num_segments``; output as :class:`ResNet` (``(N * T, 2048, H/32, W/32)``).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmaction.registry import MODELS

from .resnet import Bottleneck, ResNet


class TAM(nn.Module):
    """Temporal adaptive module on ``(N * T, C, H, W)`` -> same shape.

    From each channel's spatially pooled ``T``-vector, the global branch ``G`` predicts a softmax temporal kernel of
    ``adaptive_kernel_size`` taps and the local branch ``L`` a sigmoid gate per frame; the gated frames are then
    convolved in time with that channel's own kernel.

    Args:
        in_channels: ``C``.
        num_segments: ``T``.
        alpha: hidden width of ``G`` as a multiple of ``T``.
        adaptive_kernel_size: taps of the predicted temporal kernel.
        beta: channel reduction of ``L``.
        conv1d_kernel_size: temporal kernel of ``L``'s first conv.
        adaptive_convolution_stride, adaptive_convolution_padding: temporal stride/padding of the adaptive conv.
        init_std: accepted for mmaction2 configs (mmaction2 does not use it either).
    """

    def __init__(self, in_channels: int, num_segments: int, alpha: int = 2, adaptive_kernel_size: int = 3,
                 beta: int = 4, conv1d_kernel_size: int = 3, adaptive_convolution_stride: int = 1,
                 adaptive_convolution_padding: int = 1, init_std: float = 0.001) -> None:
        super().__init__()
        if alpha <= 0 or beta <= 0:
            raise ValueError(f'TAM: alpha and beta must be positive, got alpha={alpha}, beta={beta}')
        self.in_channels = in_channels
        self.num_segments = num_segments
        self.stride = adaptive_convolution_stride
        self.padding = adaptive_convolution_padding
        self.G = nn.Sequential(
            nn.Linear(num_segments, num_segments * alpha, bias=False), nn.BatchNorm1d(num_segments * alpha),
            nn.ReLU(inplace=True), nn.Linear(num_segments * alpha, adaptive_kernel_size, bias=False),
            nn.Softmax(-1))
        self.L = nn.Sequential(
            nn.Conv1d(in_channels, in_channels // beta, conv1d_kernel_size, padding=conv1d_kernel_size // 2,
                      bias=False),
            nn.BatchNorm1d(in_channels // beta), nn.ReLU(inplace=True),
            nn.Conv1d(in_channels // beta, in_channels, 1, bias=False), nn.Sigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nt, c, h, w = x.shape
        t = self.num_segments
        n = nt // t
        x = x.view(n, t, c, h, w).permute(0, 2, 1, 3, 4).contiguous()  # (N, C, T, H, W)
        pooled = x.mean(dim=(3, 4))  # (N, C, T)
        kernels = self.G(pooled.reshape(n * c, t)).view(n * c, 1, -1, 1)  # one temporal kernel per (clip, channel)
        gates = self.L(pooled).view(n, c, t, 1, 1)
        y = F.conv2d((x * gates).view(1, n * c, t, h * w), kernels, stride=(self.stride, 1),
                     padding=(self.padding, 0), groups=n * c)
        return y.view(n, c, t, h, w).permute(0, 2, 1, 3, 4).contiguous().view(nt, c, h, w)


class TABlock(nn.Module):
    """A Bottleneck with a :class:`TAM` between its first and second conv: ``(N * T, C, H, W)`` -> block output."""

    def __init__(self, block: nn.Module, num_segments: int, tam_cfg: dict) -> None:
        super().__init__()
        if not isinstance(block, Bottleneck):
            raise ValueError('TANet: TA-blocks need Bottleneck blocks (depth 50, 101 or 152), '
                             f'got {type(block).__name__}')
        self.block = block
        self.tam = TAM(block.conv1.out_channels, num_segments, **tam_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x, after_conv1=self.tam)


@MODELS.register_module()
class TANet(ResNet):
    """TANet backbone.

    Args:
        depth: 50, 101 or 152.
        num_segments: frames per clip ``T`` (at least 3).
        tam_cfg: :class:`TAM` arguments.
        **kwargs: :class:`ResNet` arguments.
    """

    def __init__(self, depth: int, num_segments: int, tam_cfg: dict | None = None, **kwargs) -> None:
        super().__init__(depth, **kwargs)
        if num_segments < 3:
            raise ValueError(f'TANet: num_segments must be at least 3, got {num_segments}')
        self.num_segments = num_segments
        self.tam_cfg = dict(tam_cfg or {})
        for name in self.res_layers:
            stage = getattr(self, name)
            for i, block in enumerate(stage):
                stage[i] = TABlock(block, num_segments, self.tam_cfg)
