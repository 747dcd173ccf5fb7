"""mmaction2's TPN neck (Temporal Pyramid Network), with mmaction2's state-dict keys.

Paper: Temporal Pyramid Network for Action Recognition (https://arxiv.org/abs/2004.03548).

Input: a tuple of backbone stage outputs ``(N, C_i, T, H_i, W_i)`` (for a 2D backbone the recognizer folds the
frames into ``T``). Each level is spatially aligned to the top level (strided 3x3 convs), temporally modulated
(grouped temporal conv + temporal max pool by ``downsample_scales[i]``), then fused top-down and bottom-up into two
pyramids whose levels are concatenated (``LevelFusion``); ``pyramid_fusion`` maps both to
``(N, 2048, T', H_top, W_top)``. ``forward`` returns ``(features, aux_losses)``: an auxiliary head on the
second-to-last level gives ``{'loss_aux': ...}`` when ``data_samples`` are passed (training), else ``{}``.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule

from mmaction.registry import MODELS, ConfigError, build_from_cfg

_CONV3D = dict(type='Conv3d')
_BN3D = dict(type='BN3d', requires_grad=True)
_RELU = dict(type='ReLU', inplace=True)


class DownSample(nn.Module):
    """A ConvModule and a ceil-mode max pool of ``downsample_scale``, in the order ``downsample_position`` says
    (``'before'``: pool first): ``(N, C_in, T, H, W)`` -> ``(N, C_out, ceil(T/s_t), ceil(H/s_h), ceil(W/s_w))``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size=(3, 1, 1), stride=(1, 1, 1),
                 padding=(1, 0, 0), groups: int = 1, bias: bool | str = False, conv_cfg: dict = _CONV3D,
                 norm_cfg: dict | None = None, act_cfg: dict | None = None, downsample_position: str = 'after',
                 downsample_scale=(1, 2, 2)) -> None:
        super().__init__()
        if downsample_position not in ('before', 'after'):
            raise ValueError(f"TPN: downsample_position must be 'before' or 'after', got {downsample_position!r}")
        self.conv = ConvModule(in_channels, out_channels, kernel_size, stride, padding, groups=groups, bias=bias,
                               conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.downsample_position = downsample_position
        self.pool = nn.MaxPool3d(downsample_scale, downsample_scale, (0, 0, 0), ceil_mode=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.downsample_position == 'before':
            return self.conv(self.pool(x))
        return self.pool(self.conv(x))


class LevelFusion(nn.Module):
    """Pool each level to a common shape, project it (grouped 1x1x1 conv, 32 groups), concatenate along channels
    and fuse with a 1x1x1 conv: levels ``(N, in_i, ...)`` -> ``(N, out_channels, ...)``."""

    def __init__(self, in_channels: Sequence[int], mid_channels: Sequence[int], out_channels: int,
                 downsample_scales: Sequence = ((1, 1, 1), (1, 1, 1))) -> None:
        super().__init__()
        self.downsamples = nn.ModuleList(
            DownSample(in_channels[i], mid_channels[i], kernel_size=(1, 1, 1), stride=(1, 1, 1), bias=False,
                       padding=(0, 0, 0), groups=32, norm_cfg=_BN3D, act_cfg=_RELU, downsample_position='before',
                       downsample_scale=downsample_scales[i])
            for i in range(len(in_channels)))
        self.fusion_conv = ConvModule(sum(mid_channels), out_channels, 1, stride=1, padding=0, bias=False,
                                      conv_cfg=_CONV3D, norm_cfg=_BN3D, act_cfg=_RELU)

    def forward(self, x: Sequence[torch.Tensor]) -> torch.Tensor:
        return self.fusion_conv(torch.cat([down(feature) for down, feature in zip(self.downsamples, x)], 1))


class SpatialModulation(nn.Module):
    """Bring every level to the top level's channels and size: ``log2(out_channels / C_i)`` strided (1, 3, 3)
    ConvModules, each doubling the channels and halving H and W; the top level passes through."""

    def __init__(self, in_channels: Sequence[int], out_channels: int) -> None:
        super().__init__()
        self.spatial_modulation = nn.ModuleList()
        for channels in in_channels:
            steps = int(math.log2(max(out_channels // channels, 1)))
            if steps < 1:
                self.spatial_modulation.append(nn.Identity())
                continue
            self.spatial_modulation.append(nn.ModuleList(
                ConvModule(channels * 2 ** k, channels * 2 ** (k + 1), (1, 3, 3), stride=(1, 2, 2),
                           padding=(0, 1, 1), bias=False, conv_cfg=_CONV3D, norm_cfg=_BN3D, act_cfg=_RELU)
                for k in range(steps)))

    def forward(self, x: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        outs = []
        for ops, feature in zip(self.spatial_modulation, x):
            if isinstance(ops, nn.ModuleList):
                for op in ops:
                    feature = op(feature)
            else:
                feature = ops(feature)
            outs.append(feature)
        return outs


def _labels(data_samples: Sequence) -> torch.Tensor:
    """Class indices ``(N,)`` (or soft labels ``(N, K)``) from mmaction2-style data samples
    (``sample.gt_label``, or a ``'gt_label'`` key)."""
    labels = []
    for i, sample in enumerate(data_samples):
        label = getattr(sample, 'gt_label', None)
        if label is None and isinstance(sample, dict):
            label = sample.get('gt_label')
        if label is None:
            raise ValueError(f'TPN aux head: data_samples[{i}] has no gt_label')
        labels.append(torch.as_tensor(label))
    labels = torch.stack(labels).squeeze()  # (N,) class indices or (N, num_classes) soft labels
    return labels.unsqueeze(0) if labels.dim() == 0 else labels


class AuxHead(nn.Module):
    """Auxiliary classifier on a middle level for extra supervision: strided (1, 3, 3) ConvModule doubling the
    channels -> global average pool -> dropout 0.5 -> fc: ``(N, C, T, H, W)`` -> ``(N, out_channels)``."""

    def __init__(self, in_channels: int, out_channels: int, loss_weight: float = 0.5,
                 loss_cls: dict = dict(type='CrossEntropyLoss')) -> None:
        super().__init__()
        self.conv = ConvModule(in_channels, in_channels * 2, (1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1),
                               bias=False, conv_cfg=_CONV3D, norm_cfg=_BN3D)
        self.avg_pool = nn.AdaptiveAvgPool3d((1, 1, 1))
        self.loss_weight = loss_weight
        self.dropout = nn.Dropout(p=0.5)
        self.fc = nn.Linear(in_channels * 2, out_channels)
        self.loss_cls = build_from_cfg(loss_cls, MODELS, where='neck.aux_head_cfg.loss_cls')

    def init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Conv3d):
                nn.init.xavier_uniform_(m.weight)
            elif isinstance(m, nn.BatchNorm3d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avg_pool(self.conv(x)).flatten(1)
        return self.fc(self.dropout(x))

    def loss(self, x: torch.Tensor, data_samples: Sequence) -> dict:
        """``{'loss_aux': loss_weight * loss_cls(self(x), labels)}``."""
        return {'loss_aux': self.loss_weight * self.loss_cls(self(x), _labels(data_samples).to(x.device))}


class TemporalModulation(nn.Module):
    """Grouped (32) temporal conv (3, 1, 1) without norm or activation, then a ceil-mode temporal max pool of
    ``downsample_scale``:
    ``(N, C_in, T, H, W)`` -> ``(N, C_out, ceil(T / downsample_scale), H, W)``."""

    def __init__(self, in_channels: int, out_channels: int, downsample_scale: int = 8) -> None:
        super().__init__()
        self.conv = ConvModule(in_channels, out_channels, (3, 1, 1), stride=(1, 1, 1), padding=(1, 0, 0),
                               bias=False, groups=32, conv_cfg=_CONV3D, act_cfg=None)
        self.pool = nn.MaxPool3d((downsample_scale, 1, 1), (downsample_scale, 1, 1), (0, 0, 0), ceil_mode=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.conv(x))


@MODELS.register_module()
class TPN(nn.Module):
    """TPN neck.

    Args:
        in_channels: channels of the input levels (bottom to top).
        out_channels: channels of each temporally modulated level.
        spatial_modulation_cfg: :class:`SpatialModulation` arguments (``in_channels``, ``out_channels``).
        temporal_modulation_cfg: ``dict(downsample_scales=(...))``, one temporal pool per level.
        upsample_cfg: ``nn.Upsample`` arguments for the top-down flow (None: no top-down additions).
        downsample_cfg: :class:`DownSample` arguments for the bottom-up flow (None: no bottom-up additions).
        level_fusion_cfg: :class:`LevelFusion` arguments (``in_channels``, ``mid_channels``, ``out_channels``...).
        aux_head_cfg: :class:`AuxHead` arguments (``out_channels``, ``loss_weight``...); None for no aux head.
        flow_type: ``'cascade'`` (bottom-up on the top-down result) or ``'parallel'``.
    """

    def __init__(self, in_channels: Sequence[int], out_channels: int, spatial_modulation_cfg: dict | None = None,
                 temporal_modulation_cfg: dict | None = None, upsample_cfg: dict | None = None,
                 downsample_cfg: dict | None = None, level_fusion_cfg: dict | None = None,
                 aux_head_cfg: dict | None = None, flow_type: str = 'cascade') -> None:
        super().__init__()
        if flow_type not in ('cascade', 'parallel'):
            raise ValueError(f"TPN: flow_type must be 'cascade' or 'parallel', got {flow_type!r}")
        for key, value in (('spatial_modulation_cfg', spatial_modulation_cfg),
                           ('level_fusion_cfg', level_fusion_cfg)):
            if not isinstance(value, dict):
                raise ConfigError(f'neck.{key}: TPN needs a dict, got {value!r}')
        self.in_channels = tuple(in_channels)
        self.out_channels = out_channels
        self.num_tpn_stages = len(self.in_channels)
        self.flow_type = flow_type
        # Attribute order fixes mmaction2's state-dict key order.
        self.temporal_modulation_ops = nn.ModuleList()
        self.upsample_ops = nn.ModuleList()
        self.downsample_ops = nn.ModuleList()
        self.level_fusion_1 = LevelFusion(**level_fusion_cfg)
        self.spatial_modulation = SpatialModulation(**spatial_modulation_cfg)
        for i in range(self.num_tpn_stages):
            if temporal_modulation_cfg is not None:
                # Every level has the top level's channels after the spatial modulation.
                self.temporal_modulation_ops.append(TemporalModulation(
                    self.in_channels[-1], out_channels, temporal_modulation_cfg['downsample_scales'][i]))
            if i < self.num_tpn_stages - 1:
                if upsample_cfg is not None:
                    self.upsample_ops.append(nn.Upsample(**upsample_cfg))
                if downsample_cfg is not None:
                    self.downsample_ops.append(DownSample(out_channels, out_channels, **downsample_cfg))
        self.level_fusion_2 = LevelFusion(**level_fusion_cfg)
        self.pyramid_fusion = ConvModule(level_fusion_cfg['out_channels'] * 2, 2048, 1, stride=1, padding=0,
                                         bias=False, conv_cfg=_CONV3D, norm_cfg=_BN3D)
        self.aux_head = AuxHead(self.in_channels[-2], **aux_head_cfg) if aux_head_cfg is not None else None

    def init_weights(self) -> None:
        """mmaction2's init: Xavier-uniform 3D convs, unit BN3d, then the aux head's own."""
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm3d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if self.aux_head is not None:
            self.aux_head.init_weights()

    def forward(self, x: Sequence[torch.Tensor], data_samples: Sequence | None = None
                ) -> tuple[torch.Tensor, dict]:
        """Levels ``(N, C_i, T, H_i, W_i)`` -> ``((N, 2048, T', H_top, W_top), aux losses)``."""
        loss_aux = {}
        if self.aux_head is not None and data_samples is not None:
            loss_aux = self.aux_head.loss(x[-2], data_samples)
        modulated = [op(feature) for op, feature in zip(self.temporal_modulation_ops, self.spatial_modulation(x))]
        outs = list(modulated)
        for i in range(len(self.upsample_ops), 0, -1):
            outs[i - 1] = outs[i - 1] + self.upsample_ops[i - 1](outs[i])
        top_down = self.level_fusion_1(outs)
        if self.flow_type == 'parallel':
            outs = list(modulated)
        for i, down in enumerate(self.downsample_ops):
            outs[i + 1] = outs[i + 1] + down(outs[i])
        bottom_up = self.level_fusion_2(outs)
        return self.pyramid_fusion(torch.cat([top_down, bottom_up], 1)), loss_aux
