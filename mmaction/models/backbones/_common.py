"""What the backbones share: weight init (the original used mmcv's initialisers), BN modes (``bn_eval``,
``bn_frozen``, partial BN), frozen stages, SyncBN, 2D->3D inflation and pretrained loading.

The original MMAction backbones (``models/backbones``) and the mmaction2-layout ones (``models/mmaction2/backbones``)
both take their helpers from here."""
from __future__ import annotations

import logging
from typing import Any, Callable, Container, Iterable, Sequence

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.utils.checkpoint import checkpoint

from mmaction.models.necks.non_local import NonLocalModule
from mmaction.utils.checkpoint import get_state_dict, load_checkpoint, load_file, load_state_dict


# Blocks per stage of the standard ResNet depths (He et al.); 18 and 34 use basic blocks, deeper ones bottlenecks.
RESNET_STAGE_BLOCKS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3), 152: (3, 8, 36, 3)}


def resnet_arch_settings(basic: type | None, bottleneck: type) -> dict[int, tuple[type, tuple[int, ...]]]:
    """``{depth: (block class, blocks per stage)}`` of :data:`RESNET_STAGE_BLOCKS` with the given block classes
    (``basic=None``: bottleneck depths only, as CSN)."""
    return {depth: (basic if depth < 50 else bottleneck, blocks) for depth, blocks in RESNET_STAGE_BLOCKS.items()
            if depth >= 50 or basic is not None}


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



def check_block_style(name: str, style: str, inflate_style: str | None = None) -> None:
    """Validate a residual block's ``style`` ('pytorch' strides the 3x3 conv, 'caffe' the first 1x1) and, for
    inflated 3D blocks, ``inflate_style``; the message names ``name``, the argument and the value."""
    if style not in ('pytorch', 'caffe'):
        raise ValueError(f"{name}: style must be 'pytorch' or 'caffe', got {style!r}")
    if inflate_style is not None and inflate_style not in ('3x1x1', '3x3x3'):
        raise ValueError(f"{name}: inflate_style must be '3x1x1' or '3x3x3', got {inflate_style!r}")


def kaiming_init(module: nn.Module, conv_types: type | tuple = nn.modules.conv._ConvNd,
                 norm_types: type | tuple = _BatchNorm, skip: Container[int] = frozenset()) -> None:
    """The one conv/BN initialiser (mmcv's ``kaiming_init`` + ``constant_init(1)``): Kaiming-normal (fan_out, relu)
    weights and zero bias for ``conv_types``, weight 1 / bias 0 for affine ``norm_types``; modules whose ``id`` is
    in ``skip`` keep theirs. Modules are visited in ``module.modules()`` order (the random stream is fixed)."""
    for m in module.modules():
        if id(m) in skip:
            continue
        if isinstance(m, conv_types):
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, norm_types) and m.weight is not None:
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def init_backbone(module: nn.Module, pretrained: str | None) -> None:
    """Load ``pretrained`` (strict=False, mismatches reported) or, when None, use mmcv's defaults:
    Kaiming-normal (fan_out, relu) convs with zero bias, BN weight 1 and bias 0."""
    if isinstance(pretrained, str):
        load_checkpoint(module, pretrained, strict=False, logger=logging.getLogger('mmaction'))
    elif pretrained is None:
        kaiming_init(module, nn.modules.conv._ConvNd, _BatchNorm)
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


def freeze_modules(*modules: nn.Module) -> None:
    """Eval mode and ``requires_grad=False`` for every parameter: ``frozen_stages`` (original and mmaction2)."""
    for module in modules:
        module.eval()
        for param in module.parameters():
            param.requires_grad = False


def frozen_stage_modules(stem: Sequence[nn.Module], stages: Sequence[nn.Module], frozen_stages: int) -> list[nn.Module]:
    """What ``frozen_stages`` freezes: nothing for -1, else the ``stem`` modules and ``stages[:frozen_stages]``."""
    return [] if frozen_stages < 0 else [*stem, *stages[:frozen_stages]]


def set_train_modes(module: nn.Module, mode: bool, bn_eval: bool, bn_frozen: bool,
                    partial_bn: Iterable[nn.Module] = (), frozen: Sequence[nn.Module] = ()) -> None:
    """The original backbones' ``train()`` switches, in their order, after ``nn.Module.train(mode)``:
    ``bn_eval``/``bn_frozen`` on every BN; every BN inside the ``partial_bn`` modules in eval mode with frozen
    affine parameters (partial BN); when training, the ``frozen`` modules (stem and stages ``1..frozen_stages``,
    see :func:`frozen_stage_modules`) in eval mode with their gradients stopped."""
    apply_bn_eval(module, bn_eval, bn_frozen)
    for part in partial_bn:
        for m in part.modules():
            if isinstance(m, _BatchNorm):
                freeze_bn(m)
    if mode:
        freeze_modules(*frozen)


