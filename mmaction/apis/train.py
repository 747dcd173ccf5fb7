"""``train_network``: data loaders, DDP, optimizer, LR schedule, runner, resume — from one config."""
from __future__ import annotations

import copy
import inspect
import logging
import os
from typing import Any

import torch
import torch.nn as nn

from mmaction.engine.dist_utils import get_device
from mmaction.engine.ema import build_ema
from mmaction.engine.lr_scheduler import build_lr_scheduler
from mmaction.engine.optimizer import build_optimizer
from mmaction.engine.runner import Runner, remove_stale_temp_files
from mmaction.engine.sync_bn import apply_sync_bn, sync_bn_whole_model
from mmaction.registry import ConfigError
from mmaction.utils.config import config_text
from mmaction.version import mmact_version

from .test import evaluate_top_k


def _amp_setting(cfg: Any, amp: bool) -> tuple[bool, float | str]:
    """``fp16`` config key (mmcv style ``dict(loss_scale=512.)`` or True) or ``--amp`` -> (enabled, loss_scale)."""
    fp16 = cfg.get('fp16')
    if fp16 is None or fp16 is False:
        return amp, 'dynamic'
    if fp16 is True:
        return True, 'dynamic'
    if isinstance(fp16, dict):
        scale = fp16.get('loss_scale', 'dynamic')
        if scale != 'dynamic' and (isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale <= 0):
            raise ConfigError(f"config 'fp16.loss_scale' must be a positive number or 'dynamic', got {scale!r}")
        return True, scale
    raise ConfigError(f"config 'fp16' must be a dict like dict(loss_scale=512.) or a bool, got {fp16!r}")


def _rank_local_buffers() -> dict:
    """DDP keyword that keeps BN statistics per rank during training (the original's ``broadcast_buffers=False``).
    torch 2.13 deprecates ``broadcast_buffers`` (a FutureWarning on every rank) for ``forward_sync_buffers``, which
    still copies rank 0's buffers once at start: all ranks begin from the same state either way."""
    params = inspect.signature(nn.parallel.DistributedDataParallel).parameters
    return {'forward_sync_buffers': False} if 'forward_sync_buffers' in params else {'broadcast_buffers': False}


def _accumulative_counts(cfg: Any, optimizer_config: dict) -> int:
    """``optimizer_config.accumulative_counts`` or mmaction2's ``optim_wrapper.accumulative_counts`` (1: none)."""
    found = {}
    if 'accumulative_counts' in optimizer_config:
        found['optimizer_config.accumulative_counts'] = optimizer_config['accumulative_counts']
    wrapper = cfg.get('optim_wrapper')
    if isinstance(wrapper, dict) and 'accumulative_counts' in wrapper:
        found['optim_wrapper.accumulative_counts'] = wrapper['accumulative_counts']
    if len(set(map(repr, found.values()))) > 1:
        raise ConfigError(f'config: {" and ".join(f"{k}={v!r}" for k, v in found.items())} disagree; keep one')
    for key, value in found.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(f"config '{key}' must be a positive int (loader batches per optimizer step), "
                              f"got {value!r}")
        return value
    return 1


def _optimizer_settings(cfg: Any) -> tuple[dict, dict | None]:
    """``(optimizer config, grad_clip)`` from ``optimizer`` + ``optimizer_config.grad_clip``, or from mmaction2's
    ``optim_wrapper = dict(optimizer=..., paramwise_cfg=..., constructor=..., clip_grad=...)``."""
    wrapper = cfg.get('optim_wrapper')
    grad_clip = (cfg.get('optimizer_config') or {}).get('grad_clip')
    if not isinstance(wrapper, dict) or 'optimizer' not in wrapper:
        if cfg.get('optimizer') is None:
            raise ConfigError("config key 'optimizer' is required for training (or mmaction2's "
                              "optim_wrapper=dict(optimizer=...))")
        return cfg.optimizer, grad_clip
    if cfg.get('optimizer') is not None:
        raise ConfigError("config: both 'optimizer' and 'optim_wrapper.optimizer' are set; keep one")
    unknown = sorted(set(wrapper) - {'type', 'optimizer', 'paramwise_cfg', 'constructor', 'clip_grad',
                                      'accumulative_counts'})
    if unknown:
        raise ConfigError(f"config 'optim_wrapper': unsupported keys {unknown} (supported: optimizer, paramwise_cfg, "
                          f"constructor, clip_grad, accumulative_counts; mixed precision: --amp or fp16)")
    optimizer = dict(wrapper['optimizer'])
    for key in ('paramwise_cfg', 'constructor'):
        if wrapper.get(key) is not None:
            optimizer[key] = wrapper[key]
    clip = wrapper.get('clip_grad')
    if clip is not None and grad_clip is not None:
        raise ConfigError("config: both 'optimizer_config.grad_clip' and 'optim_wrapper.clip_grad' are set; keep one")
    return optimizer, grad_clip if clip is None else dict(clip)


