"""Tolerances of value tests, per device and dtype: the same test runs on the CPU (CI) and on a GPU (docs/gpu.md).

``tolerance(device, dtype)`` gives ``rtol``/``atol`` for ``np.testing.assert_allclose`` or
``torch.testing.assert_close`` when a result computed on ``device`` in ``dtype`` is compared with a float32 CPU
reference (or with the same computation batched differently on ``device``). Values are of order 1 (scores,
probabilities); ``atol`` covers the ones near zero. Why each figure:

- CPU float32: the same kernels, only the summation order changes with the batch layout: a few ulp (1.2e-7) times
  the depth of a small network -> ``rtol=1e-5``.
- CUDA float32 without TF32: cuDNN/cuBLAS pick other algorithms (Winograd, FFT, split-K) than the CPU; their
  rounding differs by ~1e-6 per layer -> ``rtol=1e-4``.
- CUDA float32 with TF32 (the tools' default, ``mmaction.utils.device.set_tf32``): operands keep 10 mantissa bits,
  unit roundoff 2^-11 = 4.9e-4; measured 4.5e-4 relative on the test tool's scores (H200, issue 20) -> ``rtol=2e-3``.
- float16 (``--amp`` on CUDA): unit roundoff 2^-11 on every stored activation, not only on products -> ``rtol=1e-2``.
- bfloat16 (``--amp`` on the CPU, bf16 autocast on CUDA): 8 mantissa bits, unit roundoff 2^-8 = 3.9e-3 ->
  ``rtol=5e-2``.
"""
from __future__ import annotations

import torch

from mmaction.utils.device import tf32_enabled

_FLOAT32_CPU = dict(rtol=1e-5, atol=1e-6)
_FLOAT32_CUDA = dict(rtol=1e-4, atol=1e-5)
_TF32 = dict(rtol=2e-3, atol=1e-4)
_HALF = {torch.float16: dict(rtol=1e-2, atol=1e-3), torch.bfloat16: dict(rtol=5e-2, atol=1e-2)}


def tolerance(device: torch.device | str, dtype: torch.dtype = torch.float32,
              tf32: bool | None = None) -> dict[str, float]:
    """``dict(rtol=..., atol=...)`` for a ``dtype`` result computed on ``device``. ``tf32``: whether TF32 was on
    where it was computed (another process: a tool run by a test); default: as torch in this process is set now."""
    device = torch.device(device)
    if dtype in _HALF:
        return dict(_HALF[dtype])
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f'no tolerance for {dtype}: integer and boolean results are compared exactly')
    if device.type == 'cpu':
        return dict(_FLOAT32_CPU)
    if device.type == 'cuda' and dtype == torch.float32 and (tf32_enabled() if tf32 is None else tf32):
        return dict(_TF32)
    return dict(_FLOAT32_CUDA)
