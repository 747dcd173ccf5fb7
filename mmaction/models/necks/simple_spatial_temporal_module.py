"""``SimpleSpatialTemporalModule``: spatio-temporal pooling of a 3D feature map before the classifier."""
from __future__ import annotations

import torch
import torch.nn as nn

from mmaction.registry import SPATIAL_TEMPORAL_MODULES


@SPATIAL_TEMPORAL_MODULES.register_module()
class SimpleSpatialTemporalModule(nn.Module):
    """Average / max pooling with kernel ``(temporal_size, spatial_size, spatial_size)`` and stride 1.

    ``temporal_size = spatial_size = -1`` selects adaptive pooling to ``1x1x1`` (any input size);
    ``spatial_type='identity'`` returns the input unchanged (C3D, whose backbone already ends in FC layers).
    As in the original, exactly one of the two sizes being -1 is a configuration error.

    Shapes: ``(N, C, T, H, W)`` -> ``(N, C, T-t+1, H-s+1, W-s+1)`` (fixed) or ``(N, C, 1, 1, 1)`` (adaptive).
    """

    def __init__(self, spatial_type: str = 'avg', spatial_size: int | tuple = 7, temporal_size: int = 1) -> None:
        super().__init__()
        if spatial_type not in ('identity', 'avg', 'max'):
            raise ValueError(f"SimpleSpatialTemporalModule: spatial_type must be 'identity', 'avg' or 'max', "
                             f"got {spatial_type!r}")
        if (spatial_size == -1) != (temporal_size == -1):
            raise ValueError(
                f'SimpleSpatialTemporalModule: spatial_size ({spatial_size}) and temporal_size ({temporal_size}) '
                f'must both be -1 (adaptive pooling) or both be positive sizes')
        self.spatial_type = spatial_type
        self.temporal_size = temporal_size
        self.adaptive = spatial_size == -1
        if self.adaptive:
            self.spatial_size = -1
            self.pool_size = (1, 1, 1)
        else:
            self.spatial_size = (spatial_size, spatial_size) if isinstance(spatial_size, int) else tuple(spatial_size)
            self.pool_size = (temporal_size,) + self.spatial_size
        self.pool_func: nn.Module | None = None
        if spatial_type == 'avg':
            self.pool_func = nn.AdaptiveAvgPool3d(1) if self.adaptive else nn.AvgPool3d(self.pool_size, stride=1)
        elif spatial_type == 'max':
            self.pool_func = nn.AdaptiveMaxPool3d(1) if self.adaptive else nn.MaxPool3d(self.pool_size, stride=1)

    def init_weights(self) -> None:
        pass

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pool_func is None:
            return x
        if not self.adaptive and any(d < k for d, k in zip(x.shape[2:], self.pool_size)):
            raise ValueError(f'SimpleSpatialTemporalModule: feature map T,H,W={tuple(x.shape[2:])} is smaller than '
                             f'the pooling kernel {self.pool_size}; set temporal_size/spatial_size to match the '
                             f'backbone output (or -1 for adaptive pooling)')
        return self.pool_func(x)
