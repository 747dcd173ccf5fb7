"""Distributed helpers over ``torch.distributed``: process-group setup, rank info, result gathering.

Works with N CUDA GPUs (nccl) and with N CPU processes (gloo): the backend is chosen from the device, and a
configured backend that the device cannot use (``nccl`` without CUDA) is replaced by one that works.
"""
from __future__ import annotations

import datetime
import logging
import os
import shutil
import tempfile
import threading
import time
from typing import Any, Callable, Sequence

import torch
import torch.distributed as dist

from mmaction.registry import ConfigError

_VALID_LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')
# How long a collective waits for the other ranks before failing. torch's default (30 min for gloo) keeps a job
# whose rank died hanging for half an hour; 10 min is far above any step or checkpoint save of this toolbox.
# ``dist_params.timeout`` (seconds) or ``--dist-timeout`` change it.
DEFAULT_COLLECTIVE_TIMEOUT = datetime.timedelta(minutes=10)


def get_dist_info() -> tuple[int, int]:
    """``(rank, world_size)``; ``(0, 1)`` when no process group is initialised."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def local_rank() -> int:
    return int(os.environ.get('LOCAL_RANK', '0'))


def visible_gpus() -> int:
    """How many GPUs this process can use (``CUDA_VISIBLE_DEVICES`` applied); 0 without CUDA."""
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _visible_devices_text() -> str:
    value = os.environ.get('CUDA_VISIBLE_DEVICES')
    return 'CUDA_VISIBLE_DEVICES unset' if value is None else f'CUDA_VISIBLE_DEVICES={value!r}'


def check_nproc(nproc: int | str, device: str | None = None) -> str:
    """The device type that ``nproc`` processes per node will run on: ``'cuda'`` (one GPU each) or ``'cpu'`` (gloo).

    ``device`` is what the user asked for (``DEVICE`` of ``tools/dist_run.sh``): ``'cpu'`` always gives CPU
    processes, ``'cuda'`` requires GPUs, ``None``/``''`` uses the GPUs when any are visible and the CPU otherwise.
    More processes than visible GPUs is an error (several processes sharing one GPU would each hold a full copy of
    the model and fight for its memory); it names the GPU count and what to pass instead.
    """
    try:
        count = int(nproc)
    except (TypeError, ValueError):
        count = 0
    if count < 1:
        raise ValueError(f'NPROC must be a positive number of processes per node, got {nproc!r}')
    if device not in (None, '', 'cpu', 'cuda'):
        raise ValueError(f"DEVICE must be 'cpu' or 'cuda' (or unset: GPUs when visible), got {device!r}")
    if device == 'cpu':
        return 'cpu'
    gpus = visible_gpus()
    if gpus == 0:
        if device == 'cuda':
            raise ValueError(f'DEVICE=cuda but no GPU is visible ({_visible_devices_text()}); '
                             f'unset DEVICE or set DEVICE=cpu to run {count} CPU processes with gloo')
        return 'cpu'
    if count > gpus:
        raise ValueError(f'{count} processes per node but {gpus} GPU(s) visible ({_visible_devices_text()}): '
                         f'pass NPROC <= {gpus} for one GPU per process, or set DEVICE=cpu to run {count} CPU '
                         f'processes with gloo')
    return 'cuda'


def get_device() -> torch.device:
    """This process's device: ``cuda:<LOCAL_RANK>`` when CUDA is available, else CPU.

    A ``LOCAL_RANK`` without a GPU of its own (torchrun started more processes than GPUs) is an error, not a
    shared GPU; hide the GPUs (``CUDA_VISIBLE_DEVICES=``, ``DEVICE=cpu`` in the shell wrappers) for CPU processes.
    """
    gpus = visible_gpus()
    if gpus == 0:
        return torch.device('cpu')
    rank = local_rank()
    if rank >= gpus:
        raise RuntimeError(f'LOCAL_RANK={rank} but {gpus} GPU(s) visible ({_visible_devices_text()}): start at most '
                           f'{gpus} processes per node, or hide the GPUs (CUDA_VISIBLE_DEVICES= , DEVICE=cpu in '
                           f'tools/dist_*.sh) to run CPU processes with gloo')
    return torch.device('cuda', rank)


def choose_backend(requested: str | None, device: torch.device) -> str:
    """The process-group backend for ``device``; ``requested`` wins only when the device supports it."""
    if device.type == 'cuda':
        return requested if requested in ('nccl', 'gloo') else 'nccl'
    if requested not in (None, 'gloo'):
        logging.getLogger('mmaction').warning(
            f"dist_params.backend='{requested}' needs CUDA; no GPU here, using 'gloo' instead")
    return 'gloo'


def init_dist(launcher: str = 'pytorch', backend: str | None = None, **kwargs: Any) -> torch.device:
    """Join the process group started by ``torchrun`` (env ``RANK``/``WORLD_SIZE``/``MASTER_ADDR``/``MASTER_PORT``).

    ``kwargs`` are the config's ``dist_params`` minus ``backend``. The original forwarded ``port`` to
    ``init_process_group``, which does not accept it; the port comes from ``MASTER_PORT`` (``PORT`` in the
    shell wrappers), so ``port`` is ignored here. Returns this process's device.
    """
    if launcher not in _VALID_LAUNCHERS:
        raise ConfigError(f"--launcher must be one of {_VALID_LAUNCHERS}, got '{launcher}'")
    if launcher != 'pytorch':
        raise NotImplementedError(f"launcher '{launcher}' is not supported; start the processes with torchrun "
                                  f"(tools/dist_train_recognizer.sh) and --launcher pytorch")
    missing = [k for k in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT') if k not in os.environ]
    if missing:
        raise RuntimeError(f'--launcher pytorch needs the environment set by torchrun; missing {missing}. '
                           f'Run through tools/dist_train_recognizer.sh or torchrun --nproc_per_node=N.')
    kwargs.pop('port', None)
    kwargs.setdefault('timeout', DEFAULT_COLLECTIVE_TIMEOUT)
    device = get_device()
    if device.type == 'cuda':
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend=choose_backend(backend, device), **kwargs)
    return device


class RankWatchdog:
    """Every rank reports its progress (an iteration counter) to the process group's store; a thread on rank 0
    logs one line when a rank is behind the furthest one and has not reported for ``seconds``, naming it and its
    last progress, long before the collective timeout ends the job. The ranks that wait for it in a collective
    are not reported, and neither is a phase all ranks spend without reporting (validation, a checkpoint save).
    Rank 0 times the reports with its own clock (no cross-host skew).

    ``store``: a ``torch.distributed.Store`` (the default group's when ``None``)."""

    def __init__(self, seconds: float, logger: logging.Logger, store: Any = None, rank: int | None = None,
                 world_size: int | None = None, clock: Callable[[], float] = time.monotonic):
        if rank is None or world_size is None:
            rank, world_size = get_dist_info()
        if store is None:
            store = dist.distributed_c10d._get_default_store()
        self.seconds, self.logger, self.store, self.rank, self.world = float(seconds), logger, store, rank, world_size
        self.clock = clock
        self._seen: dict[int, tuple[str, float]] = {}  # rank -> (last report, when rank 0 first saw it)
        self._warned: set[int] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self, counter: int, text: str) -> None:
        """Report this rank's progress: ``counter`` orders the ranks, ``text`` is what the log line shows.
        One small store write (every iteration: throttling would hide which rank is behind)."""
        self.store.set(f'mmaction_watchdog/{self.rank}', f'{int(counter)}|{text}')

    def check(self) -> list[int]:
        """Rank 0: log a line for each rank silent for ``seconds`` (once per stall). Returns those ranks."""
        now, stalled = self.clock(), []
        reports = {}
        for r in range(self.world):
            key = f'mmaction_watchdog/{r}'
            reports[r] = self.store.get(key).decode() if self.store.check([key]) else '-1|(not started)'
        counters = {r: int(report.split('|', 1)[0]) for r, report in reports.items()}
        furthest = max(counters.values())
        for r, report in reports.items():
            last, since = self._seen.get(r, (None, now))
            if report != last:
                self._seen[r] = (report, now)
                self._warned.discard(r)
                continue
            if counters[r] < furthest and now - since >= self.seconds:
                stalled.append(r)
                if r not in self._warned:
                    self._warned.add(r)
                    self.logger.warning(f"watchdog: rank {r} has not reported for {now - since:.0f} s (last: "
                                        f"{report.split('|', 1)[1]}; other ranks are further); they wait for it "
                                        f"in the next collective, which fails after the collective timeout "
                                        f"(dist_params.timeout / --dist-timeout)")
        return stalled

    def start(self) -> 'RankWatchdog':
        if self.rank == 0 and self._thread is None:
            def loop() -> None:
                while not self._stop.wait(max(self.seconds / 4, 0.05)):
                    try:
                        self.check()
                    except Exception:  # noqa: BLE001 - the store is gone when the group shuts down
                        return
            self._thread = threading.Thread(target=loop, name='mmaction-rank-watchdog', daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


def barrier() -> None:
    if is_distributed():
        dist.barrier()


def shutdown_dist() -> None:
    """Leave the process group together: a rank that tears gloo down while another is still writing its
    checkpoint or results can abort ("terminate called without an active exception")."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def all_reduce_mean(value: torch.Tensor) -> torch.Tensor:
    """Average a tensor over all ranks (a copy; the input is left unchanged)."""
    value = value.detach().clone()
    if is_distributed():
        dist.all_reduce(value)
        value /= dist.get_world_size()
    return value


def interleave_parts(parts: Sequence[Sequence[Any]], size: int) -> list:
    """Restore dataset order from per-rank parts where rank ``r`` held indices ``r, r+W, r+2W, ...``.

    Raises when the parts do not hold exactly ``size`` results (a lost or duplicated sample).
    """
    world = len(parts)
    expected = [len(range(r, size, world)) for r in range(world)]
    got = [len(p) for p in parts]
    if got != expected:
        raise RuntimeError(f'result gathering: ranks returned {got} results, expected {expected} for a dataset of '
                           f'{size} items over {world} processes (the test sampler must give rank r the indices '
                           f'r, r+W, ... without padding)')
    return [parts[i % world][i // world] for i in range(size)]


def collect_results(part: list, size: int, tmpdir: str | None = None) -> list | None:
    """Gather each rank's results in dataset order on rank 0 (other ranks get ``None``).

    Without ``tmpdir`` the parts travel through the process group; with ``tmpdir`` each rank pickles its
    part there (atomically), rank 0 merges them and the folder is removed afterwards.
    """
    rank, world = get_dist_info()
    if world == 1:
        return interleave_parts([part], size)
    if tmpdir is None:
        # gather_object pickles through the process group (under nccl it uses the CUDA device init_dist set).
        gathered: list | None = [None] * world if rank == 0 else None
        dist.gather_object(part, gathered, dst=0)
        return interleave_parts(gathered, size) if rank == 0 else None
    from mmaction.utils.io import dump_pickle, load_pickle
    os.makedirs(tmpdir, exist_ok=True)
    dump_pickle(part, os.path.join(tmpdir, f'part_{rank}.pkl'))
    barrier()
    result = None
    if rank == 0:
        parts = [load_pickle(os.path.join(tmpdir, f'part_{r}.pkl')) for r in range(world)]
        result = interleave_parts(parts, size)
        shutil.rmtree(tmpdir, ignore_errors=True)
    barrier()
    return result


def make_tmpdir(prefix: str = 'mmaction_collect_') -> str:
    """A temp folder name shared by all ranks (rank 0 picks it, then broadcasts it)."""
    rank, world = get_dist_info()
    name = [tempfile.mkdtemp(prefix=prefix) if rank == 0 else None]
    if world > 1:
        dist.broadcast_object_list(name, src=0)
    return name[0]
