"""``SlowFastSpatialTemporalModule``: pool each SlowFast pathway, then concatenate the channels."""
from __future__ import annotations

import torch
import torch.nn as nn

from mmaction.registry import SPATIAL_TEMPORAL_MODULES


@SPATIAL_TEMPORAL_MODULES.register_module()
class SlowFastSpatialTemporalModule(nn.Module):
    """Adaptive average pooling of ``(x_slow, x_fast)`` to ``(temporal_size, spatial_size, spatial_size)``.

    Shapes: ``((N, Cs, Ts, H, W), (N, Cf, Tf, H, W))`` -> ``(N, Cs + Cf, t, s, s)`` (2048 + 256 for R50, beta_inv 8).
    """

    def __init__(self, adaptive_pool: bool = True, spatial_type: str = 'avg', spatial_size: int | tuple = 1,
                 temporal_size: int = 1) -> None:
        super().__init__()
        if spatial_type != 'avg':
            raise ValueError(f"SlowFastSpatialTemporalModule: only spatial_type='avg' exists, got {spatial_type!r}")
        if not adaptive_pool:
            raise ValueError('SlowFastSpatialTemporalModule: only adaptive_pool=True is implemented (as in the '
                             'original)')
        self.adaptive_pool = adaptive_pool
        self.spatial_type = spatial_type
        self.spatial_size = (spatial_size, spatial_size) if isinstance(spatial_size, int) else tuple(spatial_size)
        self.temporal_size = temporal_size
        self.pool_size = (temporal_size,) + self.spatial_size
        self.op = nn.AdaptiveAvgPool3d(self.pool_size)

    def init_weights(self) -> None:
        pass

    def forward(self, x: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        if not isinstance(x, (tuple, list)) or len(x) != 2:
            raise TypeError('SlowFastSpatialTemporalModule expects the (slow, fast) pair of a ResNet_I3D_SlowFast '
                            f'backbone, got {type(x).__name__}')
        x_slow, x_fast = x
        return torch.cat((self.op(x_slow), self.op(x_fast)), dim=1)
