"""Exponential moving average of the model weights (mmengine's ``EMAHook`` / ``ExponentialMovingAverage``).

    ema = (1 - momentum) * ema + momentum * weights      every ``interval``-th update

The first update copies the weights. Buffers (BatchNorm statistics) are copied from the model at every update
unless ``update_buffers``, which averages them too. Before ``begin_iter`` / ``begin_epoch`` the average only
follows the model (every tensor copied, the update count stays 0).

Config (either spelling; the trainer updates the average after every optimizer step, validates with the EMA
weights and saves them):

    ema = dict(momentum=0.0002, interval=1, update_buffers=False, begin_iter=0, begin_epoch=0)
    custom_hooks = [dict(type='EMAHook', momentum=0.0002, ...)]          # mmaction2 / mmengine

Checkpoints use mmengine's layout, so the files are interchangeable with mmaction2's: ``state_dict`` holds the
EMA weights (what the test tools, ``load_from`` and deployment load), and ``ema_state_dict`` holds
``{'steps': tensor, 'module.<key>': the trained (non-averaged) weights}``; resuming swaps them back.
"""
from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn as nn

from mmaction.registry import ConfigError

_EMA_ARGS = ('momentum', 'interval', 'update_buffers', 'begin_iter', 'begin_epoch')


class ModelEMA:
    def __init__(self, model: nn.Module, momentum: float = 0.0002, interval: int = 1, update_buffers: bool = False,
                 begin_iter: int = 0, begin_epoch: int = 0):
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0.0 < momentum < 1.0:
            raise ValueError(f'EMA momentum must lie in (0, 1), got {momentum} (it is the weight of the NEW value: '
                             f'usually 1e-4..1e-3)')
        if not isinstance(interval, int) or isinstance(interval, bool) or interval < 1:
            raise ValueError(f'EMA interval must be a positive int, got {interval!r}')
        for name, value in (('begin_iter', begin_iter), ('begin_epoch', begin_epoch)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f'EMA {name} must be an int >= 0, got {value!r}')
        if begin_iter and begin_epoch:
            raise ValueError('EMA: set begin_iter or begin_epoch, not both')
        self.module = copy.deepcopy(model).eval().requires_grad_(False)
        self.momentum, self.interval, self.update_buffers = float(momentum), interval, bool(update_buffers)
        self.begin_iter, self.begin_epoch = begin_iter, begin_epoch
        self.steps = 0

    def started(self, epoch: int, it: int) -> bool:
        """Whether the average runs after the iteration ``it`` (0-based, global) of epoch ``epoch`` (0-based)."""
        if self.begin_epoch > 0:
            return epoch + 1 >= self.begin_epoch
        return it + 1 >= self.begin_iter

    @torch.no_grad()
    def follow(self, model: nn.Module) -> None:
        """Copy every tensor of ``model`` (before the average starts, and when a run has no EMA state to resume)."""
        source = model.state_dict()
        for key, value in self.module.state_dict().items():
            value.copy_(source[key])

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Call after every optimizer step with the trained model (unwrapped from DDP)."""
        source = model.state_dict() if self.update_buffers else dict(model.named_parameters())
        averaged = self.module.state_dict() if self.update_buffers else dict(self.module.named_parameters())
        if self.steps == 0:
            for key, value in averaged.items():
                value.copy_(source[key])
        elif self.steps % self.interval == 0:
            for key, value in averaged.items():
                if value.dtype.is_floating_point:
                    value.lerp_(source[key].to(value.device), self.momentum)
        if not self.update_buffers:
            for ema_buffer, buffer in zip(self.module.buffers(), model.buffers()):
                ema_buffer.copy_(buffer)
        self.steps += 1

    def state_dict(self) -> dict:
        return {'steps': self.steps, 'state_dict': self.module.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.steps = int(state['steps'])
        self.module.load_state_dict(state['state_dict'])

    # -- checkpoints in mmengine's layout ------------------------------------------------------------------
    def checkpoint_entry(self, model: nn.Module) -> dict:
        """``ema_state_dict`` of a checkpoint whose ``state_dict`` holds the EMA weights: the update count and the
        trained weights of ``model`` under ``module.<key>`` (CPU tensors)."""
        entry: dict[str, Any] = {'steps': torch.tensor(self.steps, dtype=torch.int64)}
        entry.update({f'module.{k}': v.detach().cpu().clone() for k, v in model.state_dict().items()})
        return entry


def split_ema_checkpoint(checkpoint: dict, source: str) -> tuple[dict, dict | None, int]:
    """``(trained weights, EMA weights or None, update count)`` of a checkpoint: in mmengine's layout the
    ``state_dict`` is the average and ``ema_state_dict`` the trained weights; without ``ema_state_dict`` the
    ``state_dict`` is the trained weights."""
    state = checkpoint['state_dict']
    ema_entry = checkpoint.get('ema_state_dict')
    if ema_entry is None:
        return state, None, 0
    if not isinstance(ema_entry, dict) or 'steps' not in ema_entry:
        raise ValueError(f"{source}: 'ema_state_dict' must be mmengine's dict(steps=..., module.<key>=...)")
    trained = dict(state)
    trained.update({k[len('module.'):]: v for k, v in ema_entry.items() if k.startswith('module.')})
    return trained, state, int(ema_entry['steps'])


def ema_config(cfg: Any) -> tuple[dict, str] | None:
    """The EMA arguments of a config (``ema=dict(...)`` or an ``EMAHook`` in ``custom_hooks``) and the config key
    they came from; ``None`` when the config asks for no EMA. Errors name the key."""
    found: list[tuple[dict, str]] = []
    ema = cfg.get('ema')
    if ema is not None and ema is not False:
        if ema is True:
            ema = {}
        if not isinstance(ema, dict):
            raise ConfigError(f"config 'ema' must be a dict like dict(momentum=0.0002, interval=1), got {ema!r}")
        found.append((dict(ema), 'ema'))
    hooks = cfg.get('custom_hooks') or []
    if not isinstance(hooks, (list, tuple)):
        raise ConfigError(f"config 'custom_hooks' must be a list of dicts, got {type(hooks).__name__}")
    for i, hook in enumerate(hooks):
        if isinstance(hook, dict) and hook.get('type') == 'EMAHook':
            args = dict(hook)
            args.pop('type')
            ema_type = args.pop('ema_type', 'ExponentialMovingAverage')
            if ema_type != 'ExponentialMovingAverage':
                raise ConfigError(f"config 'custom_hooks[{i}].ema_type': only 'ExponentialMovingAverage' is "
                                  f"supported, got {ema_type!r}")
            args.pop('strict_load', None)  # the EMA state is always loaded strictly (same model)
            args.pop('priority', None)
            found.append((args, f'custom_hooks[{i}]'))
    if not found:
        return None
    if len(found) > 1:
        raise ConfigError(f"config: EMA is set twice ({', '.join(k for _, k in found)}); keep one")
    args, key = found[0]
    unknown = sorted(set(args) - set(_EMA_ARGS))
    if unknown:
        raise ConfigError(f"config '{key}': unknown EMA keys {unknown} (valid: {list(_EMA_ARGS)})")
    return args, key


def build_ema(model: nn.Module, cfg: Any) -> ModelEMA | None:
    """:class:`ModelEMA` of ``model`` (unwrapped, already on its device) as the config asks, or ``None``."""
    found = ema_config(cfg)
    if found is None:
        return None
    args, key = found
    try:
        return ModelEMA(model, **args)
    except ValueError as err:
        raise ConfigError(f"config '{key}': {err}") from None
