"""Process setup: distributed init, seeding, logging (original ``mmaction.apis.env``)."""
from __future__ import annotations

import os
import random

import numpy as np
import torch

from mmaction.engine.dist_utils import check_nproc, get_device, get_dist_info, init_dist  # noqa: F401  (public API)
from mmaction.utils.device import set_tf32, tf32_enabled  # noqa: F401  (public API)
from mmaction.utils.logger import get_root_logger  # noqa: F401  (public API)


def set_random_seed(seed: int, deterministic: bool = False) -> None:
    """Seed python, numpy and torch (all devices) with ``seed`` — the same seed on every rank, as the original.

    ``deterministic=True`` also asks cuDNN/torch for deterministic kernels (slower; some ops then raise) and turns
    TF32 off, so float32 results on CUDA are full float32 (docs/gpu.md).
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f'seed must be an int, got {seed!r}')
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic:
        # cuBLAS needs this workspace setting for deterministic matmuls on CUDA >= 10.2.
        os.environ.setdefault('CUBLAS_WORKSPACE_CONFIG', ':4096:8')
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        torch.use_deterministic_algorithms(True, warn_only=True)
        set_tf32(False)
