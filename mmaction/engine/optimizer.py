"""Optimizer from the ``optimizer`` config key: any ``torch.optim`` class by name (``dict(type='SGD', lr=...)``),
with mmaction2's per-parameter rules.

``paramwise_cfg`` follows mmengine's ``DefaultOptimWrapperConstructor``: ``custom_keys`` (the longest key found in a
parameter's name sets its ``lr_mult``/``decay_mult``; other rules are then skipped), ``bias_lr_mult``,
``norm_decay_mult`` (BatchNorm/GroupNorm/LayerNorm/InstanceNorm parameters), ``bias_decay_mult``,
``dwconv_decay_mult``, ``flat_decay_mult`` (1-d parameters), ``bypass_duplicate``. With
``constructor='LearningRateDecayOptimizerConstructor'`` the ``paramwise_cfg`` is ``dict(num_layers, decay_rate,
decay_type='layer_wise')``: ViT/MViT parameters are grouped by depth (embeddings 0, block i -> i + 1, the rest
num_layers + 1) and scaled by ``decay_rate ** (num_layers - layer_id + 1)``; 1-d parameters and biases get no
weight decay.
"""
from __future__ import annotations

import inspect
from typing import Any

import torch
import torch.nn as nn

from mmaction.registry import OPTIMIZERS, ConfigError, build_from_cfg


def register_torch_optimizers() -> list[str]:
    """Register every ``torch.optim.Optimizer`` subclass under its class name (once)."""
    names = []
    for name in dir(torch.optim):
        obj = getattr(torch.optim, name)
        if inspect.isclass(obj) and issubclass(obj, torch.optim.Optimizer) and obj is not torch.optim.Optimizer:
            if OPTIMIZERS.get(name) is None:
                OPTIMIZERS.register_module(name=name, module=obj)
            names.append(name)
    return names


register_torch_optimizers()


def _paramwise_groups(model: nn.Module, base_lr: float, base_wd: float | None, cfg: dict) -> list[dict]:
    """One group per trainable parameter with the lr / weight decay mmengine's default constructor gives it."""
    known = {'custom_keys', 'bias_lr_mult', 'bias_decay_mult', 'norm_decay_mult', 'dwconv_decay_mult',
             'flat_decay_mult', 'bypass_duplicate', 'dcn_offset_lr_mult'}
    unknown = set(cfg) - known
    if unknown:
        raise ConfigError(f"config 'paramwise_cfg' has unknown keys {sorted(unknown)} (known: {sorted(known)})")
    custom = cfg.get('custom_keys', {})
    keys = sorted(sorted(custom), key=len, reverse=True)
    norm_types = (nn.modules.batchnorm._BatchNorm, nn.modules.instancenorm._InstanceNorm, nn.GroupNorm, nn.LayerNorm)
    groups: list[dict] = []
    seen: set[int] = set()
    for prefix, module in model.named_modules():
        is_norm = isinstance(module, norm_types)
        is_dwconv = isinstance(module, nn.Conv2d) and module.in_channels == module.groups
        for name, param in module.named_parameters(recurse=False):
            if id(param) in seen and cfg.get('bypass_duplicate', False):
                continue
            seen.add(id(param))
            if not param.requires_grad:
                continue
            group: dict[str, Any] = {'params': [param]}
            full = f'{prefix}.{name}' if prefix else name
            key = next((k for k in keys if k in full), None)
            if key is not None:
                group['lr'] = base_lr * custom[key].get('lr_mult', 1.0)
                if base_wd is not None:
                    group['weight_decay'] = base_wd * custom[key].get('decay_mult', 1.0)
                group.update({k: v for k, v in custom[key].items() if k not in ('lr_mult', 'decay_mult')})
            else:
                if name == 'bias' and not is_norm and cfg.get('bias_lr_mult') is not None:
                    group['lr'] = base_lr * cfg['bias_lr_mult']
                if base_wd is not None:
                    mult = None
                    if is_norm:
                        mult = cfg.get('norm_decay_mult')
                    elif name == 'bias':
                        mult = cfg.get('bias_decay_mult')
                    elif is_dwconv:
                        mult = cfg.get('dwconv_decay_mult')
                    elif param.ndim == 1:
                        mult = cfg.get('flat_decay_mult')
                    if mult is not None:
                        group['weight_decay'] = base_wd * mult
            groups.append(group)
    return groups


