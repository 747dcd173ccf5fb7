"""Weight init and BN-mode helpers shared by the 2D backbones (the original used mmcv's initialisers)."""
from __future__ import annotations

import logging
from typing import Any, Callable, Container, Sequence

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.checkpoint import checkpoint

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


def maybe_checkpoint(fn: Callable[..., torch.Tensor], x: torch.Tensor, enabled: bool, *args: Any) -> torch.Tensor:
    """``fn(x, *args)``; with ``enabled`` (a backbone's ``with_cp``) and gradients flowing, its activations are
    recomputed in the backward pass instead of stored (activation checkpointing: less memory, one more forward).
    BatchNorm layers inside see the batch twice, so their running statistics move twice per step, as in mmcv."""
    if enabled and x.requires_grad:
        return checkpoint(fn, x, *args, use_reentrant=False)
    return fn(x, *args)


# mmaction2 backbones (2D): train-mode switches and 2D-pretrained loading shared by the mmaction2-layout models
# (mmaction/models/mmaction2/backbones). Kept in one block; the 3D backbones append their own below it.

def freeze_modules(*modules: nn.Module) -> None:
    """Eval mode and ``requires_grad=False`` for every parameter: mmaction2's ``frozen_stages``."""
    for module in modules:
        module.eval()
        for param in module.parameters():
            param.requires_grad = False


def apply_partial_bn(module: nn.Module) -> None:
    """TSN's partial BN: every ``BatchNorm2d`` except the first (the stem's) in eval mode with frozen affine
    parameters, because small video batches give poor statistics for the deeper layers."""
    norms = [m for m in module.modules() if isinstance(m, nn.BatchNorm2d)]
    for m in norms[1:]:
        freeze_bn(m)


# Wrapper modules that the temporal variants put around 2D ResNet/MobileNetV2 parts (TemporalShift.net,
# TemporalPool.net, NL3DWrapper.block, TABlock.block, CombineNet.net2); a 2D checkpoint names the wrapped part
# without them.
_WRAPPER_NAMES = frozenset({'net', 'net2', 'block'})


def _unwrapped_key(key: str) -> str:
    return '.'.join(part for part in key.split('.') if part not in _WRAPPER_NAMES)


def _torchvision_key(key: str) -> str | None:
    """mmaction2 ConvModule key -> torchvision ResNet key: ``layer1.0.conv1.conv.weight`` -> ``layer1.0.conv1.weight``,
    ``layer1.0.conv1.bn.bias`` -> ``layer1.0.bn1.bias``, ``conv1.bn.*`` -> ``bn1.*``, ``downsample.conv/bn`` ->
    ``downsample.0/1``. None for keys outside a ConvModule."""
    parts = key.split('.')
    if len(parts) < 3 or parts[-2] not in ('conv', 'bn'):
        return None
    owner, kind, param = '.'.join(parts[:-2]), parts[-2], parts[-1]
    if owner.endswith('downsample'):
        return f"{owner}.{0 if kind == 'conv' else 1}.{param}"
    if kind == 'conv':
        return f'{owner}.{param}'
    head, _, last = owner.rpartition('.')
    bn_name = last.replace('conv', 'bn')
    return f'{head}.{bn_name}.{param}' if head else f'{bn_name}.{param}'


def load_2d_pretrained(module: nn.Module, filename: str) -> None:
    """Load a 2D checkpoint into an mmaction2-layout backbone whose blocks may be wrapped by temporal modules.

    Each of the model's keys takes the first checkpoint entry of the same shape among: the key itself, the key
    without wrapper segments (``layer1.0.conv1.conv.net.weight`` -> ``layer1.0.conv1.conv.weight``), that key under
    ``backbone.`` (mmcls/mmpretrain checkpoints), and its torchvision name. This covers mmaction2's
    ``torchvision_pretrain`` and ``pretrained2d`` paths. Keys left unloaded (the temporal modules' own) keep their
    initialisation and are logged, as are unused checkpoint entries.
    """
    from collections import OrderedDict

    from mmaction.utils.checkpoint import get_state_dict, load_file

    source = get_state_dict(load_file(filename), filename)
    loaded, used = OrderedDict(), set()
    for key, tensor in module.state_dict().items():
        plain = _unwrapped_key(key)
        for candidate in (key, plain, 'backbone.' + plain, _torchvision_key(plain)):
            if candidate is not None and candidate in source and source[candidate].shape == tensor.shape:
                loaded[key] = source[candidate]
                used.add(candidate)
                break
    module.load_state_dict(loaded, strict=False)
    logger = logging.getLogger('mmaction')
    missing = [k for k in module.state_dict() if k not in loaded and not k.endswith('num_batches_tracked')]
    unused = [k for k in source if k not in used]
    if missing:
        logger.info(f'{filename}: {len(missing)} {type(module).__name__} entries not in the checkpoint keep their '
                    f'initialisation: {", ".join(missing[:10])}' + (' ...' if len(missing) > 10 else ''))
    if unused:
        logger.info(f'{filename}: {len(unused)} checkpoint entries not used: {", ".join(unused[:10])}'
                    + (' ...' if len(unused) > 10 else ''))
    if not loaded:
        raise ValueError(f'{filename}: no entry matches {type(module).__name__} by name and shape; is it a 2D '
                         f'ResNet/MobileNetV2 checkpoint?')


def init_mm2_2d(module: nn.Module) -> None:
    """mmaction2's 2D default init (mmengine ``Kaiming`` on ``Conv2d``, ``Constant(1)`` on ``BatchNorm2d``): other
    layers (non-local blocks, TAM, TIN nets) keep the initialisation their constructors chose."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


# mmaction2 backbones (3D)
def freeze_stages(stages: Sequence[Sequence[nn.Module]], frozen_stages: int) -> None:
    """mmaction2's ``frozen_stages``: ``stages[0]`` is the stem, ``stages[k]`` the modules of stage k. -1 freezes
    nothing, k puts the stem and stages 1..k in eval mode and stops their gradients."""
    for modules in stages[:frozen_stages + 1]:
        freeze_modules(*modules)


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
