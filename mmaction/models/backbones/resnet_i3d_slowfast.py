"""``ResNet_I3D_SlowFast``: two-pathway SlowFast ResNet (Feichtenhofer et al.) in the original MMAction layout.

The Slow pathway sees every ``alpha``-th frame at full width; the Fast pathway sees all T frames with
``1/beta_inv`` of the channels. After the stem and after stages 1-3 a lateral conv (``fusion_kernel_size`` x1x1,
temporal stride ``alpha``) maps Fast features to ``2 * C_fast`` channels that are concatenated to the Slow
features. All temporal strides are 1.

State-dict names: ``slow_path.{conv1,bn1,layer1..4,conv1_lateral,layer1_lateral..layer4_lateral}`` and
``fast_path.{conv1,bn1,layer1..4}``. The original builds a ``layer4_lateral`` conv after the last stage that
its forward never uses; the released checkpoints contain it, so it is kept (this is why the original SlowFast
R50 has 0.66M more parameters than mmaction2's).

Shapes (R50, alpha=beta_inv=8): ``(N, 3, 32, H, W)`` -> ``((N, 2048, 4, H/32, W/32), (N, 256, 32, H/32, W/32))``.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from mmaction.registry import BACKBONES
from mmaction.utils.checkpoint import get_state_dict, load_file

from ._common import check_stage_args, inflate_from_2d, init_weights_3d, maybe_sync_bn, set_staged_train_modes
from .resnet_i3d import ARCH_SETTINGS, make_res_layer


class SlowFastPathway(nn.Module):
    """One pathway: stem (conv1, bn1, 1x3x3 max-pool) + 4 stages, optionally with lateral convs from the Fast path.

    ``base_channels`` is the stem width of a full-width pathway (64 in the original; smaller for toy models);
    ``channel_mul_inv`` divides every width (``beta_inv`` for the Fast path); with ``lateral=True`` each stage's
    first block takes ``2 * C_fast`` extra input channels.
    """

    def __init__(self, depth: int, num_stages: int = 4, channel_mul_inv: int = 1, lateral: bool = True,
                 alpha: int = 8, beta_inv: int = 8, conv1_kernel_t: int = 1, fusion_kernel_size: int = 5,
                 base_channels: int = 64,
                 spatial_strides: Sequence[int] = (1, 2, 2, 2), dilations: Sequence[int] = (1, 1, 1, 1),
                 style: str = 'pytorch', inflate_freqs: Sequence = (1, 1, 1, 1), inflate_style: str = '3x1x1',
                 nonlocal_stages: Sequence[int] = (-1,), nonlocal_freqs: Sequence = (0, 1, 1, 0),
                 nonlocal_cfg: dict | None = None, with_cp: bool = False) -> None:
        super().__init__()
        self.block, stage_blocks = ARCH_SETTINGS[depth]
        self.stage_blocks = stage_blocks[:num_stages]
        inplanes = base_channels // channel_mul_inv
        nonlocal_freqs = (nonlocal_freqs,) * num_stages if isinstance(nonlocal_freqs, int) else nonlocal_freqs
        lateral_inplanes = 0
        if lateral:
            self.conv1_lateral = self._lateral(inplanes // beta_inv, alpha, fusion_kernel_size)
            lateral_inplanes = inplanes * 2 // beta_inv
        self.conv1 = nn.Conv3d(3, inplanes, kernel_size=(conv1_kernel_t, 7, 7), stride=(1, 2, 2),
                               padding=((conv1_kernel_t - 1) // 2, 3, 3), bias=False)
        self.bn1 = nn.BatchNorm3d(inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))

        self.res_layers: list[str] = []
        self.lateral_connections: list[str] = []
        for i, num_blocks in enumerate(self.stage_blocks):
            planes = base_channels * 2 ** i // channel_mul_inv
            layer = make_res_layer(
                self.block, inplanes, planes, num_blocks, spatial_stride=spatial_strides[i], temporal_stride=1,
                dilation=dilations[i], style=style, inflate_freq=inflate_freqs[i], inflate_style=inflate_style,
                nonlocal_freq=nonlocal_freqs[i], nonlocal_cfg=nonlocal_cfg if i in nonlocal_stages else None,
                lateral_inplanes=lateral_inplanes, with_cp=with_cp)
            inplanes = planes * self.block.expansion
            if lateral:
                # Built for every stage, including the last one whose output is never fused (see module doc).
                name = f'layer{i + 1}_lateral'
                setattr(self, name, self._lateral(inplanes // beta_inv, alpha, fusion_kernel_size))
                self.lateral_connections.append(name)
                lateral_inplanes = inplanes * 2 // beta_inv
            self.add_module(f'layer{i + 1}', layer)
            self.res_layers.append(f'layer{i + 1}')
        self.feat_dim = inplanes

    @staticmethod
    def _lateral(fast_channels: int, alpha: int, kernel_t: int) -> nn.Conv3d:
        return nn.Conv3d(fast_channels, fast_channels * 2, kernel_size=(kernel_t, 1, 1), stride=(alpha, 1, 1),
                         padding=((kernel_t - 1) // 2, 0, 0), bias=False)

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        return self.maxpool(self.relu(self.bn1(self.conv1(x))))


@BACKBONES.register_module()
class ResNet_I3D_SlowFast(nn.Module):
    """SlowFast backbone with the original keywords (``alpha``, ``beta_inv``, ``slow_inflate_freq`` ...).

    ``pretrained_slow`` / ``pretrained_fast`` inflate 2D ResNet weights into each pathway (the Fast one needs a
    2D network of matching reduced width; the lateral input channels of the Slow path get zero weights).
    ``base_channels`` (not in the original; default 64 = the original widths) sets the Slow stem width, every
    stage and the Fast path scaling with it (a thin SlowFast for the toy config).
    """

    def __init__(self, depth: int, alpha: int = 8, beta_inv: int = 8, pretrained_slow: str | None = None,
                 pretrained_fast: str | None = None, num_stages: int = 4, lateral_type: str = 'conv',
                 lateral_op: str = 'concat', spatial_strides: Sequence[int] = (1, 2, 2, 2),
                 dilations: Sequence[int] = (1, 1, 1, 1), out_indices: Sequence[int] = (0, 1, 2, 3),
                 slow_conv1_kernel_t: int = 1, fast_conv1_kernel_t: int = 5, style: str = 'pytorch',
                 frozen_stages: int = -1, slow_inflate_freq: int | Sequence = (0, 0, 1, 1),
                 fast_inflate_freq: int | Sequence = (1, 1, 1, 1), fusion_kernel_size: int = 5,
                 inflate_stride: Sequence[int] = (1, 1, 1, 1), inflate_style: str = '3x1x1',
                 nonlocal_stages: Sequence[int] = (-1,), nonlocal_freq: int | Sequence = (0, 1, 1, 0),
                 nonlocal_cfg: dict | None = None, bn_eval: bool = True, bn_frozen: bool = False,
                 partial_bn: bool = False, with_cp: bool = False, use_syncbn: bool = False,
                 base_channels: int = 64) -> None:
        super().__init__()
        check_stage_args('ResNet_I3D_SlowFast', depth, ARCH_SETTINGS, num_stages, out_indices,
                         spatial_strides=spatial_strides, dilations=dilations)
        if lateral_type != 'conv' or lateral_op != 'concat':
            raise ValueError("ResNet_I3D_SlowFast: only lateral_type='conv' with lateral_op='concat' exists "
                             f"(as in the original), got {lateral_type!r}/{lateral_op!r}")
        self.depth = depth
        self.alpha = alpha
        self.beta_inv = beta_inv
        self.pretrained_slow = pretrained_slow
        self.pretrained_fast = pretrained_fast
        self.num_stages = num_stages
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.bn_eval = bn_eval
        self.bn_frozen = bn_frozen
        self.partial_bn = partial_bn
        self.use_syncbn = use_syncbn
        if tuple(inflate_stride) != (1, 1, 1, 1):
            # the original accepted inflate_stride and never read it
            raise ValueError(f'ResNet_I3D_SlowFast: inflate_stride {tuple(inflate_stride)} is not supported (the '
                             f'original ignored it)')
        slow_freq = (slow_inflate_freq,) * num_stages if isinstance(slow_inflate_freq, int) else slow_inflate_freq
        fast_freq = (fast_inflate_freq,) * num_stages if isinstance(fast_inflate_freq, int) else fast_inflate_freq
        common = dict(num_stages=num_stages, spatial_strides=spatial_strides, dilations=dilations, style=style,
                      inflate_style=inflate_style, nonlocal_stages=nonlocal_stages, nonlocal_freqs=nonlocal_freq,
                      nonlocal_cfg=nonlocal_cfg, with_cp=with_cp, base_channels=base_channels)
        self.slow_path = SlowFastPathway(depth, channel_mul_inv=1, lateral=True, alpha=alpha, beta_inv=beta_inv,
                                         conv1_kernel_t=slow_conv1_kernel_t, fusion_kernel_size=fusion_kernel_size,
                                         inflate_freqs=slow_freq, **common)
        self.fast_path = SlowFastPathway(depth, channel_mul_inv=beta_inv, lateral=False,
                                         conv1_kernel_t=fast_conv1_kernel_t, inflate_freqs=fast_freq, **common)
        # Channels after the spatial-temporal module concatenates both pathways (2048 + 256 for R50).
        self.feat_dim = self.slow_path.feat_dim + self.fast_path.feat_dim
        maybe_sync_bn(self, use_syncbn, 'ResNet_I3D_SlowFast')

    def init_weights(self) -> None:
        for path, filename in ((self.slow_path, self.pretrained_slow), (self.fast_path, self.pretrained_fast)):
            init_weights_3d(path)
            if filename:
                inflate_from_2d(path, get_state_dict(load_file(filename), filename), source=filename)

    def forward(self, x: torch.Tensor) -> tuple:
        """``x``: ``(N, C, T, H, W)``; returns ``(slow, fast)`` (or a tuple of pairs for several out_indices)."""
        if x.shape[2] % self.alpha:
            raise ValueError(f'ResNet_I3D_SlowFast: the clip length T={x.shape[2]} must be a multiple of '
                             f'alpha={self.alpha} (set new_length accordingly)')
        x_slow = self.slow_path.stem(x[:, :, ::self.alpha])
        x_fast = self.fast_path.stem(x)
        x_slow = torch.cat((x_slow, self.slow_path.conv1_lateral(x_fast)), dim=1)
        outs = []
        for i, name in enumerate(self.slow_path.res_layers):
            x_slow = getattr(self.slow_path, name)(x_slow)
            x_fast = getattr(self.fast_path, name)(x_fast)
            if i != 3:
                lateral = getattr(self.slow_path, self.slow_path.lateral_connections[i])
                x_slow = torch.cat((x_slow, lateral(x_fast)), dim=1)
            if i in self.out_indices:
                outs.append((x_slow, x_fast))
        return outs[0] if len(outs) == 1 else tuple(outs)

    def train(self, mode: bool = True) -> 'ResNet_I3D_SlowFast':
        super().train(mode)
        for path in (self.slow_path, self.fast_path):
            # The original referenced a non-existent self.conv1 here; freezing each pathway's stem is the intent.
            set_staged_train_modes(path, mode, [path.conv1, path.bn1], [getattr(path, n) for n in path.res_layers],
                                   self.frozen_stages, self.bn_eval, self.bn_frozen, self.partial_bn)
        return self
