"""Moving batches to a device: the one helper every training, test and inference loop uses."""
from __future__ import annotations

from typing import Any

import torch


def to_device(data: Any, device: torch.device | str) -> Any:
    """``data`` with every tensor moved to ``device``, at any depth of dicts, lists and tuples.

    Collated batches nest tensors: AVA multi-view test batches hold a list (key-frames) of lists (views), proposals
    and boxes are per-sample lists; a tensor left behind fails later as "Input type (torch.FloatTensor) and weight
    type (torch.cuda.FloatTensor) should be the same". Non-tensors (``img_meta`` dicts of numbers and strings) are
    returned as they are. Copies to CUDA are ``non_blocking`` (asynchronous from pinned host memory, which the
    loaders use on CUDA); copies to the CPU are not, so the values are ready when they are read.
    """
    device = torch.device(device)
    if isinstance(data, torch.Tensor):
        return data.to(device, non_blocking=device.type == 'cuda')
    if isinstance(data, dict):
        return {k: to_device(v, device) for k, v in data.items()}
    if isinstance(data, (list, tuple)) and not hasattr(data, '_fields'):  # not a namedtuple: rebuilt by position
        return type(data)(to_device(v, device) for v in data)
    return data


def _has_precision_api() -> bool:
    # torch >= 2.9 sets TF32 per backend with ``fp32_precision``; reading the legacy ``allow_tf32`` flags after
    # the new API was used raises, so one of the two APIs is used throughout.
    return hasattr(torch.backends.cuda.matmul, 'fp32_precision') and hasattr(torch.backends.cudnn, 'conv')


def set_tf32(enabled: bool) -> None:
    """TF32 for float32 convolutions and matmuls on CUDA (Ampere and newer; no effect on the CPU).

    TF32 keeps 10 mantissa bits of each operand (unit roundoff 2^-11 ~ 4.9e-4) and accumulates in float32: several
    times faster training, results within ~1e-3 relative of full float32. The policy (docs/gpu.md): on for the
    tools, off with ``--deterministic`` (``set_random_seed(deterministic=True)``).
    """
    if _has_precision_api():
        precision = 'tf32' if enabled else 'ieee'
        torch.backends.cuda.matmul.fp32_precision = precision
        torch.backends.cudnn.conv.fp32_precision = precision
    else:
        torch.backends.cuda.matmul.allow_tf32 = enabled
        torch.backends.cudnn.allow_tf32 = enabled


def tf32_enabled() -> bool:
    """Whether float32 convolutions or matmuls on CUDA may use TF32 now (either is enough to lose precision)."""
    if _has_precision_api():
        return 'tf32' in (torch.backends.cuda.matmul.fp32_precision, torch.backends.cudnn.conv.fp32_precision)
    return bool(torch.backends.cuda.matmul.allow_tf32 or torch.backends.cudnn.allow_tf32)
