"""Command-line pieces shared by the train and test tools."""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, Callable

from mmaction.utils.config import DictAction


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """``--trust-checkpoint``, ``--cfg-options``, ``--launcher`` and ``--local_rank``/``--local-rank``."""
    parser.add_argument('--trust-checkpoint', '--trust_checkpoint', dest='trust_checkpoint', action='store_true',
                        help='allow full unpickling of checkpoint files (only for files you trust)')
    parser.add_argument('--cfg-options', '--cfg_options', dest='cfg_options', nargs='+', action=DictAction,
                        help='override config entries, key=value (e.g. optimizer.lr=0.01 total_epochs=2)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher')
    # torch.distributed.launch passed --local_rank=N, newer versions --local-rank=N; torchrun sets LOCAL_RANK.
    parser.add_argument('--local_rank', '--local-rank', dest='local_rank', type=int, default=0)


def export_local_rank(args: argparse.Namespace) -> None:
    """Make ``--local_rank`` visible as env ``LOCAL_RANK`` (device selection reads the env)."""
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)


def add_test_args(parser: argparse.ArgumentParser, out_default: str | None, out_help: str) -> None:
    """``config checkpoint [--out] [--tmpdir]`` plus :func:`add_common_args`, as every ``tools/test_*.py`` takes."""
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', default=out_default, help=out_help)
    parser.add_argument('--tmpdir', default=None,
                        help='gather multi-process results through pickles in this folder (removed afterwards)')
    add_common_args(parser)


