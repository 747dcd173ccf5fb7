"""mmaction2's ``ResNet3dSlowOnly``: the slow pathway of SlowFast alone (no lateral connections).

A ``ResNet3d`` with a 1x7x7 stem, 2D kernels in stages 1-2 and 3x1x1-inflated stages 3-4, no ``pool2``:
``(N, C, T, H, W) -> (N, 2048, T, H/32, W/32)`` for depth 50.
"""
from __future__ import annotations

from typing import Sequence

from mmaction.registry import MODELS

from .resnet3d import ResNet3d


@MODELS.register_module()
class ResNet3dSlowOnly(ResNet3d):
    """``ResNet3d`` with SlowOnly's defaults; every other ``ResNet3d`` argument is accepted unchanged."""

    def __init__(self, conv1_kernel: Sequence[int] = (1, 7, 7), conv1_stride_t: int = 1, pool1_stride_t: int = 1,
                 inflate: Sequence = (0, 0, 1, 1), with_pool2: bool = False, lateral: bool = False,
                 **kwargs) -> None:
        if lateral:
            raise ValueError('ResNet3dSlowOnly: lateral=True needs a fast pathway; use ResNet3dSlowFast')
        super().__init__(conv1_kernel=conv1_kernel, conv1_stride_t=conv1_stride_t, pool1_stride_t=pool1_stride_t,
                         inflate=inflate, with_pool2=with_pool2, **kwargs)
