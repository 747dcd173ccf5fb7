"""The epoch-based training loop (what mmcv's EpochBasedRunner + hooks did for the original MMAction).

One iteration: lr for (epoch, iter) -> forward under autocast -> sum of the ``loss`` terms -> finite check ->
backward (GradScaler on CUDA fp16) -> optional grad clipping -> optimizer step -> EMA update (``ema``).
DDP averages the gradients.

Gradient accumulation (``accumulative_counts=K``, mmengine's name): the loader batches of an epoch form windows of
``K`` (the last window of an epoch may be shorter); each batch's loss is divided by its window's length, the
gradients add up, and the optimizer steps once per window, so ``K`` batches of ``b`` give the gradient of one batch
of ``K * b``. The lr schedule counts optimizer steps: ``ceil(len(loader) / K)`` per epoch, the lr set at the start
of each window (``warmup_iters`` and iteration-based policies are in optimizer steps, as for the big batch).
Logging every ``log_interval`` iterations to the text log and to ``<work_dir>/<timestamp>.log.json``;
checkpoints ``epoch_N.pth`` + ``latest.pth`` every ``checkpoint_interval`` epochs, with everything a resume needs.
"""
from __future__ import annotations

import contextlib
import glob
import json
import logging
import math
import os
import random
import re
import shutil
import time
import warnings
from collections import OrderedDict, defaultdict
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import torch
import torch.nn as nn

from mmaction.registry import ConfigError
from mmaction.utils.checkpoint import get_state_dict, load_file, load_state_dict, save_checkpoint, unwrap_model
from mmaction.utils.device import to_device
from mmaction.utils.io import atomic_open, stale_atomic_temps
from mmaction.utils.tb_logger import TrainingMonitor

from .dist_utils import RankWatchdog, all_reduce_mean, get_dist_info
from .ema import ModelEMA, split_ema_checkpoint
from .lr_scheduler import LrScheduler


def parse_losses(losses: dict) -> tuple[torch.Tensor, 'OrderedDict[str, float]']:
    """Total loss = sum of the entries whose key contains ``'loss'`` (tensors are averaged, lists summed).

    Returns ``(loss, log_vars)``; ``log_vars`` holds every term as a float plus the total under ``'loss'``.
    """
    if not isinstance(losses, dict):
        raise TypeError(f'in training mode the model must return a dict of losses, got {type(losses).__name__}')
    log_vars: OrderedDict[str, torch.Tensor] = OrderedDict()
    for name, value in losses.items():
        if isinstance(value, torch.Tensor):
            log_vars[name] = value.float().mean()
        elif isinstance(value, (list, tuple)) and all(isinstance(v, torch.Tensor) for v in value):
            log_vars[name] = sum(v.float().mean() for v in value)
        elif isinstance(value, (int, float)):
            log_vars[name] = torch.tensor(float(value))
        else:
            raise TypeError(f"loss term '{name}' must be a tensor or a list of tensors, got {type(value).__name__}")
    terms = [v for k, v in log_vars.items() if 'loss' in k]
    if not terms:
        raise ValueError(f"the model returned no loss term (keys containing 'loss'): {list(losses)}")
    loss = sum(terms)
    log_vars['loss'] = loss
    return loss, OrderedDict((k, v.item()) for k, v in log_vars.items())


def get_rng_state() -> dict:
    """Python, numpy and torch RNG states as tensors/lists/ints (loadable with ``weights_only=True``)."""
    py_version, py_state, py_gauss = random.getstate()
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    state = {
        'python': [py_version, list(py_state), py_gauss],
        'numpy': [np_name, torch.from_numpy(np_keys.astype(np.int64)), int(np_pos), int(np_has_gauss),
                  float(np_gauss)],
        'torch': torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    if 'python' in state:
        version, py_state, gauss = state['python']
        random.setstate((version, tuple(py_state), gauss))
    if 'numpy' in state:
        name, keys, pos, has_gauss, gauss = state['numpy']
        np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    if 'torch' in state:
        torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available() and len(state['cuda']) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(state['cuda'])


@contextlib.contextmanager
def preserved_rng() -> Iterable[None]:
    """Run a block (validation) without moving the training RNG streams, so resumed runs match."""
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)


def checkpoints_newest_first(work_dir: str) -> list[str]:
    """``epoch_N.pth`` files of ``work_dir`` from the highest N down, then ``latest.pth``."""
    found = []
    for path in glob.glob(os.path.join(work_dir, 'epoch_*.pth')):
        match = re.fullmatch(r'epoch_(\d+)\.pth', os.path.basename(path))
        if match:
            found.append((int(match.group(1)), path))
    paths = [p for _, p in sorted(found, reverse=True)]
    latest = os.path.join(work_dir, 'latest.pth')
    return paths + ([latest] if os.path.isfile(latest) else [])


