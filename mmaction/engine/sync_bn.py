"""Real SyncBN: the one place that decides whether BatchNorm layers synchronise their statistics across ranks.

A config asks for SyncBN in any of three ways:

- ``norm_cfg=dict(type='SyncBN')`` in an mmaction2 model: mmcv builds ``nn.SyncBatchNorm`` layers;
- ``use_syncbn=True`` on an original MMAction backbone: the backbone keeps the flag as ``self.use_syncbn`` and
  builds plain BatchNorm (identical parameter names), its BatchNorm layers are the request;
- ``sync_bn = 'torch'`` at the top level of the config (mmengine's key): every BatchNorm of the model.

:func:`apply_sync_bn` (called by ``train_network`` before the model is wrapped in DDP) then does:

- multi-process training on CUDA (NCCL): the requested layers become ``nn.SyncBatchNorm``
  (``torch.nn.SyncBatchNorm.convert_sync_batchnorm``), one set of batch statistics over all ranks;
- multi-process training on CPU (gloo): torch's SyncBatchNorm only runs on GPU tensors, so the requested layers
  are (or stay) plain BatchNorm with per-rank statistics, and ONE warning says so and why. This is a warning, not
  an error, so that a GPU config can be smoke-tested on CPU; the numbers then differ from a GPU run's;
- a single process: nothing to synchronise, ``nn.SyncBatchNorm`` layers behave as BatchNorm (left as they are).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm


class BatchNormXd(_BatchNorm):
    """Plain BatchNorm for inputs of any rank ``(N, C, ...)``: what a ``SyncBatchNorm`` layer becomes where it
    cannot synchronise (same parameters and buffers, same state-dict keys)."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f'BatchNorm expects (N, C, ...) input, got {input.dim()}D')


@dataclass
class SyncBNPlan:
    """What :func:`apply_sync_bn` does: ``action`` is ``'convert'`` (to SyncBatchNorm), ``'revert'`` (SyncBatchNorm
    to BatchNorm, per-rank statistics) or ``'none'``; ``modules``: the qualified names of the layers concerned;
    ``message``: the log line (a warning for ``'revert'``)."""
    action: str
    modules: list[str] = field(default_factory=list)
    message: str = ''


def requested_sync_bn(model: nn.Module, whole_model: bool = False) -> list[str]:
    """Qualified names of the BatchNorm layers the model (or ``sync_bn='torch'``: every BatchNorm) asks to
    synchronise: ``nn.SyncBatchNorm`` layers and the BatchNorm layers under a module with ``use_syncbn=True``."""
    flagged = [name for name, module in model.named_modules() if getattr(module, 'use_syncbn', False) is True]
    names = []
    for name, module in model.named_modules():
        if not isinstance(module, _BatchNorm):
            continue
        under_flag = any(name == f or name.startswith(f'{f}.') or f == '' for f in flagged)
        if whole_model or isinstance(module, nn.SyncBatchNorm) or under_flag:
            names.append(name)
    return names


def plan_sync_bn(model: nn.Module, distributed: bool, device_type: str, backend: str | None = None,
                 whole_model: bool = False) -> SyncBNPlan:
    """The decision of :func:`apply_sync_bn` (module docstring), without touching the model or needing a process
    group: ``device_type`` is the training device (``'cuda'``, ``'cpu'``...), ``backend`` the process group's."""
    names = requested_sync_bn(model, whole_model)
    if not names:
        return SyncBNPlan('none')
    if not distributed:
        return SyncBNPlan('none', names, f'SyncBN requested for {len(names)} BatchNorm layer(s); single-process '
                                         f'training: nothing to synchronise, they act as BatchNorm')
    if device_type == 'cuda' and backend in (None, 'nccl'):
        return SyncBNPlan('convert', names, f'SyncBN: {len(names)} BatchNorm layer(s) synchronise their batch '
                                            f'statistics across ranks (torch.nn.SyncBatchNorm)')
    why = (f'training runs on {device_type} with the {backend or "gloo"} backend, and torch.nn.SyncBatchNorm only '
           f'synchronises CUDA tensors (NCCL)')
    return SyncBNPlan('revert', names, f'SyncBN requested (norm_cfg=dict(type=\'SyncBN\'), use_syncbn=True or '
                                       f'sync_bn=\'torch\') for {len(names)} BatchNorm layer(s), e.g. {names[0]}, '
                                       f'but {why}: they run as plain BatchNorm with per-rank statistics (the batch '
                                       f'statistics of each process, not of the global batch)')


def _replace(model: nn.Module, names: set[str], make: Any) -> nn.Module:
    if '' in names:
        return make(model)
    for name in sorted(names, key=lambda n: n.count('.'), reverse=True):
        parent_name, _, child = name.rpartition('.')
        parent = model.get_submodule(parent_name)
        setattr(parent, child, make(getattr(parent, child)))
    return model


def _to_plain_bn(module: nn.Module) -> nn.Module:
    if not isinstance(module, nn.SyncBatchNorm):
        return module
    plain = BatchNormXd(module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats)
    plain.load_state_dict(module.state_dict())
    plain.train(module.training)
    for param, new in zip(module.parameters(), plain.parameters()):
        new.requires_grad_(param.requires_grad)
    return plain.to(next(module.parameters(), torch.empty(0)).device)


def apply_sync_bn(model: nn.Module, distributed: bool, device: torch.device, logger: logging.Logger | None = None,
                  whole_model: bool = False) -> nn.Module:
    """Carry out :func:`plan_sync_bn` on ``model`` (before DDP wraps it); returns the model (the same object
    unless the model itself is a BatchNorm). Logs the decision once: info when it converts, a warning when it
    falls back to per-rank BatchNorm."""
    logger = logger or logging.getLogger('mmaction')
    backend = None
    if distributed and torch.distributed.is_available() and torch.distributed.is_initialized():
        backend = torch.distributed.get_backend()
    plan = plan_sync_bn(model, distributed, device.type, backend, whole_model)
    if plan.action == 'convert':
        convert = nn.SyncBatchNorm.convert_sync_batchnorm
        model = _replace(model, set(plan.modules), lambda m: m if isinstance(m, nn.SyncBatchNorm) else convert(m))
        logger.info(plan.message)
    elif plan.action == 'revert':
        model = _replace(model, set(plan.modules), _to_plain_bn)
        logger.warning(plan.message)
    elif plan.message:
        logger.info(plan.message)
    return model


def sync_bn_whole_model(cfg: Any) -> bool:
    """mmengine's top-level ``sync_bn`` key: ``'torch'`` converts every BatchNorm; None/absent: only the layers the
    model asks for."""
    value = cfg.get('sync_bn')
    if value in (None, False):
        return False
    if value == 'torch' or value is True:
        return True
    from mmaction.registry import ConfigError
    raise ConfigError(f"config 'sync_bn' must be 'torch' (every BatchNorm becomes SyncBatchNorm in multi-GPU "
                      f"training) or None, got {value!r}")
