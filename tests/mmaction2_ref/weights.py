"""Deterministic weights and inputs that both this project and the mmaction2 peer venv can build bit-for-bit.

Imports torch only, so the same file runs in the peer venv (``make_refs.py``) and in our tests (``compare.py``).
Values come from ``sin`` of an index, scaled by the tensor's fan-in: no RNG, nothing that differs across machines
or torch builds beyond last-bit libm rounding.
"""
from __future__ import annotations

import math
import zlib

import torch


def _wave(numel: int, name: str) -> torch.Tensor:
    phase = zlib.crc32(name.encode()) % 997
    return torch.sin(torch.arange(numel, dtype=torch.float64) * 0.7 + phase)


@torch.no_grad()
def fill_deterministic(model: torch.nn.Module) -> None:
    """Overwrite every floating state-dict entry: weights ~ U-shaped wave / sqrt(fan_in), BN stats in range."""
    for name, tensor in model.state_dict().items():
        if not tensor.is_floating_point():
            continue
        wave = _wave(tensor.numel(), name)
        if name.endswith('running_var'):
            values = 1.0 + 0.5 * wave.abs()
        elif name.endswith('running_mean'):
            values = 0.1 * wave
        elif tensor.dim() >= 2:
            fan_in = tensor.numel() // tensor.shape[0]
            values = wave * (1.5 / math.sqrt(fan_in))
        elif name.endswith('bias'):
            values = 0.05 * wave
        else:  # norm weights, scalars, 1-d embeddings
            values = 1.0 + 0.1 * wave
        tensor.copy_(values.reshape(tensor.shape).to(tensor.dtype))


def deterministic_input(shape: tuple[int, ...], name: str = 'input') -> torch.Tensor:
    """A float32 tensor of ``shape`` with values in [-1, 1]."""
    n = math.prod(shape)
    return _wave(n, name).reshape(shape).to(torch.float32)


def flatten_outputs(out) -> list[torch.Tensor]:
    """Tensors of a (nested) tuple/list/dict output, in a fixed order (dict keys sorted)."""
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, dict):
        return [t for key in sorted(out) for t in flatten_outputs(out[key])]
    if isinstance(out, (list, tuple)):
        return [t for item in out for t in flatten_outputs(item)]
    return []