def find_latest_checkpoint(work_dir: str) -> str | None:
    """Newest checkpoint in ``work_dir``: the highest ``epoch_N.pth``, else ``latest.pth``.

    Every checkpoint is written atomically, so any file found is complete.
    """
    best, best_epoch = None, -1
    for path in glob.glob(os.path.join(work_dir, 'epoch_*.pth')):
        found = re.fullmatch(r'epoch_(\d+)\.pth', os.path.basename(path))
        if found and int(found.group(1)) > best_epoch:
            best, best_epoch = path, int(found.group(1))
    if best is None and os.path.isfile(os.path.join(work_dir, 'latest.pth')):
        best = os.path.join(work_dir, 'latest.pth')
    return best


def replaced_samples(data: Any) -> list[list[str]]:
    """The samples a ``skip_bad_samples`` dataset replaced in this batch, one list of causes each: a replaced
    sample's ``img_meta`` carries ``replaced_bad_sample`` (the index asked for) and ``bad_sample_errors`` (one
    message per bad sample tried before a good one, naming the path and list line)."""
    metas = data.get('img_meta') if isinstance(data, dict) else None
    out: list[list[str]] = []
    for meta in metas if isinstance(metas, list) else []:
        if isinstance(meta, dict) and 'replaced_bad_sample' in meta:
            out.append(list(meta.get('bad_sample_errors') or
                            [f"index {meta['replaced_bad_sample']} (no cause recorded)"]))
    return out


def short_videos(data: Any) -> list[str]:
    """The samples of this batch whose clip repeats frames (video shorter than the sampled span), as the
    dataset described them in ``img_meta['short_video']``."""
    metas = data.get('img_meta') if isinstance(data, dict) else None
    return [meta['short_video'] for meta in metas if isinstance(meta, dict) and meta.get('short_video')] \
        if isinstance(metas, list) else []


def remove_stale_temp_files(work_dir: str) -> list[str]:
    """Delete the temp files (``.<name>.pth.<random>.tmp``) a killed run left behind while writing a checkpoint.
    Only complete files ever carry a checkpoint's real name, so these are never needed."""
    stale = stale_atomic_temps(work_dir, '*.pth')
    for path in stale:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
    return stale


class TrainingOOMError(RuntimeError):
    """Out of memory during training, with the batch, the clip shape and the options that fit."""


def batch_size_of(data: dict) -> int:
    """Samples in a collated batch: the first dimension of its first tensor entry (``img_group_0``)."""
    for key in sorted(data, key=lambda k: (not k.startswith('img_group'), k)):
        value = data[key]
        if isinstance(value, torch.Tensor) and value.dim() > 0:
            return int(value.shape[0])
    raise ValueError(f'cannot tell the batch size: no tensor in the batch (keys {sorted(data)})')


def split_batch(data: dict, parts: int) -> list[dict]:
    """``data`` cut into ``parts`` micro-batches along the batch dimension (tensors and per-sample lists of the
    batch's length are sliced; anything else is shared). The last micro-batch may be smaller."""
    batch = batch_size_of(data)
    size = math.ceil(batch / parts)
    chunks = []
    for start in range(0, batch, size):
        chunk = {}
        for key, value in data.items():
            if isinstance(value, (torch.Tensor, list, tuple)) and len(value) == batch:
                chunk[key] = value[start:start + size]
            else:
                chunk[key] = value
        chunks.append(chunk)
    return chunks


def oom_message(err: BaseException, data: dict, accumulate: int, device: torch.device, epoch: int, inner_iter: int,
                auto_scale: bool) -> str:
    batch = batch_size_of(data)
    shapes = ', '.join(f'{k} {tuple(v.shape)}' for k, v in data.items()
                       if k.startswith('img_group') and isinstance(v, torch.Tensor))
    micro = f' in micro-batches of {math.ceil(batch / accumulate)}' if accumulate > 1 else ''
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    auto = ('auto_scale_batch could not halve the micro-batch further' if auto_scale and batch > 1 and accumulate > 1
            else 'or set auto_scale_batch=True in the config to halve the per-device batch and double gradient '
                 'accumulation automatically (single process), keeping the effective batch')
    return (f'out of memory on {device} at epoch {epoch + 1}, iteration {inner_iter + 1}: batch of {batch} clips'
            f'{micro} (data.videos_per_gpu), clip shape {shapes or "unknown"} ({first}). Options that fit: lower '
            f'data.videos_per_gpu (scale optimizer.lr with it), mixed precision (--amp or fp16=dict(loss_scale=512.)),'
            f' activation checkpointing (with_cp=True in the backbone config), fewer/smaller clips per sample '
            f'(clip_len, num_segments, input_size); {auto}. For testing, lower --batch_size (views per forward in '
            f'tools/test_recognizer_heavy.py) or data.test.videos_per_gpu.')


