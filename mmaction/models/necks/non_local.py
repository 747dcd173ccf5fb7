"""Non-local block (Wang et al., "Non-local Neural Networks"), as a standalone registered module.

Registered in ``SPATIAL_TEMPORAL_MODULES`` as ``NonLocalModule`` (the original registered it there as a side
effect of importing ``resnet_i3d``); ``ResNet_I3D`` builds one inside a bottleneck when ``nonlocal_cfg`` is set.

State-dict names follow the original so that released NL-I3D weights load:
``theta.{weight,bias}``, ``phi.1.*`` and ``g.1.*`` (index 1 because a max-pool precedes them when
``sub_sample``), ``W.0.*`` (conv) and ``W.1.*`` (BN). The original also kept the BN as attribute ``bn`` so its
tensors are saved a second time under ``bn.*``; we keep that alias so checkpoints round-trip key for key.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from mmaction.registry import SPATIAL_TEMPORAL_MODULES

NONLOCAL_TYPES = ('gaussian', 'dot', 'concat')


@SPATIAL_TEMPORAL_MODULES.register_module()
class NonLocalModule(nn.Module):
    """Non-local block with a residual connection: ``z = W(y) + x``.

    Args:
        in_channels: channels C of the input ``(N, C, T, H, W)`` (or ``(N, C, H, W)`` with ``dim=2``).
        nonlocal_type: pairwise function, ``'gaussian'`` (softmax of dot products), ``'dot'`` (dot / N) or
            ``'concat'`` (ReLU(w^T [theta, phi]) / N).
        dim: 3 for video features, 2 for images.
        embed: project with theta/phi/g 1x1 convs (else use the input directly).
        embed_dim: inner channels (default ``in_channels // 2``).
        sub_sample: 1x2x2 max-pool before phi and g (halves H and W of the keys).
        use_bn: BN after W, zero-initialised so a fresh block is the identity.

    Shapes: input ``(N, C, T, H, W)`` -> output of the same shape.
    """

    def __init__(self, in_channels: int = 1024, nonlocal_type: str = 'gaussian', dim: int = 3, embed: bool = True,
                 embed_dim: int | None = None, sub_sample: bool = True, use_bn: bool = True) -> None:
        super().__init__()
        if nonlocal_type not in NONLOCAL_TYPES:
            raise ValueError(f"NonLocalModule: nonlocal_type must be one of {NONLOCAL_TYPES}, got {nonlocal_type!r}")
        if dim not in (2, 3):
            raise ValueError(f'NonLocalModule: dim must be 2 or 3, got {dim}')
        self.nonlocal_type = nonlocal_type
        self.dim = dim
        self.embed = embed
        self.embed_dim = embed_dim if embed_dim is not None else in_channels // 2
        self.sub_sample = sub_sample
        self.use_bn = use_bn
        conv = nn.Conv3d if dim == 3 else nn.Conv2d
        inner = self.embed_dim if embed else in_channels

        if embed:
            self.theta = conv(in_channels, inner, kernel_size=1)
            self.phi = conv(in_channels, inner, kernel_size=1)
            self.g = conv(in_channels, inner, kernel_size=1)
        if nonlocal_type == 'concat':
            self.concat_proj = nn.Sequential(conv(inner * 2, 1, kernel_size=1), nn.ReLU())
        if sub_sample:
            self.max_pool = nn.MaxPool3d(kernel_size=(1, 2, 2)) if dim == 3 else nn.MaxPool2d(kernel_size=(2, 2))
            if embed:
                # Sequential(pool, conv) gives the original ``phi.1`` / ``g.1`` key names.
                self.g = nn.Sequential(self.max_pool, self.g)
                self.phi = nn.Sequential(self.max_pool, self.phi)
        w_conv = conv(inner, in_channels, kernel_size=1)
        if use_bn:
            bn_cls = nn.BatchNorm3d if dim == 3 else nn.BatchNorm2d
            # momentum=0.9 as coded in the original (a Caffe2 port; PyTorch's convention is the complement).
            self.bn = bn_cls(in_channels, eps=1e-5, momentum=0.9, affine=True)
            self.W = nn.Sequential(w_conv, self.bn)
        else:
            self.W = w_conv
        self.init_weights()

    def init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Conv3d)):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm3d)):
                nn.init.zeros_(m.weight)
                nn.init.zeros_(m.bias)

    def _keys(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if self.embed:
            return self.theta(x), self.phi(x), self.g(x)
        pooled = self.max_pool(x) if self.sub_sample else x
        return x, pooled, pooled

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        theta, phi, g = self._keys(x)
        n, c = theta.shape[:2]
        theta = theta.reshape(n, c, -1)          # (N, C', P) with P = T*H*W
        phi = phi.reshape(n, c, -1)              # (N, C', Q) with Q the (sub-sampled) key positions
        g = g.reshape(n, c, -1)                  # (N, C', Q)
        if self.nonlocal_type in ('gaussian', 'dot'):
            affinity = torch.matmul(theta.transpose(1, 2), phi)   # (N, P, Q)
            if self.nonlocal_type == 'gaussian':
                # No 1/sqrt(C') scaling: the released weights were trained without it.
                p = affinity.softmax(dim=2)
            else:
                p = affinity / affinity.shape[-1]
        else:
            num_p, num_q = theta.shape[-1], phi.shape[-1]
            pair = torch.cat([theta.unsqueeze(-1).expand(n, c, num_p, num_q),
                              phi.unsqueeze(-2).expand(n, c, num_p, num_q)], dim=1)  # (N, 2C', P, Q)
            if self.dim == 3:
                pair = pair.unsqueeze(-1)
            # The original misspelt the attribute here (``non_local_type``) so 'concat' never ran; fixed.
            p = self.concat_proj(pair).reshape(n, num_p, num_q) / num_q
        y = torch.matmul(g, p.transpose(1, 2))   # (N, C', P)
        y = y.reshape((n, c) + tuple(x.shape[2:]))
        return self.W(y) + x
