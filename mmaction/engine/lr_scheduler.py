"""Learning-rate policies of the ``lr_config`` key, with mmcv's LrUpdaterHook semantics.

The learning rate is a pure function of ``(epoch, global iteration)``, so resuming at a saved epoch/iter
restores the schedule exactly. With ``by_epoch=True`` (the default) the regular policy changes only at epoch
boundaries (``epoch`` is 0-based: the first epoch trains at ``progress=0``); warmup is applied per iteration
while the global iteration is below ``warmup_iters``:

- linear:   ``lr = regular * (1 - (1 - it / warmup_iters) * (1 - warmup_ratio))``
- constant: ``lr = regular * warmup_ratio``
- exp:      ``lr = regular * warmup_ratio ** (1 - it / warmup_iters)``

``warmup_by_epoch=True`` reads ``warmup_iters`` as a number of epochs (times the iterations per epoch).
"""
from __future__ import annotations

import difflib
import math
from typing import Any, Callable, Sequence

import torch

from mmaction.registry import ConfigError

_WARMUPS = ('linear', 'constant', 'exp')


def _fail(key: str, message: str) -> ConfigError:
    return ConfigError(f"config 'lr_config.{key}': {message}")


class LrScheduler:
    """Sets ``param_group['lr']`` of an optimizer before every training iteration.

    Args:
        optimizer: the optimizer; each group's starting lr (``initial_lr``) is its base lr.
        policy: 'step', 'cosine' ('CosineAnnealing'), 'fixed', 'poly', 'exp', 'inv' (case-insensitive).
        by_epoch: policy progress counted in epochs (True) or iterations.
        warmup: None, 'linear', 'constant' or 'exp'.
        kwargs: policy arguments: step (int or list), gamma, target_lr / min_lr / min_lr_ratio, power, min_lr.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, policy: str = 'fixed', by_epoch: bool = True,
                 warmup: str | None = None, warmup_iters: int = 0, warmup_ratio: float = 0.1,
                 warmup_by_epoch: bool = False, **kwargs: Any):
        self.optimizer = optimizer
        if not isinstance(policy, str):
            raise _fail('policy', f'must be a string, got {policy!r}')
        name = policy.lower().replace('_', '')
        name = {'cosineannealing': 'cosine', 'cosine': 'cosine'}.get(name, name)
        policies: dict[str, Callable[..., float]] = {
            'fixed': self._fixed, 'step': self._step, 'cosine': self._cosine, 'poly': self._poly,
            'exp': self._exp, 'inv': self._inv}
        if name not in policies:
            near = difflib.get_close_matches(name, list(policies), n=2, cutoff=0.4)
            hint = f"; did you mean {', '.join(repr(n) for n in near)}?" if near else ''
            raise _fail('policy', f"unknown policy '{policy}'{hint} (valid: {sorted(policies)})")
        self.policy = name
        self._regular = policies[name]
        self.by_epoch = bool(by_epoch)
        self.kwargs = kwargs
        self._check_policy_args()
        if warmup is not None:
            if warmup not in _WARMUPS:
                raise _fail('warmup', f"must be one of {_WARMUPS} or None, got {warmup!r}")
            if not isinstance(warmup_iters, int) or isinstance(warmup_iters, bool) or warmup_iters <= 0:
                raise _fail('warmup_iters', f'must be a positive int when warmup is set, got {warmup_iters!r}')
            if not 0 < float(warmup_ratio) <= 1.0:
                raise _fail('warmup_ratio', f'must be in (0, 1], got {warmup_ratio!r}')
        self.warmup = warmup
        self.warmup_iters = warmup_iters
        self.warmup_ratio = float(warmup_ratio)
        self.warmup_by_epoch = bool(warmup_by_epoch)
        for group in optimizer.param_groups:
            group.setdefault('initial_lr', group['lr'])
        self.base_lrs = [g['initial_lr'] for g in optimizer.param_groups]
        self.max_epochs = 1
        self.epoch_len = 1

    # -- configuration checks -------------------------------------------------------------------------------
    def _check_policy_args(self) -> None:
        allowed = {'fixed': set(), 'step': {'step', 'gamma'}, 'cosine': {'target_lr', 'min_lr', 'min_lr_ratio'},
                   'poly': {'power', 'min_lr'}, 'exp': {'gamma'}, 'inv': {'gamma', 'power'}}[self.policy]
        unknown = sorted(set(self.kwargs) - allowed)
        if unknown:
            raise _fail(unknown[0], f"not an argument of policy '{self.policy}' (valid: {sorted(allowed)})")
        if self.policy == 'step':
            step = self.kwargs.get('step')
            ok = (isinstance(step, int) and not isinstance(step, bool) and step > 0) or (
                isinstance(step, (list, tuple)) and len(step) > 0
                and all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in step)
                and list(step) == sorted(step))
            if not ok:
                raise _fail('step', f'must be a positive int or an increasing list of ints, got {step!r}')
        if self.policy in ('exp', 'inv') and 'gamma' not in self.kwargs:
            raise _fail('gamma', f"policy '{self.policy}' needs gamma")
        if self.policy == 'cosine' and sum(k in self.kwargs for k in ('target_lr', 'min_lr', 'min_lr_ratio')) > 1:
            raise _fail('target_lr', 'give only one of target_lr, min_lr, min_lr_ratio')

    def setup(self, max_epochs: int, epoch_len: int) -> None:
        """Tell the schedule the run length (needed by cosine/poly and by epoch-based warmup)."""
        if epoch_len <= 0:
            raise ValueError('the training data loader is empty: no iterations per epoch')
        self.max_epochs = max_epochs
        self.epoch_len = epoch_len

    @property
    def total_warmup_iters(self) -> int:
        if self.warmup is None:
            return 0
        return self.warmup_iters * self.epoch_len if self.warmup_by_epoch else self.warmup_iters

    # -- regular policies: base lr, progress, max progress -> lr ----------------------------------------------
    def _fixed(self, base: float, progress: int, max_progress: int) -> float:
        return base

    def _step(self, base: float, progress: int, max_progress: int) -> float:
        step = self.kwargs['step']
        gamma = self.kwargs.get('gamma', 0.1)
        if isinstance(step, int):
            return base * gamma ** (progress // step)
        exp = sum(1 for s in step if progress >= s)
        return base * gamma ** exp

    def _cosine(self, base: float, progress: int, max_progress: int) -> float:
        if 'min_lr_ratio' in self.kwargs:
            target = base * self.kwargs['min_lr_ratio']
        else:
            target = self.kwargs.get('target_lr', self.kwargs.get('min_lr', 0.0))
        factor = progress / max_progress
        return target + 0.5 * (base - target) * (1 + math.cos(math.pi * factor))

    def _poly(self, base: float, progress: int, max_progress: int) -> float:
        min_lr = self.kwargs.get('min_lr', 0.0)
        coeff = (1 - progress / max_progress) ** self.kwargs.get('power', 1.0)
        return (base - min_lr) * coeff + min_lr

    def _exp(self, base: float, progress: int, max_progress: int) -> float:
        return base * self.kwargs['gamma'] ** progress

    def _inv(self, base: float, progress: int, max_progress: int) -> float:
        return base * (1 + self.kwargs['gamma'] * progress) ** (-self.kwargs.get('power', 1.0))

    # -- public ---------------------------------------------------------------------------------------------
    def regular_lr(self, base: float, epoch: int, it: int) -> float:
        if self.by_epoch:
            return self._regular(base, epoch, self.max_epochs)
        return self._regular(base, it, self.max_epochs * self.epoch_len)

    def lr_at(self, epoch: int, it: int) -> list[float]:
        """The lr of every param group for the iteration with global index ``it`` (0-based) in ``epoch``."""
        lrs = [self.regular_lr(base, epoch, it) for base in self.base_lrs]
        warm = self.total_warmup_iters
        if self.warmup is None or it >= warm:
            return lrs
        if self.warmup == 'linear':
            k = (1 - it / warm) * (1 - self.warmup_ratio)
            return [lr * (1 - k) for lr in lrs]
        if self.warmup == 'constant':
            return [lr * self.warmup_ratio for lr in lrs]
        return [lr * self.warmup_ratio ** (1 - it / warm) for lr in lrs]

    def step(self, epoch: int, it: int) -> list[float]:
        """Set the optimizer's lr for the coming iteration and return it."""
        lrs = self.lr_at(epoch, it)
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group['lr'] = lr
        return lrs


def build_lr_scheduler(optimizer: torch.optim.Optimizer, lr_config: dict | None) -> LrScheduler:
    """``LrScheduler`` from the ``lr_config`` dict (None -> fixed lr)."""
    if lr_config is None:
        return LrScheduler(optimizer, 'fixed')
    if not isinstance(lr_config, dict):
        raise ConfigError(f"config 'lr_config' must be a dict, got {type(lr_config).__name__}")
    cfg = dict(lr_config)
    if 'policy' not in cfg:
        raise _fail('policy', "missing (e.g. lr_config=dict(policy='step', step=[30, 60]))")
    try:
        return LrScheduler(optimizer, **cfg)
    except TypeError as err:
        raise ConfigError(f"config 'lr_config': {err}") from err


def lr_schedule(lr_config: dict, base_lr: float, max_epochs: int, epoch_len: int) -> list[Sequence[float]]:
    """The lr of every iteration of a whole run (for plots and tests)."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    sched = build_lr_scheduler(opt, lr_config)
    sched.setup(max_epochs, epoch_len)
    return [sched.lr_at(e, e * epoch_len + i)[0] for e in range(max_epochs) for i in range(epoch_len)]
