"""mmaction2's ``C2D``: a 2D ResNet run frame by frame, with two temporal max-pools (video-nonlocal-net's C2D
baseline, https://github.com/facebookresearch/video-nonlocal-net).

The weights are those of mmaction2's 2D ``ResNet`` (same keys); the stem max-pool becomes a 1x3x3 3D pool
(no padding, unlike ResNet's) and a 2x1x1 pool halves T after stage 1.
``(N, C, T, H, W) -> (N, 2048, T/2, H', W')`` for depth 50; ``H' = 7`` at 224.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from mmaction.registry import MODELS

from .resnet import ResNet


def _frames_to_batch(x: torch.Tensor) -> torch.Tensor:
    """``(N, C, T, H, W) -> (N * T, C, H, W)``."""
    n, c, t, h, w = x.shape
    return x.transpose(1, 2).reshape(n * t, c, h, w)


def _batch_to_frames(x: torch.Tensor, batches: int) -> torch.Tensor:
    """``(N * T, C, H, W) -> (N, C, T, H, W)``."""
    nt, c, h, w = x.shape
    return x.reshape(batches, nt // batches, c, h, w).transpose(1, 2)


@MODELS.register_module()
class C2D(ResNet):
    """mmaction2's 2D ``ResNet`` arguments; every output in ``out_indices`` is ``(N, C_i, T_i, H_i, W_i)``."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        del self.maxpool
        self.maxpool3d_1 = nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 0, 0))
        self.maxpool3d_2 = nn.MaxPool3d(kernel_size=(2, 1, 1), stride=(2, 1, 1), padding=(0, 0, 0))
        # mmaction2 builds these pools with the stem, before the stages: keep its module order (named_modules).
        for name in self.res_layers:
            self._modules[name] = self._modules.pop(name)

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        batches = x.shape[0]
        x = self.conv1(_frames_to_batch(x))
        x = _frames_to_batch(self.maxpool3d_1(_batch_to_frames(x, batches)))
        outs = []
        for i, layer_name in enumerate(self.res_layers):
            x = getattr(self, layer_name)(x)
            if i == 0:
                x = _frames_to_batch(self.maxpool3d_2(_batch_to_frames(x, batches)))
            if i in self.out_indices:
                # mmaction2 keeps the 3D view for the next stage too, which fails for an early out index;
                # the next stage gets the 2D batch here instead (same result for the last stage).
                outs.append(_batch_to_frames(x, batches))
        return outs[0] if len(outs) == 1 else tuple(outs)
