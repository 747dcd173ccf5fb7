"""Training-time visibility the trainer calls into: TensorBoard scalars (when ``TensorboardLoggerHook`` is in
``log_config.hooks``), the data-time / compute-time split, a "GPU starved" warning when loading dominates, and ETA.

How the training loop uses it (one object per run, rank 0 only)::

    monitor = TrainingMonitor.from_config(cfg.log_config, work_dir, max_iters=total_epochs * len(loader))
    for ...:                               # every iteration
        monitor.update(iter_time, data_time)         # seconds, measured by the loop
        if (i + 1) % interval == 0:
            log_dict.update(monitor.summary(global_iter))   # adds eta, compute_time, data_fraction; may warn
            monitor.write('train', log_dict, global_iter)   # TensorBoard scalars
    monitor.write('val', {'top1 acc': ..., 'top5 acc': ...}, global_iter)
    monitor.close()

TensorBoard is optional: without it the hook is skipped with one warning and everything else works.
"""
from __future__ import annotations

import datetime
import logging
import os
from collections import deque
from typing import Any

STARVED_MESSAGE = ('GPU starved: data loading takes {pct:.0f}% of each iteration ({data:.3f} s of {total:.3f} s '
                   'over the last {n} iterations): raise workers_per_gpu / use rawframes / '
                   're-encode with short GOP')


class TensorboardWriter:
    """A thin wrapper over ``torch.utils.tensorboard.SummaryWriter`` writing ``<mode>/<key>`` scalars."""

    def __init__(self, log_dir: str):
        from torch.utils.tensorboard import SummaryWriter  # optional dependency (tensorboard package)
        self.log_dir = log_dir
        self.writer = SummaryWriter(log_dir)

    def write(self, mode: str, values: dict[str, Any], step: int) -> int:
        count = 0
        for key, value in values.items():
            if key in ('mode', 'epoch', 'iter') or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            self.writer.add_scalar(f'{mode}/{key.replace(" ", "_")}', float(value), step)
            count += 1
        self.writer.flush()
        return count

    def close(self) -> None:
        self.writer.close()


class TrainingMonitor:
    """Sliding-window timing statistics, ETA and the starvation warning; optional TensorBoard output.

    ``starved_ratio``: warn when mean data time / mean iteration time over the window exceeds it.
    ``warmup``: iterations ignored at the start (worker start-up makes the first ones look starved).
    The warning is repeated at most every ``warn_interval`` iterations so a long run's log is not flooded.
    """

    def __init__(self, work_dir: str | None = None, max_iters: int | None = None, tensorboard: bool = False,
                 tb_log_dir: str | None = None, window: int = 50, starved_ratio: float = 0.5, warmup: int = 5,
                 warn_interval: int = 1000, logger: logging.Logger | None = None):
        self.max_iters = max_iters
        self.times: deque[float] = deque(maxlen=window)
        self.data_times: deque[float] = deque(maxlen=window)
        self.seen = 0
        self.starved_ratio = starved_ratio
        self.warmup = warmup
        self.warn_interval = warn_interval
        self.last_warned: int | None = None
        self.logger = logger or logging.getLogger('mmaction')
        self.tb: TensorboardWriter | None = None
        if tensorboard:
            log_dir = tb_log_dir or os.path.join(work_dir or '.', 'tf_logs')
            try:
                self.tb = TensorboardWriter(log_dir)
            except Exception as err:  # noqa: BLE001 - tensorboard missing or broken: keep training
                self.logger.warning(f'TensorboardLoggerHook skipped: cannot start TensorBoard ({err}); '
                                    f'install the "tensorboard" package to enable it')

    @classmethod
    def from_config(cls, log_config: dict | None, work_dir: str | None, max_iters: int | None = None,
                    **kwargs: Any) -> 'TrainingMonitor':
        """Read ``log_config.hooks``: ``dict(type='TensorboardLoggerHook', log_dir=None)`` turns TensorBoard on."""
        hooks = (log_config or {}).get('hooks', []) or []
        tb_cfg = next((h for h in hooks if isinstance(h, dict) and h.get('type') == 'TensorboardLoggerHook'), None)
        return cls(work_dir=work_dir, max_iters=max_iters, tensorboard=tb_cfg is not None,
                   tb_log_dir=(tb_cfg or {}).get('log_dir'), **kwargs)

    def update(self, iter_time: float, data_time: float) -> None:
        """Record one iteration: total wall time and the part spent waiting for the data loader."""
        self.seen += 1
        if self.seen > self.warmup:
            self.times.append(float(iter_time))
            self.data_times.append(float(data_time))

    def eta_seconds(self, global_iter: int) -> float | None:
        """Remaining iterations times the recent mean iteration time (``global_iter`` iterations done)."""
        if not self.max_iters or not self.times:
            return None
        return max(0, self.max_iters - global_iter) * (sum(self.times) / len(self.times))

    def summary(self, global_iter: int) -> dict[str, Any]:
        """Fields to add to the log line: ``eta``, ``compute_time``, ``data_fraction``; warns when starved."""
        out: dict[str, Any] = {}
        if not self.times:
            return out
        mean_time = sum(self.times) / len(self.times)
        mean_data = sum(self.data_times) / len(self.data_times)
        out['compute_time'] = round(max(0.0, mean_time - mean_data), 5)
        fraction = mean_data / mean_time if mean_time > 0 else 0.0
        out['data_fraction'] = round(fraction, 4)
        eta = self.eta_seconds(global_iter)
        if eta is not None:
            out['eta'] = str(datetime.timedelta(seconds=int(eta)))
        if fraction > self.starved_ratio and (self.last_warned is None
                                              or global_iter - self.last_warned >= self.warn_interval):
            self.last_warned = global_iter
            self.logger.warning(STARVED_MESSAGE.format(pct=100 * fraction, data=mean_data, total=mean_time,
                                                       n=len(self.times)))
        return out

    def write(self, mode: str, values: dict[str, Any], global_iter: int) -> int:
        """Send the numeric entries of a log line to TensorBoard (no-op without it); returns how many."""
        return self.tb.write(mode, values, global_iter) if self.tb is not None else 0

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()
            self.tb = None
