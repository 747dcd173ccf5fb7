"""Weight init and BN-mode helpers shared by the 2D backbones (the original used mmcv's initialisers)."""
from __future__ import annotations

import logging
from typing import Container, Sequence

import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from mmaction.utils.checkpoint import load_checkpoint


def check_stage_args(name: str, depth: int, depths: Container[int], num_stages: int, out_indices: Sequence[int],
                     **per_stage: Sequence) -> None:
    """Validate the arguments every staged ResNet shares, failing with a message that names ``name`` and the
    argument: ``depth`` in ``depths``, ``num_stages`` in 1..4, each ``per_stage`` sequence (strides, dilations)
    with ``num_stages`` entries, ``out_indices`` non-empty and below ``num_stages``."""
    if depth not in depths:
        raise ValueError(f'{name}: invalid depth {depth}, expected one of {sorted(depths)}')
    if not 1 <= num_stages <= 4:
        raise ValueError(f'{name}: num_stages must be in 1..4, got {num_stages}')
    wrong = [f'{key} {tuple(value)}' for key, value in per_stage.items() if len(value) != num_stages]
    if wrong:
        raise ValueError(f'{name}: {" and ".join(wrong)} need num_stages={num_stages} entries each')
    if not out_indices or max(out_indices) >= num_stages:
        raise ValueError(f'{name}: out_indices {tuple(out_indices)} must be in 0..{num_stages - 1}')


def init_backbone(module: nn.Module, pretrained: str | None) -> None:
    """Load ``pretrained`` (strict=False, mismatches reported) or, when None, use mmcv's defaults:
    Kaiming-normal (fan_out, relu) convs with zero bias, BN weight 1 and bias 0."""
    if isinstance(pretrained, str):
        load_checkpoint(module, pretrained, strict=False, logger=logging.getLogger('mmaction'))
    elif pretrained is None:
        for m in module.modules():
            if isinstance(m, nn.modules.conv._ConvNd):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, _BatchNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
    else:
        raise TypeError(f'{type(module).__name__}: pretrained must be a str or None, got {type(pretrained).__name__}')


def freeze_bn(m: _BatchNorm, freeze_affine: bool = True) -> None:
    """Eval mode (running statistics fixed); optionally stop gradients to the affine parameters."""
    m.eval()
    if freeze_affine:
        for param in m.parameters():
            param.requires_grad = False


def apply_bn_eval(module: nn.Module, bn_eval: bool, bn_frozen: bool) -> None:
    """The original ``bn_eval``/``bn_frozen`` switch: every BN in eval mode, affine frozen if ``bn_frozen``."""
    if bn_eval:
        for m in module.modules():
            if isinstance(m, _BatchNorm):
                freeze_bn(m, bn_frozen)


# mmaction2 backbones (3D)
def freeze_stages(stages: Sequence[Sequence[nn.Module]], frozen_stages: int) -> None:
    """mmaction2's ``frozen_stages``: ``stages[0]`` is the stem, ``stages[k]`` the modules of stage k. -1 freezes
    nothing, k puts the stem and stages 1..k in eval mode and stops their gradients."""
    for modules in stages[:frozen_stages + 1]:
        for module in modules:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False


def init_conv3d_bn(module: nn.Module, zero_norms: Sequence[nn.Module] = ()) -> None:
    """mmaction2's from-scratch init of its 3D backbones: Kaiming-normal (fan_out, relu) for every ``Conv3d`` with
    zero bias, weight 1 / bias 0 for every BN; the norms in ``zero_norms`` (the last BN of each residual branch,
    ``zero_init_residual``) start at weight 0 so every block begins as the identity."""
    for m in module.modules():
        if isinstance(m, nn.Conv3d):
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, _BatchNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    for norm in zero_norms:
        nn.init.zeros_(norm.weight)
        nn.init.zeros_(norm.bias)