def set_staged_train_modes(module: nn.Module, mode: bool, stem: Sequence[nn.Module], stages: Sequence[nn.Module],
                           frozen_stages: int, bn_eval: bool, bn_frozen: bool, partial_bn: bool) -> None:
    """:func:`set_train_modes` of the original staged ResNets (2D, I3D, each SlowFast pathway): partial BN acts on
    the BNs of the frozen stages only (not "all but the first BN" as in the Inception backbones), and
    ``frozen_stages`` freezes the ``stem`` and ``stages[:frozen_stages]``."""
    set_train_modes(module, mode, bn_eval, bn_frozen,
                    partial_bn=stages[:max(frozen_stages, 0)] if partial_bn else (),
                    frozen=frozen_stage_modules(stem, stages, frozen_stages))


def bns_except_stem(module: nn.Module, stem_name: str = 'conv1') -> list[nn.Module]:
    """TSN's partial BN of the Inception backbones: every BN except the stem's (names containing ``stem_name``),
    because small video batches give poor statistics for the deeper layers."""
    return [m for name, m in module.named_modules() if stem_name not in name and isinstance(m, _BatchNorm)]


_syncbn_warned = False


def syncbn_unavailable_reason() -> str | None:
    """Why ``nn.SyncBatchNorm`` cannot work in this process (``None`` when it can): it synchronises statistics
    over the ranks of an initialised process group and runs only on CUDA tensors with a CUDA-capable backend."""
    import torch.distributed as dist
    if not dist.is_available() or not dist.is_initialized():
        return 'no distributed process group is initialised (SyncBN averages statistics over the ranks of one)'
    if not torch.cuda.is_available():
        return 'CUDA is not available (SyncBN runs on CUDA tensors only)'
    backend = str(dist.get_backend())
    if backend == 'gloo':
        return f'the process group uses the {backend} backend (SyncBN needs a CUDA backend such as nccl)'
    return None


def maybe_sync_bn(module: nn.Module, use_syncbn: bool, owner: str) -> nn.Module:
    """``use_syncbn``: turn every BN of ``module`` into ``nn.SyncBatchNorm`` (same parameter and buffer names, so
    checkpoints are interchangeable). Where SyncBN cannot work (CPU, gloo, single process) plain BN is kept and
    one warning per process says why."""
    global _syncbn_warned
    if not use_syncbn:
        return module
    reason = syncbn_unavailable_reason()
    if reason is None:
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    if not _syncbn_warned:
        _syncbn_warned = True
        logging.getLogger('mmaction').warning(f'{owner}: use_syncbn=True but {reason}; using plain BatchNorm')
    return module


def run_stages(stages: Sequence[Callable[[torch.Tensor], torch.Tensor]], x: torch.Tensor,
               out_indices: Container[int], after: Callable[[int, torch.Tensor], torch.Tensor] | None = None
               ) -> torch.Tensor | tuple[torch.Tensor, ...]:
    """``x`` through ``stages`` in order -> the outputs of the stages in ``out_indices`` (the tensor itself when
    there is one, else a tuple). ``after(i, x)``, when given, transforms ``x`` between stage ``i`` and the next,
    after stage ``i``'s output was collected (ResNet_I3D's pool2)."""
    outs = []
    for i, stage in enumerate(stages):
        x = stage(x)
        if i in out_indices:
            outs.append(x)
        if after is not None:
            x = after(i, x)
    return outs[0] if len(outs) == 1 else tuple(outs)


def maybe_checkpoint(fn: Callable[..., torch.Tensor], x: torch.Tensor, enabled: bool, *args: Any) -> torch.Tensor:
    """``fn(x, *args)``; with ``enabled`` (a backbone's ``with_cp``) and gradients flowing, its activations are
    recomputed in the backward pass instead of stored (activation checkpointing: less memory, one more forward).
    BatchNorm layers inside see the batch twice, so their running statistics move twice per step, as in mmcv."""
    if enabled and x.requires_grad:
        return checkpoint(fn, x, *args, use_reentrant=False)
    return fn(x, *args)