def _layer_id(name: str, num_layers: int) -> int:
    if name in ('backbone.cls_token', 'backbone.mask_token', 'backbone.pos_embed') or \
            name.startswith('backbone.patch_embed'):
        return 0
    if name.startswith('backbone.blocks'):
        return int(name.split('.')[2]) + 1
    return num_layers + 1


def _layer_decay_groups(model: nn.Module, base_lr: float, base_wd: float, cfg: dict) -> list[dict]:
    """mmaction2's ``LearningRateDecayOptimizerConstructor`` (layer-wise decay for VisionTransformer and MViT)."""
    missing = {'num_layers', 'decay_rate'} - set(cfg)
    if missing:
        raise ConfigError(f"config 'paramwise_cfg' of LearningRateDecayOptimizerConstructor needs {sorted(missing)}")
    decay_type = cfg.get('decay_type', 'layer_wise')
    if decay_type != 'layer_wise':
        raise ConfigError(f"config 'paramwise_cfg.decay_type': only 'layer_wise' is supported, got '{decay_type}'")
    backbone = getattr(model, 'backbone', None)
    if type(backbone).__name__ not in ('VisionTransformer', 'MViT'):
        raise ConfigError(f'LearningRateDecayOptimizerConstructor supports VisionTransformer and MViT backbones, '
                          f'not {type(backbone).__name__}')
    if any(isinstance(m, nn.modules.batchnorm._NormBase) for m in model.modules()):
        raise ConfigError('LearningRateDecayOptimizerConstructor: BatchNorm layers are not supported with layer decay')
    num_layers, rate = cfg['num_layers'], cfg['decay_rate']
    groups: dict[str, dict] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        no_decay = param.ndim == 1 or name.endswith('.bias')
        layer = _layer_id(name, num_layers)
        group_name = f"layer_{layer}_{'no_decay' if no_decay else 'decay'}"
        if group_name not in groups:
            scale = rate ** (num_layers - layer + 1)
            groups[group_name] = dict(params=[], weight_decay=0.0 if no_decay else base_wd, lr=scale * base_lr,
                                      lr_scale=scale, group_name=group_name)
        groups[group_name]['params'].append(param)
    return list(groups.values())


def build_optimizer(model: nn.Module, optimizer_cfg: dict, paramwise_cfg: dict | None = None,
                    constructor: str | None = None) -> torch.optim.Optimizer:
    """Build the optimizer over the parameters of ``model`` that require gradients.

    Frozen parameters (``frozen_stages``, ``partial_bn``) are left out so that weight decay and momentum never
    move them. ``paramwise_cfg`` / ``constructor`` (also accepted as keys of ``optimizer_cfg``) set per-parameter
    rules as described in the module docstring. Unknown types and keywords fail with the config key and suggestions.
    """
    if not isinstance(optimizer_cfg, dict):
        raise ConfigError(f"config 'optimizer' must be a dict like dict(type='SGD', lr=0.01), "
                          f"got {type(optimizer_cfg).__name__}: {optimizer_cfg!r}")
    cfg = dict(optimizer_cfg)
    paramwise_cfg = cfg.pop('paramwise_cfg', None) if paramwise_cfg is None else paramwise_cfg
    constructor = cfg.pop('constructor', None) if constructor is None else constructor
    if 'lr' not in cfg:
        raise ConfigError("config 'optimizer' has no 'lr' key (the base learning rate)")
    lr = cfg['lr']
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or lr < 0:
        raise ConfigError(f"config 'optimizer.lr' must be a non-negative number, got {lr!r}")
    params: list[Any] = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ConfigError('the model has no trainable parameters (all frozen?); nothing to optimize')
    if constructor not in (None, 'DefaultOptimWrapperConstructor', 'LearningRateDecayOptimizerConstructor'):
        raise ConfigError(f"config 'constructor': '{constructor}' is not supported (known: "
                          f"DefaultOptimWrapperConstructor, LearningRateDecayOptimizerConstructor)")
    if constructor == 'LearningRateDecayOptimizerConstructor':
        params = _layer_decay_groups(model, lr, cfg.get('weight_decay', 0.0), paramwise_cfg or {})
    elif paramwise_cfg:
        params = _paramwise_groups(model, lr, cfg.get('weight_decay'), paramwise_cfg)
    return build_from_cfg(cfg, OPTIMIZERS, dict(params=params), where='optimizer')
