"""Issue 20: N processes on a machine with fewer GPUs, tested on a CPU machine with faked GPUs.

``tests/fake_gpus/sitecustomize.py`` makes a subprocess's torch report the GPUs listed in ``CUDA_VISIBLE_DEVICES``, so
``CUDA_VISIBLE_DEVICES=0`` is "a one-GPU machine". Checked: importing mmaction with ``LOCAL_RANK`` past the visible GPUs
(mmengine's logger indexed ``CUDA_VISIBLE_DEVICES[LOCAL_RANK]``), the launcher's one-line stop for NPROC > GPUs and
its ``DEVICE=cpu`` run of CPU processes with gloo there.

The file is also the worker script of that run: ``bash tools/dist_run.sh ../tests/test_dist_launch.py 2 OUT_DIR``.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from _dist_test_helpers import free_port  # noqa: E402 (tests/ helper)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
FAKE_GPUS = os.path.join(REPO, 'tests', 'fake_gpus')


def _env(**extra: str) -> dict:
    """The environment of a subprocess on the faked GPU machine (the worktree's mmaction first)."""
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHON=sys.executable,
               PYTHONPATH=os.pathsep.join([FAKE_GPUS, REPO, os.environ.get('PYTHONPATH', '')]))
    for key in ('LOCAL_RANK', 'RANK', 'WORLD_SIZE', 'DEVICE'):
        env.pop(key, None)
    env.update(extra)
    return env


def _run(cmd: list[str], timeout: int = 120, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=REPO, env=_env(**extra), capture_output=True, text=True, timeout=timeout)


_IMPORTS = '''
import runpy, sys
import torch
from mmengine.logging.logger import _get_device_id
assert torch.cuda.is_available() and torch.cuda.device_count() == 1  # the fake is in place
try:
    _get_device_id()  # what mmengine's logger constructor does: reproduces the crash of issue 20
except IndexError:
    pass
else:
    raise AssertionError('the environment does not reproduce the mmengine IndexError')
import mmaction.models, mmaction.datasets, mmaction.apis
from mmaction.registry import OPTIMIZERS
assert OPTIMIZERS.get('SGD') is torch.optim.SGD  # an mmengine lookup logs through the logger
sys.argv = ['train_recognizer.py', '--help']
try:
    runpy.run_path('tools/train_recognizer.py', run_name='__main__')
except SystemExit as exc:
    assert exc.code == 0, exc.code
print('imported')
'''


def test_import_does_not_depend_on_local_rank_past_visible_gpus():
    """Rank 1 of ``torchrun --nproc_per_node=2`` on a one-GPU machine imports the package and a tool."""
    proc = _run([sys.executable, '-c', _IMPORTS], CUDA_VISIBLE_DEVICES='0', LOCAL_RANK='1')
    assert proc.returncode == 0 and 'imported' in proc.stdout, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.mark.parametrize('nproc, device, gpus, expected', [
    (1, None, 1, 'cuda'), (2, None, 2, 'cuda'), (2, None, 0, 'cpu'), (2, 'cpu', 1, 'cpu'), (4, '', 0, 'cpu'),
    (1, 'cuda', 1, 'cuda')])
def test_check_nproc_device(monkeypatch, nproc, device, gpus, expected):
    from mmaction.engine import dist_utils
    monkeypatch.setattr(dist_utils, 'visible_gpus', lambda: gpus)
    assert dist_utils.check_nproc(nproc, device) == expected


@pytest.mark.parametrize('nproc, device, gpus, message', [
    (2, None, 1, "2 processes per node but 1 GPU(s) visible (CUDA_VISIBLE_DEVICES='0'): pass NPROC <= 1 for one GPU "
                 "per process, or set DEVICE=cpu to run 2 CPU processes with gloo"),
    (1, 'cuda', 0, "DEVICE=cuda but no GPU is visible (CUDA_VISIBLE_DEVICES='0')"),
    (0, None, 1, "NPROC must be a positive number of processes per node, got 0"),
    ('two', None, 1, "NPROC must be a positive number of processes per node, got 'two'"),
    (1, 'gpu', 1, "DEVICE must be 'cpu' or 'cuda' (or unset: GPUs when visible), got 'gpu'")])
def test_check_nproc_errors(monkeypatch, nproc, device, gpus, message):
    from mmaction.engine import dist_utils
    monkeypatch.setattr(dist_utils, 'visible_gpus', lambda: gpus)
    monkeypatch.setenv('CUDA_VISIBLE_DEVICES', '0')
    with pytest.raises(ValueError) as info:
        dist_utils.check_nproc(nproc, device)
    assert message in str(info.value)


def test_get_device_local_rank_needs_its_own_gpu(monkeypatch):
    from mmaction.engine import dist_utils
    monkeypatch.setattr(dist_utils, 'visible_gpus', lambda: 2)
    monkeypatch.setenv('LOCAL_RANK', '1')
    assert dist_utils.get_device() == torch.device('cuda', 1)
    monkeypatch.setenv('LOCAL_RANK', '2')
    with pytest.raises(RuntimeError, match=r'LOCAL_RANK=2 but 2 GPU\(s\) visible'):
        dist_utils.get_device()
    monkeypatch.setattr(dist_utils, 'visible_gpus', lambda: 0)
    assert dist_utils.get_device() == torch.device('cpu')


def test_launcher_stops_when_nproc_exceeds_visible_gpus(tmp_path):
    """``dist_train_recognizer.sh CONFIG 2`` on a one-GPU machine: one line, exit 2, torchrun never started."""
    proc = _run(['bash', 'tools/dist_train_recognizer.sh', 'configs/TSN/toy/tsn_r18_toy.py', '2',
                 '--work_dir', str(tmp_path / 'work')], CUDA_VISIBLE_DEVICES='0')
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines() == [
        "error: 2 processes per node but 1 GPU(s) visible (CUDA_VISIBLE_DEVICES='0'): pass NPROC <= 1 for one GPU "
        "per process, or set DEVICE=cpu to run 2 CPU processes with gloo"], proc.stderr
    assert not (tmp_path / 'work').exists()


@pytest.mark.slow  # ~15 s on 2 busy cores: two torch start-ups under torchrun
def test_launcher_device_cpu_runs_cpu_processes_with_gloo(tmp_path):
    """``DEVICE=cpu`` on the same one-GPU machine: 2 processes, GPUs hidden, CPU devices, gloo, a working all-reduce."""
    proc = _run(['bash', 'tools/dist_run.sh', os.path.join('..', 'tests', 'test_dist_launch.py'), '2', str(tmp_path)],
                timeout=180, CUDA_VISIBLE_DEVICES='0', DEVICE='cpu', PORT=str(free_port()))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for rank in (0, 1):
        assert (tmp_path / f'rank{rank}.txt').read_text() == 'cpu gloo 3.0'


def _worker(out_dir: str) -> None:
    """Each rank writes its device type, the backend and the all-reduced sum of ``rank + 1`` (tests/test_cuda.py
    runs it on a GPU too)."""
    import torch.distributed as dist

    from mmaction.engine.dist_utils import init_dist, shutdown_dist
    device = init_dist('pytorch')
    value = torch.tensor([float(dist.get_rank() + 1)], device=device)  # nccl reduces CUDA tensors only
    dist.all_reduce(value)
    with open(os.path.join(out_dir, f'rank{dist.get_rank()}.txt'), 'w') as f:
        f.write(f'{device.type} {dist.get_backend()} {value.item()}')
    shutdown_dist()


if __name__ == '__main__':
    assert sys.argv[-2:] == ['--launcher', 'pytorch'], sys.argv
    _worker(sys.argv[1])