def basic_residual(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The original MMAction basic block (2D or 3D) before its last ReLU: ``bn2(conv2(relu(bn1(conv1(x))))) +
    shortcut(x)``; ``block`` holds ``conv1, bn1, conv2, bn2, relu`` and ``downsample`` (None: identity)."""
    out = block.relu(block.bn1(block.conv1(x)))
    out = block.bn2(block.conv2(out))
    return out + (x if block.downsample is None else block.downsample(x))


def bottleneck_residual(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The original MMAction bottleneck (2D or 3D) before its last ReLU: conv-bn-ReLU twice, ``bn3(conv3(.))``,
    plus ``shortcut(x)``; ``block`` holds ``conv1..3, bn1..3, relu`` and ``downsample`` (None: identity)."""
    out = block.relu(block.bn1(block.conv1(x)))
    out = block.relu(block.bn2(block.conv2(out)))
    out = block.bn3(block.conv3(out))
    return out + (x if block.downsample is None else block.downsample(x))


# Original 3D backbones (ResNet_I3D, SlowFast, R3D, InceptionV1_I3D, C3D, ResI3DLayer): weight init, 2D->3D
# inflation, pretrained loading.
def _nonlocal_ids(root: nn.Module) -> set[int]:
    return {id(sub) for m in root.modules() if isinstance(m, NonLocalModule) for sub in m.modules()}


def init_weights_3d(module: nn.Module) -> None:
    """mmcv's ``kaiming_init`` (fan_out, relu, normal) for convs and ``constant_init(1)`` for BNs.

    Non-local blocks keep their own init (zero BN after W, so a fresh block is the identity).
    """
    kaiming_init(module, (nn.Conv3d, nn.Conv2d), _BatchNorm, skip=_nonlocal_ids(module))
    for m in module.modules():
        if isinstance(m, NonLocalModule):
            m.init_weights()


def inflate_weight(weight_2d: torch.Tensor, shape_3d: Sequence[int]) -> torch.Tensor:
    """Repeat a 2D kernel ``(O, I, kh, kw)`` over ``kt`` frames and divide by ``kt``.

    A clip that is constant over time then gives the 2D response (the I3D "boring video" argument).
    Extra input channels of the 3D kernel (SlowFast lateral inputs) get zero weights.
    """
    out_c, in_c, kt = shape_3d[0], shape_3d[1], shape_3d[2]
    if weight_2d.shape[0] != out_c or weight_2d.shape[2:] != torch.Size(shape_3d[3:]) or weight_2d.shape[1] > in_c:
        raise ValueError(f'cannot inflate a 2D kernel {tuple(weight_2d.shape)} into a 3D kernel {tuple(shape_3d)}')
    if weight_2d.shape[1] < in_c:
        pad = weight_2d.new_zeros((out_c, in_c - weight_2d.shape[1]) + tuple(weight_2d.shape[2:]))
        weight_2d = torch.cat([weight_2d, pad], dim=1)
    return weight_2d.unsqueeze(2).expand(tuple(shape_3d)) / kt


def inflate_from_2d(module: nn.Module, state_2d: dict, source: str = '<2d weights>') -> list[str]:
    """Copy a 2D ResNet state dict into a 3D module with the same names (convs inflated, BNs copied).

    Returns the names of the 3D modules that received weights. Keys the 2D file lacks (non-local blocks,
    lateral convs) keep their initialisation; a 2D tensor of the wrong size raises with the key named.
    """
    loaded = []
    skip = _nonlocal_ids(module)
    for name, m in module.named_modules():
        if id(m) in skip:
            continue
        if isinstance(m, nn.Conv3d) and f'{name}.weight' in state_2d:
            w2d = state_2d[f'{name}.weight']
            try:
                m.weight.data.copy_(inflate_weight(w2d.to(m.weight.dtype), m.weight.shape))
            except ValueError as err:
                raise ValueError(f'{source}: key {name}.weight: {err}') from err
            if m.bias is not None and f'{name}.bias' in state_2d:
                m.bias.data.copy_(state_2d[f'{name}.bias'])
            loaded.append(name)
        elif isinstance(m, (nn.BatchNorm3d, nn.SyncBatchNorm)) and f'{name}.weight' in state_2d:
            for attr in ('weight', 'bias', 'running_mean', 'running_var'):
                value = state_2d[f'{name}.{attr}']
                if value.shape != getattr(m, attr).shape:
                    raise ValueError(f'{source}: key {name}.{attr} has shape {tuple(value.shape)}, the 3D model '
                                     f'expects {tuple(getattr(m, attr).shape)}')
                getattr(m, attr).data.copy_(value)
            loaded.append(name)
    return loaded


def load_pretrained(module: nn.Module, filename: str, inflate: bool, strict: bool = False) -> None:
    """Load ``pretrained`` weights into a backbone: inflate a 2D file, or load a 3D file by key name.

    A full recognizer checkpoint (keys ``backbone.*``) is accepted too: its backbone part is used.
    """
    state = get_state_dict(load_file(filename), filename)
    if any(k.startswith('backbone.') for k in state):
        state = {k[len('backbone.'):]: v for k, v in state.items() if k.startswith('backbone.')}
    if inflate:
        loaded = inflate_from_2d(module, state, source=filename)
        logging.getLogger('mmaction').info('%s: inflated %d 2D modules into %s', filename, len(loaded),
                                           type(module).__name__)
    else:
        load_state_dict(module, state, strict=strict, logger=logging.getLogger('mmaction'), source=filename)


# mmaction2 backbones (2D): train-mode switches and 2D-pretrained loading shared by the mmaction2-layout models
# (mmaction/models/mmaction2/backbones). Kept in one block; the 3D backbones append their own below it.

def apply_partial_bn(module: nn.Module) -> None:
    """TSN's partial BN: every ``BatchNorm2d`` except the first (the stem's) in eval mode with frozen affine
    parameters, because small video batches give poor statistics for the deeper layers."""
    norms = [m for m in module.modules() if isinstance(m, nn.BatchNorm2d)]
    set_train_modes(module, True, False, False, partial_bn=norms[1:])


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
    kaiming_init(module, nn.Conv2d, nn.BatchNorm2d)


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
    kaiming_init(module, nn.Conv3d, _BatchNorm)
    for norm in zero_norms:
        nn.init.zeros_(norm.weight)
        nn.init.zeros_(norm.bias)