def _train_sampler(cfg: Any) -> dict | None:
    """``data.train_sampler = dict(type='RepeatAugSampler', num_repeats=N)``: the training loader's sampler."""
    sampler = cfg.data.get('train_sampler')
    if sampler is None:
        return None
    if not isinstance(sampler, dict) or sampler.get('type') != 'RepeatAugSampler':
        raise ConfigError(f"config 'data.train_sampler' must be dict(type='RepeatAugSampler', num_repeats=N), "
                          f"got {sampler!r}")
    unknown = sorted(set(sampler) - {'type', 'num_repeats', 'shuffle'})
    if unknown:
        raise ConfigError(f"config 'data.train_sampler': unknown keys {unknown} (valid: num_repeats, shuffle; "
                          f"the seed is the config's seed)")
    num_repeats = sampler.get('num_repeats', 3)
    if not isinstance(num_repeats, int) or isinstance(num_repeats, bool) or num_repeats < 1:
        raise ConfigError(f"config 'data.train_sampler.num_repeats' must be a positive int, got {num_repeats!r}")
    return dict(sampler)


def _build_val_loader(cfg: Any, distributed: bool, build_dataset, build_dataloader, mode: str) -> Any:
    if 'val' not in cfg.data:
        raise ConfigError(f"{mode} needs a 'data.val' entry in the config")
    val_cfg = copy.deepcopy(cfg.data.val)
    # The original eval hook built the val set with test_mode=True unless the config says otherwise.
    val_cfg.setdefault('test_mode', mode == '--validate')
    dataset = build_dataset(val_cfg)
    per_gpu = 1 if mode == '--validate' else cfg.data.videos_per_gpu
    return build_dataloader(dataset, per_gpu, cfg.data.get('workers_per_gpu', 1), num_gpus=1, dist=distributed,
                            shuffle=False)