def check_pickle_out(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """``--out`` (when given) must name a pickle; ``parser.error`` otherwise (exit 2 with the usage line)."""
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        parser.error(f'--out must end with .pkl or .pickle, got {args.out}')


def run_test_tool(args: argparse.Namespace, run: Callable[[Any, bool, Any], Any]) -> Any:
    """The body of the pickle-writing test tools: load the config (``--cfg-options`` applied), honour
    ``cudnn_benchmark``, join the process group for ``--launcher``, set up the root logger, then
    ``run(cfg, distributed, logger)``. The group is left only after success: a barrier could wait forever on
    a rank that died."""
    from mmaction.apis import get_root_logger, init_dist
    from mmaction.utils.config import load_config
    from mmaction.utils.device import set_tf32

    cfg = load_config(args.config, args.cfg_options)
    if cfg.get('cudnn_benchmark', False):
        import torch
        torch.backends.cudnn.benchmark = True
    set_tf32(True)  # numerics policy (docs/gpu.md): scores within ~1e-3 relative of full float32
    distributed = args.launcher != 'none'
    if distributed:
        init_dist(args.launcher, **dict(cfg.get('dist_params') or {}))
    logger = get_root_logger(cfg.get('log_level', 'INFO'))
    result = run(cfg, distributed, logger)
    if distributed:
        from mmaction.engine import shutdown_dist
        shutdown_dist()
    return result


def add_train_args(parser: argparse.ArgumentParser, validate_help: str) -> None:
    """The flags every ``tools/train_*.py`` takes (the original train_recognizer's set, plus ours)."""
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work_dir', '--work-dir', dest='work_dir', help='the dir to save logs and models')
    parser.add_argument('--resume_from', '--resume-from', dest='resume_from', help='checkpoint to resume from')
    parser.add_argument('--auto-resume', '--auto_resume', dest='auto_resume', action='store_true',
                        help='resume from the newest checkpoint in work_dir, if any')
    parser.add_argument('--validate', action='store_true', help=validate_help)
    parser.add_argument('--gpus', type=int, default=1, help='number of gpus to use (non-distributed)')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument('--deterministic', action='store_true',
                        help='deterministic cuDNN/torch kernels and no TF32 (full float32 on CUDA)')
    parser.add_argument('--amp', action='store_true', help='mixed precision (fp16 on CUDA, bf16 on CPU)')
    parser.add_argument('--dist-timeout', '--dist_timeout', dest='dist_timeout', type=float, default=None,
                        help='seconds a collective may wait for the other ranks before failing '
                             '(overrides dist_params.timeout; torch default 30 min for gloo, 10 min for nccl)')
    parser.add_argument('--check-data', '--check_data', dest='check_data', action='store_true',
                        help='do not train: open every video / count every frame folder of data.train and data.val, '
                             'print a report (OK / missing / short / undecodable with paths and list lines) and '
                             'exit non-zero if anything is bad')
    add_common_args(parser)


def resolve_dist_params(cfg_params: dict | None, dist_timeout: float | None) -> dict:
    """``dist_params`` for :func:`init_dist`, with ``timeout`` (seconds, from the config or ``--dist-timeout``)
    turned into the ``timedelta`` ``init_process_group`` wants."""
    import datetime
    from mmaction.registry import ConfigError
    params = dict(cfg_params or {})
    timeout = dist_timeout if dist_timeout is not None else params.get('timeout')
    if timeout is None:
        params.pop('timeout', None)
        return params
    if isinstance(timeout, datetime.timedelta):
        timeout = timeout.total_seconds()
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ConfigError(f"config 'dist_params.timeout' / --dist-timeout must be a positive number of seconds, "
                          f"got {timeout!r}")
    params['timeout'] = datetime.timedelta(seconds=float(timeout))
    return params


def train_main(argv: list[str] | None, build_fn: Callable[..., Any], description: str,
               build_dataset_fn: Callable[[Any], Any] | None = None,
               validate_help: str = 'evaluate top-1/top-5 on data.val every epoch') -> Any:
    """The body of ``tools/train_{recognizer,detector,localizer}.py``: only the model builder (``build_fn(model_cfg,
    train_cfg=, test_cfg=)``) and the training-set builder differ. Returns the finished runner."""
    parser = argparse.ArgumentParser(description=description)
    add_train_args(parser, validate_help)
    args = parser.parse_args(argv)
    export_local_rank(args)

    from mmaction.apis import get_root_logger, init_dist, set_random_seed, train_network
    from mmaction.registry import ConfigError
    from mmaction.utils.config import load_config
    from mmaction.utils.device import set_tf32
    if build_dataset_fn is None:
        from mmaction.datasets import build_dataset as build_dataset_fn

    cfg = load_config(args.config, args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = os.path.join('./work_dirs', os.path.splitext(os.path.basename(args.config))[0])
    if args.resume_from is not None:
        cfg.resume_from = args.resume_from
    cfg.gpus = args.gpus

    if args.check_data:
        from mmaction.apis.data_check import check_data
        report = check_data(cfg)
        print(report.format(), flush=True)
        sys.exit(0 if report.ok else 1)

    distributed = args.launcher != 'none'
    if distributed:
        init_dist(args.launcher, **resolve_dist_params(cfg.get('dist_params'), args.dist_timeout))

    def run() -> Any:
        timestamp = time.strftime('%Y%m%d_%H%M%S', time.localtime())
        log_file = os.path.join(cfg.work_dir, f'{timestamp}.log')
        logger = get_root_logger(cfg.get('log_level', 'INFO'), log_file=log_file)
        logger.info(f'Distributed training: {distributed}')
        set_tf32(not args.deterministic)  # numerics policy (docs/gpu.md): TF32 for speed unless --deterministic
        seed = args.seed if args.seed is not None else cfg.get('seed')
        if seed is not None:
            logger.info(f'Set random seed to {seed}, deterministic: {args.deterministic}')
            set_random_seed(seed, deterministic=args.deterministic)
            cfg.seed = seed

        if 'data' not in cfg or 'train' not in cfg.data:
            raise ConfigError(f"{args.config}: config has no 'data.train' entry (the training dataset)")
        if isinstance(cfg.data.train, (list, tuple)):
            raise ConfigError(f"{args.config}: 'data.train' must be one dataset dict (several training sets were "
                              f"never supported by the original either)")
        model = build_fn(cfg.model, train_cfg=cfg.get('train_cfg'), test_cfg=cfg.get('test_cfg'))
        dataset = build_dataset_fn(cfg.data.train)
        return train_network(model, dataset, cfg, distributed=distributed, validate=args.validate, logger=logger,
                             timestamp=timestamp, amp=args.amp, auto_resume=args.auto_resume,
                             trust_checkpoint=args.trust_checkpoint)

    if not distributed:
        return run()
    # record() writes this rank's exception to torchrun's error file, so the launcher's failure summary names the
    # failing rank and its message; torchrun then stops the other ranks (which may be waiting in a collective)
    # and exits non-zero. The line on stderr says the same for logs that only keep the process output.
    from torch.distributed.elastic.multiprocessing.errors import record
    try:
        runner = record(run)()
    except BaseException as err:
        rank = os.environ.get('RANK', '?')
        sys.stderr.write(f'[mmaction] rank {rank} failed: {type(err).__name__}: {err}\n')
        sys.stderr.flush()
        raise  # no destroy_process_group here: it could block on the collectives the other ranks are in
    from mmaction.engine import shutdown_dist
    shutdown_dist()
    return runner
