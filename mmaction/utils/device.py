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