def train_network(model: nn.Module, dataset: Any, cfg: Any, distributed: bool = False, validate: bool = False,
                  logger: logging.Logger | None = None, timestamp: str | None = None, amp: bool = False,
                  auto_resume: bool = False, trust_checkpoint: bool = False, device: torch.device | None = None) -> Runner:
    """Train ``model`` on ``dataset`` as ``cfg`` says (original ``mmaction.apis.train_network``).

    ``cfg`` needs ``data``, ``optimizer``, ``total_epochs``, ``work_dir``; optional ``optimizer_config.grad_clip``,
    ``lr_config``, ``checkpoint_config``, ``log_config``, ``workflow``, ``fp16``, ``find_unused_parameters``,
    ``cudnn_benchmark``, ``resume_from``, ``load_from``, ``seed``, ``gpus``. Returns the finished runner.

    Training recipes: ``ema = dict(momentum=..., interval=..., update_buffers=...)`` or
    ``custom_hooks=[dict(type='EMAHook', ...)]`` (engine/ema.py); ``optimizer_config.accumulative_counts=K`` or
    ``optim_wrapper.accumulative_counts=K`` (one optimizer step per K loader batches, engine/runner.py);
    ``data.train_sampler = dict(type='RepeatAugSampler', num_repeats=N)`` (repeated augmentation); SyncBN
    (``norm_cfg=dict(type='SyncBN')``, ``use_syncbn=True``, ``sync_bn='torch'``, engine/sync_bn.py).
    """
    from mmaction.datasets import build_dataloader, build_dataset

    from .data_check import check_labels_against_head
    logger = logger or logging.getLogger('mmaction')
    optimizer_cfg, grad_clip = _optimizer_settings(cfg)
    for key in ('data', 'total_epochs', 'work_dir'):
        if cfg.get(key) is None:
            raise ConfigError(f"config key '{key}' is required for training")
    for key in ('videos_per_gpu', 'workers_per_gpu'):
        if key not in cfg.data:
            raise ConfigError(f"config key 'data.{key}' is required for training")
    check_labels_against_head(dataset, cfg.get('model'), logger, model=model)
    device = device or get_device()
    if cfg.get('cudnn_benchmark', False):
        torch.backends.cudnn.benchmark = True
    gpus = cfg.get('gpus', 1)
    if not distributed and gpus > 1:
        logger.warning(f'--gpus {gpus} without a launcher: training runs in one process on {device}; '
                       f'use tools/dist_train_recognizer.sh CONFIG {gpus} for multi-GPU training')

    workflow = [tuple(phase) for phase in cfg.get('workflow', [('train', 1)])]
    train_sampler = _train_sampler(cfg)
    loaders = []
    for mode, _ in workflow:
        if mode == 'train':
            # Pinned host batches let the runner's non_blocking copies overlap the previous step on CUDA.
            loaders.append(build_dataloader(dataset, cfg.data.videos_per_gpu, cfg.data.workers_per_gpu,
                                            num_gpus=1, dist=distributed, shuffle=True, seed=cfg.get('seed'),
                                            drop_last=False, pin_memory=device.type == 'cuda',
                                            sampler_cfg=train_sampler))
        else:
            loaders.append(_build_val_loader(cfg, distributed, build_dataset, build_dataloader, "workflow 'val'"))

    model = model.to(device)
    # Before DDP (it must see the final layers) and before the EMA copy (the average has the same layers).
    model = apply_sync_bn(model, distributed, device, logger, whole_model=sync_bn_whole_model(cfg))
    ema = build_ema(model, cfg)
    if distributed:
        model = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == 'cuda' else None, **_rank_local_buffers(),
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    optimizer = build_optimizer(model, optimizer_cfg)
    scheduler = build_lr_scheduler(optimizer, cfg.get('lr_config'))
    optimizer_config = cfg.get('optimizer_config') or {}
    unknown = set(optimizer_config) - {'grad_clip', 'skip_nonfinite', 'accumulative_counts'}
    if unknown:
        logger.warning(f"config 'optimizer_config': keys {sorted(unknown)} are ignored "
                       f"(only grad_clip, skip_nonfinite and accumulative_counts are used)")
    accumulative_counts = _accumulative_counts(cfg, optimizer_config)
    skip_nonfinite = optimizer_config.get('skip_nonfinite', False)
    if not isinstance(skip_nonfinite, bool):
        raise ConfigError(f"config 'optimizer_config.skip_nonfinite' must be True or False, got {skip_nonfinite!r}")
    auto_scale_batch = cfg.get('auto_scale_batch', False)
    if not isinstance(auto_scale_batch, bool):
        raise ConfigError(f"config 'auto_scale_batch' must be True or False, got {auto_scale_batch!r}")
    amp_enabled, loss_scale = _amp_setting(cfg, amp)

    evaluate = None
    if validate:
        val_loader = _build_val_loader(cfg, distributed, build_dataset, build_dataloader, '--validate')
        # AVA validation reports frame-mAP; every other dataset top-1/top-5 accuracy.
        from .detection import evaluate_detector
        # multi_class (multi-label) val sets: mAP (apis/multilabel.py)
        from .multilabel import evaluate_map, is_multi_label
        evaluate_fn = (evaluate_detector if hasattr(val_loader.dataset, 'keyframe_keys') else
                       evaluate_map if is_multi_label(val_loader.dataset) else evaluate_top_k)
        evaluate = lambda net: evaluate_fn(net, val_loader, device=device)  # noqa: E731
    checkpoint_config = cfg.get('checkpoint_config') or {}
    log_config = cfg.get('log_config') or {}
    meta = dict(mmact_version=mmact_version, config=config_text(cfg))
    runner = Runner(model, optimizer, scheduler, cfg.work_dir, logger, device=device, max_epochs=cfg.total_epochs,
                    grad_clip=grad_clip, amp=amp_enabled, loss_scale=loss_scale,
                    log_interval=log_config.get('interval', 20), checkpoint_interval=checkpoint_config.get('interval', 1),
                    timestamp=timestamp, meta=meta, evaluate=evaluate, log_config=log_config,
                    skip_nonfinite=skip_nonfinite, auto_scale_batch=auto_scale_batch,
                    watchdog_seconds=cfg.get('watchdog_seconds', 120.0), ema=ema,
                    accumulative_counts=accumulative_counts)

    resume_from = cfg.get('resume_from')
    resumed = None
    if auto_resume and resume_from is None and os.path.isdir(cfg.work_dir):
        if runner.rank == 0:
            for path in remove_stale_temp_files(cfg.work_dir):
                logger.info(f'--auto-resume: removed {path} (a checkpoint write cut short by a crash)')
        resumed = runner.auto_resume(cfg.work_dir, trust=trust_checkpoint)
    if resumed is None and resume_from:
        runner.resume(resume_from, trust=trust_checkpoint)
    elif resumed is None and cfg.get('load_from'):
        runner.load_weights(cfg.load_from, trust=trust_checkpoint)
    runner.run(loaders, workflow)
    return runner
