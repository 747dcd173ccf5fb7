"""mmaction2's ``ResNet3d`` (I3D-style inflated ResNet) with its ``BasicBlock3d``/``Bottleneck3d`` blocks.

The same class is the pathway of ``ResNet3dSlowFast`` (``lateral=True`` adds the fast-to-slow lateral convs) and
the base of ``ResNet3dSlowOnly``, ``ResNet3dCSN`` and ``ResNet2Plus1d``. State-dict keys follow mmaction2 1.x
(mmcv ``ConvModule``: ``layer1.0.conv1.conv.weight``, ``layer1.0.conv1.bn.running_mean``, ...).

Input ``(N, C, T, H, W)``; a stage ``i`` output has ``base_channels * 2**i * expansion`` channels.
"""
from __future__ import annotations

import logging
from typing import Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, NonLocal3d, build_activation_layer
from torch.nn.modules.utils import _ntuple, _triple

from mmaction.models.backbones._common import (apply_bn_eval, check_block_style, check_stage_args, freeze_stages,
                                               inflate_weight, init_conv3d_bn, maybe_checkpoint, resnet_arch_settings,
                                               run_stages)
from mmaction.registry import MODELS
from mmaction.utils.checkpoint import get_state_dict, load_checkpoint, load_file

logger = logging.getLogger('mmaction')


def _add_residual_tail(block: nn.Module, out_channels: int, downsample: nn.Module | None, non_local: bool,
                       non_local_cfg: dict, act_cfg: dict, with_cp: bool) -> None:
    """What both blocks register after their convs (in mmaction2's order, which fixes the state-dict key order):
    the shortcut, the final activation and the optional non-local block on ``out_channels``."""
    block.downsample = downsample
    block.relu = build_activation_layer(act_cfg)
    block.non_local = non_local
    if non_local:
        block.non_local_block = NonLocal3d(out_channels, **non_local_cfg)
    block.with_cp = with_cp


