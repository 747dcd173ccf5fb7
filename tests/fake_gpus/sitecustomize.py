"""Test-only: a CPU machine that reports the GPUs listed in ``CUDA_VISIBLE_DEVICES`` as present.

Put this folder first on ``PYTHONPATH`` of a subprocess (``tests/test_dist_launch.py``): Python imports
``sitecustomize`` at start-up, and from then on ``torch.cuda.is_available()``/``device_count()`` count the entries of
``CUDA_VISIBLE_DEVICES`` (read at each call; unset or empty means none), as the CUDA runtime does on a GPU machine.
Only the counts are faked; nothing can run on these "GPUs", so the code under test must stop or pin the CPU first.
"""
import os

import torch


def _listed_gpus() -> int:
    return len([d for d in os.environ.get('CUDA_VISIBLE_DEVICES', '').split(',') if d.strip()])


torch.cuda.device_count = _listed_gpus
torch.cuda.is_available = lambda: _listed_gpus() > 0
