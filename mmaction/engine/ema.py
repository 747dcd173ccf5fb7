"""Exponential moving average of the model weights (mmengine's ``EMAHook`` / ``ExponentialMovingAverage``).

    ema = (1 - momentum) * ema + momentum * weights      every ``interval`` optimizer steps

The first update copies the weights. Buffers (BatchNorm statistics) are copied from the model at every update
unless ``update_buffers``, which averages them too. The trainer validates with the EMA weights and saves them in
the checkpoint under ``ema_state_dict`` (the key mmengine uses), so a resumed run continues the same average.
"""
from __future__ import annotations

import copy

import torch
import torch.nn as nn


class ModelEMA:
    def __init__(self, model: nn.Module, momentum: float = 0.0002, interval: int = 1, update_buffers: bool = False):
        if not 0.0 < momentum < 1.0:
            raise ValueError(f'EMA momentum must lie in (0, 1), got {momentum} (it is the weight of the NEW value: '
                             f'usually 1e-4..1e-3)')
        if not isinstance(interval, int) or interval < 1:
            raise ValueError(f'EMA interval must be a positive int, got {interval!r}')
        self.module = copy.deepcopy(model).eval().requires_grad_(False)
        self.momentum, self.interval, self.update_buffers = momentum, interval, update_buffers
        self.steps = 0

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