class BasicBlock3d(nn.Module):
    """Two 3x3(x3) convs and a residual: ``(N, inplanes, T, H, W) -> (N, planes, T/ts, H/ss, W/ss)``.

    ``inflate`` makes both kernels 3x3x3 (else 1x3x3); the stride sits in ``conv1``.
    """
    expansion = 1

    def __init__(self, inplanes: int, planes: int, spatial_stride: int = 1, temporal_stride: int = 1,
                 dilation: int = 1, downsample: nn.Module | None = None, style: str = 'pytorch',
                 inflate: bool = True, inflate_style: str = '3x1x1', non_local: bool = False,
                 non_local_cfg: dict = dict(), conv_cfg: dict = dict(type='Conv3d'),
                 norm_cfg: dict = dict(type='BN3d'), act_cfg: dict = dict(type='ReLU'), with_cp: bool = False) -> None:
        super().__init__()
        check_block_style('ResNet3d', style, inflate_style)  # inflate_style: accepted and unused, as in mmaction2
        kt, pt = (3, 1) if inflate else (1, 0)
        self.conv1 = ConvModule(inplanes, planes, (kt, 3, 3), stride=(temporal_stride, spatial_stride, spatial_stride),
                                padding=(pt, dilation, dilation), dilation=(1, dilation, dilation), bias=False,
                                conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv2 = ConvModule(planes, planes * self.expansion, (kt, 3, 3), stride=1, padding=(pt, 1, 1),
                                bias=False, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None)
        _add_residual_tail(self, planes * self.expansion, downsample, non_local, non_local_cfg, act_cfg, with_cp)

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        return self.conv2(self.conv1(x)) + identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(maybe_checkpoint(self._residual, x, self.with_cp))
        return self.non_local_block(out) if self.non_local else out


class Bottleneck3d(nn.Module):
    """1x1 reduce, 3x3 spatial, 1x1 expand (x4) and a residual: ``(N, inplanes, T, H, W) ->
    (N, 4 * planes, T/ts, H/ss, W/ss)``.

    ``inflate`` with ``inflate_style='3x1x1'`` gives ``conv1`` a 3x1x1 kernel, with ``'3x3x3'`` gives ``conv2`` a
    3x3x3 kernel. ``style='pytorch'`` strides in ``conv2``, ``'caffe'`` in ``conv1``.
    """
    expansion = 4

    def __init__(self, inplanes: int, planes: int, spatial_stride: int = 1, temporal_stride: int = 1,
                 dilation: int = 1, downsample: nn.Module | None = None, style: str = 'pytorch',
                 inflate: bool = True, inflate_style: str = '3x1x1', non_local: bool = False,
                 non_local_cfg: dict = dict(), conv_cfg: dict = dict(type='Conv3d'),
                 norm_cfg: dict = dict(type='BN3d'), act_cfg: dict = dict(type='ReLU'), with_cp: bool = False) -> None:
        super().__init__()
        check_block_style('ResNet3d', style, inflate_style)
        self.conv_cfg, self.norm_cfg, self.act_cfg = conv_cfg, norm_cfg, act_cfg
        stride = (temporal_stride, spatial_stride, spatial_stride)
        stride1, stride2 = ((1, 1, 1), stride) if style == 'pytorch' else (stride, (1, 1, 1))
        k1, k2 = (1, 1, 1), (1, 3, 3)
        if inflate and inflate_style == '3x1x1':
            k1 = (3, 1, 1)
        elif inflate:
            k2 = (3, 3, 3)
        self.conv1 = ConvModule(inplanes, planes, k1, stride=stride1, padding=tuple(k // 2 for k in k1), bias=False,
                                conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv2 = self._make_conv2(planes, k2, stride2, (k2[0] // 2, dilation, dilation), (1, dilation, dilation))
        self.conv3 = ConvModule(planes, planes * self.expansion, 1, bias=False, conv_cfg=conv_cfg,
                                norm_cfg=norm_cfg, act_cfg=None)
        _add_residual_tail(self, planes * self.expansion, downsample, non_local, non_local_cfg, act_cfg, with_cp)

    def _make_conv2(self, planes: int, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple) -> nn.Module:
        """The spatial conv; channel-separated networks replace it."""
        return ConvModule(planes, planes, kernel, stride=stride, padding=padding, dilation=dilation, bias=False,
                          conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        return self.conv3(self.conv2(self.conv1(x))) + identity

    # The same checkpointed residual, ReLU and optional non-local block as BasicBlock3d.
    forward = BasicBlock3d.forward


class DeConvModule(nn.Module):
    """Transposed 3D conv + BN + ReLU that upsamples ``(N, C, T, H, W)`` by ``stride`` exactly (``lateral_inv``)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: tuple, stride: tuple,
                 padding: tuple) -> None:
        super().__init__()
        self.stride = stride
        self.out_channels = out_channels
        self.conv = nn.ConvTranspose3d(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                                       bias=False)
        self.bn = nn.BatchNorm3d(out_channels)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, t, h, w = x.shape
        size = (n, self.out_channels, self.stride[0] * t, self.stride[1] * h, self.stride[2] * w)
        return self.relu(self.bn(self.conv(x, output_size=size)))


@MODELS.register_module()
class ResNet3d(nn.Module):
    """ResNet-18..152 with 3D kernels: ``(N, in_channels, T, H, W)`` -> the stage outputs in ``out_indices``.

    Stem: ``conv1`` (``conv1_kernel``, strides ``(conv1_stride_t, conv1_stride_s, conv1_stride_s)``) and a 1x3x3
    max-pool; ``with_pool2`` halves T after stage 1. ``inflate``/``non_local`` are per stage (an int for all of
    its blocks or a per-block sequence). ``lateral=True`` makes this the slow pathway of SlowFast: each stage input
    is widened by ``lateral_infl / channel_ratio`` of its width, fed by ``conv1_lateral``/``layerX_lateral``
    (stride ``speed_ratio`` in time) from the fast pathway. ``pretrained`` is loaded by :meth:`init_weights` only,
    never at build time; with ``pretrained2d`` it is a torchvision-named 2D ResNet whose kernels are inflated.
    ``init_cfg`` is accepted for mmaction2 configs (its init is :meth:`init_weights`); other keyword arguments go
    to the blocks (``bottleneck_mode`` for CSN).
    """

    arch_settings = resnet_arch_settings(BasicBlock3d, Bottleneck3d)

    def __init__(self, depth: int = 50, pretrained: str | None = None, stage_blocks: Sequence[int] | None = None,
                 pretrained2d: bool = True, in_channels: int = 3, num_stages: int = 4, base_channels: int = 64,
                 out_indices: Sequence[int] = (3,), spatial_strides: Sequence[int] = (1, 2, 2, 2),
                 temporal_strides: Sequence[int] = (1, 1, 1, 1), dilations: Sequence[int] = (1, 1, 1, 1),
                 conv1_kernel: Sequence[int] = (3, 7, 7), conv1_stride_s: int = 2, conv1_stride_t: int = 1,
                 pool1_stride_s: int = 2, pool1_stride_t: int = 1, with_pool1: bool = True, with_pool2: bool = True,
                 style: str = 'pytorch', frozen_stages: int = -1, inflate: Sequence = (1, 1, 1, 1),
                 inflate_style: str = '3x1x1', conv_cfg: dict = dict(type='Conv3d'),
                 norm_cfg: dict = dict(type='BN3d', requires_grad=True),
                 act_cfg: dict = dict(type='ReLU', inplace=True), norm_eval: bool = False, with_cp: bool = False,
                 non_local: Sequence = (0, 0, 0, 0), non_local_cfg: dict = dict(), zero_init_residual: bool = True,
                 lateral: bool = False, lateral_inv: bool = False, lateral_norm: bool = False, speed_ratio: int = 8,
                 channel_ratio: int = 8, fusion_kernel: int = 5, lateral_infl: int = 2,
                 lateral_activate: Sequence[int] = (1, 1, 1, 1), init_cfg: dict | None = None,
                 **block_kwargs) -> None:
        super().__init__()
        per_stage = dict(spatial_strides=spatial_strides, temporal_strides=temporal_strides, dilations=dilations)
        if stage_blocks is not None:
            per_stage['stage_blocks'] = stage_blocks
        check_stage_args(type(self).__name__, depth, self.arch_settings, num_stages, out_indices, **per_stage)
        self.depth = depth
        self.pretrained = pretrained
        self.pretrained2d = pretrained2d
        self.init_cfg = init_cfg
        self.in_channels = in_channels
        self.base_channels = base_channels
        self.num_stages = num_stages
        self.out_indices = tuple(out_indices)
        self.conv1_kernel = _triple(conv1_kernel)
        self.with_pool1 = with_pool1
        self.with_pool2 = with_pool2
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.zero_init_residual = zero_init_residual
        self.lateral = lateral
        self.conv_cfg, self.norm_cfg, self.act_cfg = conv_cfg, norm_cfg, act_cfg
        self.block, default_blocks = self.arch_settings[depth]
        self.stage_blocks = tuple(stage_blocks) if stage_blocks else default_blocks[:num_stages]
        stage_inflations = _ntuple(num_stages)(inflate)
        non_local_stages = _ntuple(num_stages)(non_local)

        self.conv1 = ConvModule(in_channels, base_channels, self.conv1_kernel,
                                stride=(conv1_stride_t, conv1_stride_s, conv1_stride_s),
                                padding=tuple((k - 1) // 2 for k in self.conv1_kernel), bias=False,
                                conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.maxpool = nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(pool1_stride_t, pool1_stride_s, pool1_stride_s),
                                    padding=(0, 1, 1))
        self.pool2 = nn.MaxPool3d(kernel_size=(2, 1, 1), stride=(2, 1, 1))

        # A lateral conv turns the fast pathway's C/channel_ratio channels into C*lateral_infl/channel_ratio
        # (or, inverted, C*channel_ratio into C*channel_ratio/lateral_infl) concatenated to the slow stage input.
        def lateral_width(width: int) -> int:
            return width * channel_ratio // lateral_infl if lateral_inv else width * lateral_infl // channel_ratio

        self.res_layers = []
        inplanes = base_channels
        stage_inputs = []
        for i, num_blocks in enumerate(self.stage_blocks):
            stage_inputs.append(inplanes)
            extra = lateral_width(inplanes) if lateral and lateral_activate[i] else 0
            planes = base_channels * 2 ** i
            layer = self.make_res_layer(
                self.block, inplanes + extra, planes, num_blocks, spatial_stride=spatial_strides[i],
                temporal_stride=temporal_strides[i], dilation=dilations[i], style=style,
                inflate=stage_inflations[i], inflate_style=inflate_style, non_local=non_local_stages[i],
                non_local_cfg=non_local_cfg, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg,
                with_cp=with_cp, **block_kwargs)
            inplanes = planes * self.block.expansion
            self.add_module(f'layer{i + 1}', layer)
            self.res_layers.append(f'layer{i + 1}')
        self.feat_dim = inplanes

        self.lateral_connections = []
        if lateral:
            def lateral_conv(width: int) -> nn.Module:
                kernel, stride = (fusion_kernel, 1, 1), (speed_ratio, 1, 1)
                padding = ((fusion_kernel - 1) // 2, 0, 0)
                if lateral_inv:
                    return DeConvModule(width * channel_ratio, lateral_width(width), kernel, stride, padding)
                return ConvModule(width // channel_ratio, lateral_width(width), kernel, stride=stride,
                                  padding=padding, bias=False, conv_cfg=conv_cfg,
                                  norm_cfg=norm_cfg if lateral_norm else None,
                                  act_cfg=act_cfg if lateral_norm else None)

            if lateral_activate[0]:
                self.conv1_lateral = lateral_conv(base_channels)
            # The last stage feeds no lateral: there is no later slow stage to fuse into.
            for i in range(num_stages - 1):
                if lateral_activate[i + 1]:
                    setattr(self, f'layer{i + 1}_lateral', lateral_conv(stage_inputs[i + 1]))
                    self.lateral_connections.append(f'layer{i + 1}_lateral')

    @staticmethod
    def make_res_layer(block: type, inplanes: int, planes: int, blocks: int, spatial_stride: int = 1,
                       temporal_stride: int = 1, dilation: int = 1, style: str = 'pytorch', inflate=1,
                       inflate_style: str = '3x1x1', non_local=0, non_local_cfg: dict = dict(),
                       norm_cfg: dict | None = None, act_cfg: dict | None = None, conv_cfg: dict | None = None,
                       with_cp: bool = False, **block_kwargs) -> nn.Sequential:
        """``blocks`` residual blocks; the first one strides and (when the width changes) projects the identity
        with a 1x1x1 ``downsample`` ConvModule. ``inflate``/``non_local`` are an int or one flag per block."""
        inflate = (inflate,) * blocks if isinstance(inflate, int) else tuple(inflate)
        non_local = (non_local,) * blocks if isinstance(non_local, int) else tuple(non_local)
        if len(inflate) != blocks or len(non_local) != blocks:
            raise ValueError(f'inflate {inflate} and non_local {non_local} need one entry per block ({blocks})')
        downsample = None
        if spatial_stride != 1 or inplanes != planes * block.expansion:
            downsample = ConvModule(inplanes, planes * block.expansion, kernel_size=1,
                                    stride=(temporal_stride, spatial_stride, spatial_stride), bias=False,
                                    conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None)
        layers = []
        for i in range(blocks):
            first = i == 0
            layers.append(block(
                inplanes if first else planes * block.expansion, planes,
                spatial_stride=spatial_stride if first else 1, temporal_stride=temporal_stride if first else 1,
                dilation=dilation, downsample=downsample if first else None, style=style,
                inflate=inflate[i] == 1, inflate_style=inflate_style, non_local=non_local[i] == 1,
                non_local_cfg=non_local_cfg, norm_cfg=norm_cfg, conv_cfg=conv_cfg, act_cfg=act_cfg,
                with_cp=with_cp, **block_kwargs))
        return nn.Sequential(*layers)

    def inflate_weights(self, state_2d: dict, source: str = '<2d weights>') -> list[str]:
        """Copy a torchvision-named 2D ResNet state dict into this model: ``layerX.Y.convN`` -> ``.convN.conv``
        (kernel repeated over time and divided by its length, extra lateral input channels zero),
        ``layerX.Y.bnN`` -> ``.convN.bn``, ``downsample.0/1`` -> ``downsample.conv/bn``. Lateral convs and
        non-local blocks keep their init. Returns the 2D keys that were used."""
        used = []
        for name, module in self.named_modules():
            if not isinstance(module, ConvModule) or 'lateral' in name:
                continue
            if name.endswith('downsample'):
                conv_2d, bn_2d = name + '.0', name + '.1'
            else:
                conv_2d, bn_2d = name, name.replace('conv', 'bn')
            if conv_2d + '.weight' not in state_2d:
                logger.warning('%s: no 2D weights for %s', source, conv_2d)
                continue
            w2d = state_2d[conv_2d + '.weight']
            w3d = module.conv.weight
            if w2d.dim() != 4 or w2d.shape[0] != w3d.shape[0] or w2d.shape[2:] != w3d.shape[3:] \
                    or w2d.shape[1] > w3d.shape[1]:
                logger.warning('%s: %s has shape %s, cannot inflate into %s', source, conv_2d,
                               tuple(w2d.shape), tuple(w3d.shape))
                continue
            with torch.no_grad():
                w3d.copy_(inflate_weight(w2d.to(w3d.dtype), w3d.shape))
            used.append(conv_2d + '.weight')
            if module.with_norm and bn_2d + '.weight' in state_2d:
                bn = module.norm
                with torch.no_grad():
                    for key, tensor in list(bn.named_parameters()) + list(bn.named_buffers()):
                        if f'{bn_2d}.{key}' in state_2d:
                            tensor.copy_(state_2d[f'{bn_2d}.{key}'])
                            used.append(f'{bn_2d}.{key}')
        unused = sorted(set(state_2d) - set(used))
        if unused:
            logger.info('%s: 2D weights not used: %s', source, unused)
        return used

    def init_weights(self, pretrained: str | None = None) -> None:
        """Load ``pretrained`` (a 2D file inflated when ``pretrained2d``, else a 3D file by key) or, without one,
        Kaiming-init convs, BNs to 1/0 and the last BN of each block to 0 when ``zero_init_residual``."""
        self.pretrained = pretrained or self.pretrained
        if isinstance(self.pretrained, str):
            logger.info('%s: load model from %s', type(self).__name__, self.pretrained)
            if self.pretrained2d:
                self.inflate_weights(get_state_dict(load_file(self.pretrained), self.pretrained), self.pretrained)
            else:
                load_checkpoint(self, self.pretrained, strict=False, logger=logger)
            # A 2D file has no lateral convs and a 3D one may not: mmaction2 re-initialises them either way.
            for name in (['conv1_lateral'] if hasattr(self, 'conv1_lateral') else []) + self.lateral_connections:
                init_conv3d_bn(getattr(self, name))
        elif self.pretrained is None:
            init_conv3d_bn(self, self.residual_norms() if self.zero_init_residual else ())
        else:
            raise TypeError(f'{type(self).__name__}: pretrained must be a str or None, '
                            f'got {type(self.pretrained).__name__}')

    def residual_norms(self) -> list[nn.Module]:
        """The last BN of every residual branch (zeroed by ``zero_init_residual``)."""
        return [block.conv3.bn if isinstance(block, Bottleneck3d) else block.conv2.bn
                for name in self.res_layers for block in getattr(self, name)]

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """``(N, C, T, H, W)`` -> one ``(N, C_i, T_i, H_i, W_i)`` per ``out_indices`` entry (a tensor if one)."""
        x = self.conv1(x)
        if self.with_pool1:
            x = self.maxpool(x)
        stages = [getattr(self, name) for name in self.res_layers]
        if self.with_pool2:  # mmaction2 pools after layer1 before collecting its output
            stages[0] = lambda y: self.pool2(self.layer1(y))
        return run_stages(stages, x, self.out_indices)

    def frozen_modules(self) -> list[list[nn.Module]]:
        """The stem, then each stage with the lateral conv that leaves it (for ``frozen_stages``)."""
        stages = [[self.conv1]]
        for i, layer_name in enumerate(self.res_layers):
            stages.append([getattr(self, layer_name)])
            if self.lateral and i < len(self.lateral_connections):
                stages[-1].append(getattr(self, self.lateral_connections[i]))
        return stages

    def train(self, mode: bool = True) -> 'ResNet3d':
        """``frozen_stages`` stay in eval mode without gradients; ``norm_eval`` keeps every BN in eval mode."""
        super().train(mode)
        freeze_stages(self.frozen_modules(), self.frozen_stages)
        apply_bn_eval(self, mode and self.norm_eval, bn_frozen=False)
        return self
