"""Optimizer from the ``optimizer`` config key: any ``torch.optim`` class by name (``dict(type='SGD', lr=...)``)."""
from __future__ import annotations

import inspect

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


def build_optimizer(model: nn.Module, optimizer_cfg: dict) -> torch.optim.Optimizer:
    """Build the optimizer over the parameters of ``model`` that require gradients.

    Frozen parameters (``frozen_stages``, ``partial_bn``) are left out so that weight decay and momentum never
    move them. Unknown types and keywords fail with the config key and suggestions.
    """
    if not isinstance(optimizer_cfg, dict):
        raise ConfigError(f"config 'optimizer' must be a dict like dict(type='SGD', lr=0.01), "
                          f"got {type(optimizer_cfg).__name__}: {optimizer_cfg!r}")
    cfg = dict(optimizer_cfg)
    if 'lr' not in cfg:
        raise ConfigError("config 'optimizer' has no 'lr' key (the base learning rate)")
    lr = cfg['lr']
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or lr < 0:
        raise ConfigError(f"config 'optimizer.lr' must be a non-negative number, got {lr!r}")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ConfigError('the model has no trainable parameters (all frozen?); nothing to optimize')
    return build_from_cfg(cfg, OPTIMIZERS, dict(params=params), where='optimizer')