class AmpContext:
    """Mixed precision: fp16 autocast + GradScaler on CUDA, bf16 autocast (no scaler needed) on CPU."""

    def __init__(self, device: torch.device, enabled: bool, loss_scale: float | str = 'dynamic'):
        self.device = device
        self.enabled = enabled
        self.dtype = torch.float16 if device.type == 'cuda' else torch.bfloat16
        self.scaler = None
        if enabled and device.type == 'cuda':
            if loss_scale == 'dynamic':
                self.scaler = torch.amp.GradScaler('cuda')
            else:  # static scale as mmcv's fp16=dict(loss_scale=512.): never grows
                self.scaler = torch.amp.GradScaler('cuda', init_scale=float(loss_scale), growth_factor=1.0,
                                                   backoff_factor=1.0, growth_interval=2 ** 31 - 1)

    def autocast(self):
        if not self.enabled:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)


class Runner:
    """Trains ``model`` for ``max_epochs`` epochs following ``workflow`` (``[('train', 1)]`` or with ``('val', n)``).

    Args:
        model: the recognizer, possibly wrapped in DDP.
        evaluate: optional ``callable(model) -> dict`` run after every training epoch (``--validate``); its
            results are logged with mode ``val`` (e.g. ``top1 acc``, ``top5 acc``).
        meta: extra entries for checkpoint meta (``mmact_version``, ``config`` text, ...).
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, lr_scheduler: LrScheduler,
                 work_dir: str, logger: logging.Logger | None = None, *, device: torch.device | None = None,
                 max_epochs: int = 1, grad_clip: dict | None = None, amp: bool = False,
                 loss_scale: float | str = 'dynamic', log_interval: int = 20, checkpoint_interval: int = 1,
                 timestamp: str | None = None, meta: dict | None = None,
                 evaluate: Callable[[nn.Module], dict] | None = None, eval_interval: int = 1,
                 log_config: dict | None = None, skip_nonfinite: bool = False, auto_scale_batch: bool = False,
                 watchdog_seconds: float = 120.0, ema: ModelEMA | None = None, accumulative_counts: int = 1):
        if not isinstance(max_epochs, int) or isinstance(max_epochs, bool) or max_epochs <= 0:
            raise ConfigError(f"config 'total_epochs' must be a positive int, got {max_epochs!r}")
        for key, value in (('log_config.interval', log_interval), ('checkpoint_config.interval', checkpoint_interval)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"config '{key}' must be a positive int, got {value!r}")
        if grad_clip is not None:
            if not isinstance(grad_clip, dict) or 'max_norm' not in grad_clip:
                raise ConfigError(f"config 'optimizer_config.grad_clip' must be dict(max_norm=..., norm_type=2), "
                                  f"got {grad_clip!r}")
            unknown = set(grad_clip) - {'max_norm', 'norm_type', 'error_if_nonfinite'}
            if unknown:
                raise ConfigError(f"config 'optimizer_config.grad_clip' has unknown keys {sorted(unknown)} "
                                  f"(valid: max_norm, norm_type)")
        if (not isinstance(accumulative_counts, int) or isinstance(accumulative_counts, bool)
                or accumulative_counts < 1):
            raise ConfigError(f"config 'optimizer_config.accumulative_counts' must be a positive int, got "
                              f"{accumulative_counts!r}")
        self.model = model
        self.optimizer = optimizer
        self.lr_scheduler = lr_scheduler
        self.work_dir = os.path.abspath(work_dir)
        self.logger = logger or logging.getLogger('mmaction')
        self.device = device or next(model.parameters()).device
        self.max_epochs = max_epochs
        self.grad_clip = grad_clip
        self.amp = AmpContext(self.device, amp, loss_scale)
        self.log_interval = log_interval
        self.checkpoint_interval = checkpoint_interval
        self.timestamp = timestamp or time.strftime('%Y%m%d_%H%M%S', time.localtime())
        self.meta = dict(meta or {})
        self.evaluate = evaluate
        self.eval_interval = eval_interval
        self.log_config = dict(log_config or {})
        # skip_nonfinite: drop a step whose loss is NaN/inf (counted, logged) instead of stopping the run.
        self.skip_nonfinite = bool(skip_nonfinite)
        self.skipped_steps = 0
        # auto_scale_batch: on OOM split each batch into twice as many micro-batches (gradient accumulation).
        self.auto_scale_batch = bool(auto_scale_batch)
        self.accumulate = 1
        # accumulative_counts: one optimizer step per window of this many loader batches (module docstring).
        self.accumulative_counts = accumulative_counts
        self._window_pos = 0  # position of the current batch in its window
        self._window_len = 1  # batches in the current window
        self._window_bad = False  # a non-finite batch in this window: no step at its end
        self._stepped = False  # whether the last train_step ended with an optimizer step
        # ema: moving average of the weights, updated after each optimizer step; validated and saved (ema.py).
        self.ema = ema
        self.monitor: TrainingMonitor | None = None  # rank 0 only, created in run()
        # Multi-process runs: rank 0 logs a line when a rank has not reported for this long (0: off).
        if isinstance(watchdog_seconds, bool) or not isinstance(watchdog_seconds, (int, float)) or watchdog_seconds < 0:
            raise ConfigError(f"config 'watchdog_seconds' must be a number of seconds >= 0, got {watchdog_seconds!r}")
        self.watchdog_seconds = float(watchdog_seconds)
        self.watchdog: RankWatchdog | None = None
        # The train loader's shuffle generator (a seeded DataLoader): its state goes into checkpoints so a resumed
        # run draws the same sample order and worker seeds as an uninterrupted one.
        self._loader_generator: torch.Generator | None = None
        self._pending_loader_state: torch.Tensor | None = None
        self.bad_samples_replaced = 0  # skip_bad_samples replacements in the current epoch, all ranks
        self.rank, self.world_size = get_dist_info()
        self.epoch = 0  # completed epochs
        self.iter = 0  # completed iterations over the whole run
        self.inner_iter = 0
        self.json_log = os.path.join(self.work_dir, f'{self.timestamp}.log.json')
        if self.rank == 0:
            os.makedirs(self.work_dir, exist_ok=True)

    def _collective_device(self) -> torch.device:
        return self.device if torch.distributed.get_backend() == 'nccl' else torch.device('cpu')

    # -- logging ------------------------------------------------------------------------------------------
    def _write_json(self, record: dict) -> None:
        if self.rank != 0:
            return
        with open(self.json_log, 'a') as f:
            f.write(json.dumps(record) + '\n')

    def _log_train(self, buffer: dict, epoch_len: int, extra: dict | None = None) -> None:
        # Average the interval's values over iterations and ranks (one small all-reduce per log line).
        keys = sorted(buffer)
        with warnings.catch_warnings():  # an interval of only skipped steps averages to NaN, quietly
            warnings.simplefilter('ignore', RuntimeWarning)
            means = torch.tensor([float(np.nanmean(buffer[k])) for k in keys], dtype=torch.float64)
        if self.world_size > 1:
            means = all_reduce_mean(means.to(self._collective_device())).cpu()
        values = dict(zip(keys, means.tolist()))
        lr = self.optimizer.param_groups[0]['lr']
        record: dict = OrderedDict(mode='train', epoch=self.epoch + 1, iter=self.inner_iter, lr=lr)
        record['time'] = values.pop('time')
        record['data_time'] = values.pop('data_time')
        if self.device.type == 'cuda':
            record['memory'] = int(math.ceil(torch.cuda.max_memory_allocated(self.device) / 1024 ** 2))
        record.update(values)
        if self.skip_nonfinite:
            record['skipped_steps'] = self.skipped_steps
        record.update(extra or {})
        # The monitor owns the ETA (recent mean iteration time x remaining iterations) and the data/compute split.
        if self.monitor is not None:
            record.update(self.monitor.summary(self.iter))
            self.monitor.write('train', record, self.iter)
        self._write_json(record)
        text = ', '.join(f'{k}: {v:.4f}' if isinstance(v, float) else f'{k}: {v}' for k, v in record.items()
                         if k not in ('mode', 'epoch', 'iter', 'lr', 'memory', 'eta'))
        eta = f", eta: {record['eta']}" if 'eta' in record else ''
        memory = f", memory: {record['memory']}" if 'memory' in record else ''
        self.logger.info(f'Epoch [{self.epoch + 1}][{self.inner_iter}/{epoch_len}]\tlr: {lr:.5e}'
                         f'{eta}{memory}, {text}')

    # -- one iteration ------------------------------------------------------------------------------------
    def train_step(self, data: dict) -> dict:
        """One loader batch: forward/backward, and the optimizer step when the batch ends its accumulation window
        (every batch without ``accumulative_counts``). On out-of-memory either halve the micro-batch
        (``auto_scale_batch``) and retry the same batch, or stop with :class:`TrainingOOMError` saying what fits."""
        while True:
            try:
                return self._step(data)
            except torch.OutOfMemoryError as err:
                self.optimizer.zero_grad(set_to_none=True)
                if self.device.type == 'cuda':
                    torch.cuda.empty_cache()
                batch = batch_size_of(data)
                # Mid-window the gradients of the window's earlier batches are gone with zero_grad: no retry.
                if (not self.auto_scale_batch or self.world_size > 1 or self.accumulate * 2 > batch
                        or self._window_pos > 0):
                    raise TrainingOOMError(oom_message(err, data, self.accumulate, self.device, self.epoch,
                                                       self.inner_iter, self.auto_scale_batch)) from None
                self.accumulate *= 2
                self.logger.warning(f'out of memory with a micro-batch of {math.ceil(batch * 2 / self.accumulate)}: '
                                    f'auto_scale_batch now splits each batch of {batch} into {self.accumulate} '
                                    f'micro-batches (gradient accumulation; the effective batch stays {batch})')

    def _step(self, data: dict) -> dict:
        self._stepped = False
        first = self._window_pos == 0
        last = self._window_pos == self._window_len - 1
        if first:
            self.optimizer.zero_grad(set_to_none=True)
            self._window_bad = False
        elif self._window_bad:
            # The window's step is dropped already (a non-finite batch): its other batches would change nothing.
            return OrderedDict()
        batch = batch_size_of(data)
        chunks = split_batch(data, self.accumulate) if self.accumulate > 1 else [data]
        # The forward of a step that turns out non-finite has already written its batch statistics into the
        # BatchNorm running buffers; skipping the step must undo that too, or the NaN stays in every checkpoint.
        saved_buffers = [(b, b.detach().clone()) for b in self.model.buffers()] if self.skip_nonfinite else []
        scaler = self.amp.scaler
        totals: OrderedDict[str, float] = OrderedDict()
        for i, chunk in enumerate(chunks):
            # chunk means weighted by size = the full batch's mean; over the window, the mean of its batches
            weight = batch_size_of(chunk) / batch
            # DDP all-reduces gradients on every backward; only the window's last backward needs to.
            sync_now = last and i == len(chunks) - 1
            sync = self.model.no_sync() if not sync_now and hasattr(self.model, 'no_sync') else contextlib.nullcontext()
            with sync:
                with self.amp.autocast():
                    losses = self.model(**to_device(chunk, self.device))
                loss, log_vars = parse_losses(losses)
                if self._nonfinite(log_vars['loss']):
                    with torch.no_grad():
                        for buffer, saved in saved_buffers:
                            buffer.copy_(saved)
                    self._window_bad = True
                    return self._nonfinite_step(log_vars)
                loss = loss * (weight / self._window_len)
                if scaler is not None:
                    scaler.scale(loss).backward()
                else:
                    loss.backward()
            for key, value in log_vars.items():
                totals[key] = totals.get(key, 0.0) + value * weight
        if not last:
            return totals
        if scaler is not None:
            scaler.unscale_(self.optimizer)
        params = [p for group in self.optimizer.param_groups for p in group['params'] if p.grad is not None]
        if self.grad_clip is not None:
            grad_norm = nn.utils.clip_grad_norm_(params, self.grad_clip['max_norm'],
                                                 norm_type=self.grad_clip.get('norm_type', 2))
        else:
            grad_norm = nn.utils.clip_grad_norm_(params, float('inf'))  # measures only
        if scaler is not None:
            scaler.step(self.optimizer)
            scaler.update()
        else:
            self.optimizer.step()
        self._stepped = True
        totals['grad_norm'] = float(grad_norm)
        return totals

    def _nonfinite(self, loss: float) -> bool:
        nonfinite = not math.isfinite(loss)
        if self.skip_nonfinite and self.world_size > 1:
            # Every rank must skip together: a rank that skips backward would leave DDP's all-reduce waiting.
            flag = torch.tensor([float(nonfinite)], device=self._collective_device())
            torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
            nonfinite = bool(flag.item())
        return nonfinite

    def _nonfinite_step(self, log_vars: dict) -> dict:
        terms = ', '.join(f'{k}={v}' for k, v in log_vars.items())
        if not self.skip_nonfinite:
            raise FloatingPointError(
                f'non-finite loss at epoch {self.epoch + 1}, iteration {self.inner_iter + 1} '
                f'(global {self.iter + 1}): {terms}. Hint: lower optimizer.lr or use a warmup, set '
                f'optimizer_config.grad_clip=dict(max_norm=40, norm_type=2), and check img_norm_cfg and the labels '
                f'(or optimizer_config.skip_nonfinite=True to skip such steps).')
        # No optimizer step: the weights, buffers and optimizer state stay as they were before this batch.
        self.skipped_steps += 1
        self.optimizer.zero_grad(set_to_none=True)
        self.logger.warning(f'skipped step: non-finite loss at epoch {self.epoch + 1}, iteration '
                            f'{self.inner_iter + 1} (global {self.iter + 1}): {terms}; '
                            f'{self.skipped_steps} step(s) skipped so far')
        # NaN placeholders keep the same keys on every rank; the log averages ignore them.
        return OrderedDict((k, v if math.isfinite(v) else math.nan) for k, v in
                           list(log_vars.items()) + [('grad_norm', math.nan)])

    # -- epochs -------------------------------------------------------------------------------------------
    def _set_epoch(self, loader: Any) -> None:
        # Distributed samplers reshuffle from (seed + epoch); without this every epoch sees the same order.
        for sampler in (getattr(loader, 'sampler', None), getattr(getattr(loader, 'batch_sampler', None),
                                                                   'sampler', None)):
            if sampler is not None and hasattr(sampler, 'set_epoch'):
                sampler.set_epoch(self.epoch)

    def _attach_loader_generator(self, loader: Any) -> None:
        generator = getattr(loader, 'generator', None)
        self._loader_generator = generator if isinstance(generator, torch.Generator) else None
        if self._pending_loader_state is not None and self._loader_generator is not None:
            self._loader_generator.set_state(self._pending_loader_state)
        self._pending_loader_state = None

    def _epoch_bad_samples(self, loader: Any, replaced: list[list[str]]) -> dict:
        """End of an epoch with ``skip_bad_samples``: the replacements summed over ranks, logged with their
        causes (paths and list lines). Returns the log-record entry (empty when the dataset does not skip)."""
        if not getattr(getattr(loader, 'dataset', None), 'skip_bad_samples', False):
            return {}
        if self.world_size > 1:  # every rank's dataset has the same setting, so every rank joins
            gathered: list = [None] * self.world_size
            torch.distributed.all_gather_object(gathered, replaced)
            replaced = [msg for part in gathered for msg in part]
        self.bad_samples_replaced = len(replaced)
        if replaced:
            causes = [msg for chain in replaced for msg in chain]
            self.logger.warning(f'Epoch [{self.epoch + 1}]: {len(replaced)} bad samples replaced this epoch '
                                f'(skip_bad_samples=True; {len(causes)} failed load(s)):\n'
                                + '\n'.join(f'  {msg}' for msg in causes))
        else:
            self.logger.info(f'Epoch [{self.epoch + 1}]: 0 bad samples replaced this epoch')
        return {'bad_samples_replaced': len(replaced)}

    def _epoch_short_videos(self, short: list[str]) -> dict:
        """End of an epoch: one log line counting the distinct videos (all ranks) that were shorter than the
        sampled span, so their frames were repeated. Returns the log-record entry (empty when none)."""
        if self.world_size > 1:
            gathered: list = [None] * self.world_size
            torch.distributed.all_gather_object(gathered, short)
            short = [msg for part in gathered for msg in part]
        distinct = sorted(set(short))
        if not distinct:
            return {}
        listed = '\n'.join(f'  {msg}' for msg in distinct[:20]) + (f'\n  ... and {len(distinct) - 20} more'
                                                                    if len(distinct) > 20 else '')
        self.logger.warning(f'Epoch [{self.epoch + 1}]: {len(distinct)} video(s) shorter than the sampled span '
                            f'(frames repeated in their clips):\n{listed}')
        return {'short_videos': len(distinct)}

    def train(self, loader: Any) -> None:
        self.model.train()
        epoch_len = len(loader)
        counts = self.accumulative_counts
        steps_per_epoch = math.ceil(epoch_len / counts) if epoch_len else 0
        self.lr_scheduler.setup(self.max_epochs, steps_per_epoch)
        self._set_epoch(loader)
        self._attach_loader_generator(loader)
        buffer: dict = defaultdict(list)
        replaced: list[list[str]] = []  # causes of each sample the dataset replaced (this rank)
        short: list[str] = []  # samples whose clip repeated frames (this rank)
        self.inner_iter = 0
        tick = time.time()
        for data in loader:
            buffer['data_time'].append(time.time() - tick)
            replaced.extend(replaced_samples(data))
            short.extend(short_videos(data))
            if self.watchdog is not None:
                self.watchdog.beat(self.iter, f'epoch {self.epoch + 1}, iteration {self.inner_iter + 1}')
            self._window_pos = self.inner_iter % counts
            if self._window_pos == 0:  # a window starts: the lr of its optimizer step
                self._window_len = min(counts, epoch_len - self.inner_iter)
                step_index = self.iter if counts == 1 else self.epoch * steps_per_epoch + self.inner_iter // counts
                self.lr_scheduler.step(self.epoch, step_index)
            log_vars = self.train_step(data)
            if self._stepped and self.ema is not None:
                if self.ema.started(self.epoch, self.iter):
                    self.ema.update(unwrap_model(self.model))
                else:
                    self.ema.follow(unwrap_model(self.model))
            for key, value in log_vars.items():
                buffer[key].append(value)
            self.inner_iter += 1
            self.iter += 1
            buffer['time'].append(time.time() - tick)
            if self.monitor is not None:
                self.monitor.update(buffer['time'][-1], buffer['data_time'][-1])
            if self.inner_iter == epoch_len:
                extra = self._epoch_bad_samples(loader, replaced)
                extra.update(self._epoch_short_videos(short))
                self._log_train(buffer, epoch_len, extra)
                buffer = defaultdict(list)
            elif self.inner_iter % self.log_interval == 0:
                self._log_train(buffer, epoch_len)
                buffer = defaultdict(list)
            tick = time.time()
        self.epoch += 1
        if self.epoch % self.checkpoint_interval == 0 or self.epoch == self.max_epochs:
            self.save_checkpoint()
        if self.evaluate is not None and self.epoch % self.eval_interval == 0:
            self.validate()

    @torch.no_grad()
    def val(self, loader: Any) -> None:
        """A ``('val', n)`` workflow phase: losses on the val loader without gradients (mmcv semantics)."""
        model = self.model if self.ema is None else self.ema.module
        model.eval()
        buffer: dict = defaultdict(list)
        with preserved_rng():
            for data in loader:
                with self.amp.autocast():
                    losses = model(**to_device(data, self.device))
                for key, value in parse_losses(losses)[1].items():
                    buffer[key].append(value)
        record = OrderedDict(mode='val', epoch=self.epoch, iter=len(loader),
                             lr=self.optimizer.param_groups[0]['lr'])
        record.update({k: float(np.mean(v)) for k, v in buffer.items()})
        self._write_json(record)
        if self.monitor is not None:
            self.monitor.write('val', record, self.iter)
        self.logger.info(f'Epoch(val) [{self.epoch}][{len(loader)}]\t'
                         + ', '.join(f'{k}: {v:.4f}' for k, v in record.items() if k not in ('mode', 'epoch', 'iter')))

    def validate(self) -> dict:
        # With EMA, the averaged weights are the ones validated (and saved as the checkpoint's state_dict).
        with preserved_rng():
            results = self.evaluate(unwrap_model(self.model) if self.ema is None else self.ema.module)
        self.model.train()
        if self.rank == 0 and results:
            record = OrderedDict(mode='val', epoch=self.epoch, iter=self.inner_iter,
                                 lr=self.optimizer.param_groups[0]['lr'])
            record.update(results)
            self._write_json(record)
            if self.monitor is not None:
                self.monitor.write('val', results, self.iter)
            self.logger.info(f'Epoch(val) [{self.epoch}]\t'
                             + ', '.join(f'{k}: {v:.4f}' for k, v in results.items()))
        return results or {}

    def run(self, data_loaders: Sequence[Any], workflow: Sequence[tuple[str, int]]) -> None:
        """Alternate the ``workflow`` phases over ``data_loaders`` (one per phase) until ``max_epochs``."""
        if len(data_loaders) != len(workflow):
            raise ConfigError(f"config 'workflow' has {len(workflow)} phases but {len(data_loaders)} data loaders "
                              f"were built")
        for i, phase in enumerate(workflow):
            if (not isinstance(phase, (list, tuple)) or len(phase) != 2 or phase[0] not in ('train', 'val')
                    or not isinstance(phase[1], int) or phase[1] <= 0):
                raise ConfigError(f"config 'workflow[{i}]' must be ('train', n) or ('val', n) with n > 0, "
                                  f"got {phase!r}")
        if not any(mode == 'train' for mode, _ in workflow):
            raise ConfigError(f"config 'workflow' has no ('train', n) phase: {list(workflow)}")
        train_loader = data_loaders[[mode for mode, _ in workflow].index('train')]
        train_len = len(train_loader)
        self.logger.info(self.run_summary(train_loader))
        if self.rank == 0:
            self.monitor = TrainingMonitor.from_config(self.log_config, self.work_dir,
                                                       max_iters=self.max_epochs * train_len, logger=self.logger)
        if self.world_size > 1 and self.watchdog_seconds > 0:
            self.watchdog = RankWatchdog(self.watchdog_seconds, self.logger).start()
        try:
            self._run_phases(data_loaders, workflow)
        finally:
            if self.monitor is not None:
                self.monitor.close()
            if self.watchdog is not None:
                self.watchdog.stop()

    def run_summary(self, loader: Any) -> str:
        """The start-of-run line: what runs where and on how many samples per optimizer step."""
        dist = torch.distributed.is_available() and torch.distributed.is_initialized()
        backend = torch.distributed.get_backend() if dist else 'none'
        amp = str(self.amp.dtype).replace('torch.', '') if self.amp.enabled else 'off'
        batch = getattr(loader, 'batch_size', None) or 0
        # auto_scale_batch's micro-batches split a batch (gradient accumulation): the step still sees the whole batch
        micro = f', {self.accumulate} micro-batches each' if self.accumulate > 1 else ''
        counts = self.accumulative_counts
        accumulated = f' x {counts} accumulated batches' if counts > 1 else ''
        ema = f', EMA momentum {self.ema.momentum} every {self.ema.interval} step(s)' if self.ema is not None else ''
        return (f'Run: device {self.device}, backend {backend}, world size {self.world_size}, AMP {amp}, '
                f'{getattr(loader, "num_workers", 0)} data workers per process, effective batch '
                f'{batch * self.world_size * counts} ({batch} per process x {self.world_size} process'
                f'{"es" if self.world_size != 1 else ""}{accumulated}{micro}){ema}')

    def _run_phases(self, data_loaders: Sequence[Any], workflow: Sequence[tuple[str, int]]) -> None:
        self.logger.info(f'Start running, work_dir: {self.work_dir}, workflow: {list(workflow)}, '
                         f'max: {self.max_epochs} epochs, starting at epoch {self.epoch + 1}')
        while self.epoch < self.max_epochs:
            for (mode, repeat), loader in zip(workflow, data_loaders):
                for _ in range(repeat):
                    if mode == 'train':
                        if self.epoch >= self.max_epochs:
                            break
                        self.train(loader)
                    else:
                        self.val(loader)

    # -- checkpoints --------------------------------------------------------------------------------------
    def save_checkpoint(self) -> str | None:
        """``epoch_N.pth`` then ``latest.pth`` (a complete copy) on rank 0."""
        if self.rank != 0:
            return None
        rng = get_rng_state()
        if self._loader_generator is not None:
            rng['loader'] = self._loader_generator.get_state()
        meta = dict(self.meta, epoch=self.epoch, iter=self.iter, rng=rng)
        path = os.path.join(self.work_dir, f'epoch_{self.epoch}.pth')
        extra = {'amp_scaler': self.amp.scaler.state_dict()} if self.amp.scaler is not None else {}
        saved = self.model
        if self.ema is not None:  # mmengine's layout: state_dict = the average, ema_state_dict = trained weights
            extra['ema_state_dict'] = self.ema.checkpoint_entry(unwrap_model(self.model))
            saved = self.ema.module
        save_checkpoint(saved, path, optimizer=self.optimizer, meta=meta, **extra)
        with open(path, 'rb') as src, atomic_open(os.path.join(self.work_dir, 'latest.pth'), 'wb') as dst:
            shutil.copyfileobj(src, dst)
        self.logger.info(f'Saved checkpoint {path}')
        return path

    def resume(self, filename: str, trust: bool = False) -> None:
        """Full resume: weights, optimizer, epoch/iteration (hence the lr schedule position) and RNG states."""
        checkpoint = load_file(filename, map_location='cpu', trust=trust)
        if not isinstance(checkpoint, dict) or 'state_dict' not in checkpoint or 'meta' not in checkpoint:
            raise ConfigError(f"resume_from={filename}: not a training checkpoint (needs 'meta' and 'state_dict'; "
                              f"use load_from for weights-only files)")
        trained, averaged, steps = split_ema_checkpoint(checkpoint, filename)
        load_state_dict(self.model, trained, strict=True, logger=self.logger, source=filename)
        if self.ema is not None and averaged is not None:
            load_state_dict(self.ema.module, averaged, strict=True, logger=self.logger, source=f'{filename} (EMA)')
            self.ema.steps = steps
        elif self.ema is not None:
            self.logger.warning(f'{filename} holds no EMA weights (ema_state_dict); the average starts from the '
                                f'resumed weights')
            self.ema.follow(unwrap_model(self.model))
            self.ema.steps = 0
        elif averaged is not None:
            self.logger.warning(f'{filename} was trained with EMA but this config has none: resuming from the '
                                f'trained weights (ema_state_dict), the average is dropped')
        if 'optimizer' in checkpoint:
            self.optimizer.load_state_dict(checkpoint['optimizer'])
        else:
            self.logger.warning(f'{filename} holds no optimizer state; the optimizer starts fresh')
        if 'amp_scaler' in checkpoint and self.amp.scaler is not None:
            self.amp.scaler.load_state_dict(checkpoint['amp_scaler'])
        meta = checkpoint['meta']
        self.epoch = int(meta.get('epoch', 0))
        self.iter = int(meta.get('iter', 0))
        if 'rng' in meta:
            set_rng_state(meta['rng'])
            # Applied to the train loader's generator when the first resumed epoch starts.
            self._pending_loader_state = meta['rng'].get('loader')
        self.logger.info(f'resumed from {filename}: epoch {self.epoch}, iter {self.iter}')

    def auto_resume(self, work_dir: str, trust: bool = False) -> str | None:
        """``--auto-resume``: resume from the newest complete checkpoint of ``work_dir``. A truncated or corrupt
        one (a copy cut short, a disk that filled up) is skipped with a log line naming it; a file refused as
        unsafe still stops the run. Returns the checkpoint used (``None``: none found, start fresh)."""
        from mmaction.utils.checkpoint import CheckpointUnreadableError
        for path in checkpoints_newest_first(work_dir):
            self.logger.info(f'--auto-resume: found {path}')
            try:
                self.resume(path, trust=trust)
            except CheckpointUnreadableError as err:
                self.logger.warning(f'--auto-resume: skipping {path}: {err}; falling back to the previous checkpoint')
                continue
            return path
        return None

    def load_weights(self, filename: str, trust: bool = False) -> None:
        """``load_from``: weights only (non-strict, mismatches reported); training starts at epoch 1."""
        checkpoint = load_file(filename, map_location='cpu', trust=trust)
        load_state_dict(self.model, get_state_dict(checkpoint, filename), strict=False, logger=self.logger,
                        source=filename)
        if self.ema is not None:
            self.ema.follow(unwrap_model(self.model))
        self.logger.info(f'load weights from {filename}')
