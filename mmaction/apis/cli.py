"""Command-line pieces shared by every tool: argument groups, the user-error guard and the ``dist_*.sh`` launcher.

Only the standard library is imported at module level: the tools parse their arguments (and answer ``--help``)
before torch is imported.

User errors (a config, checkpoint, annotation file or input that does not exist or does not fit) end a tool with
one line ``error: ...`` on stderr and exit status 1, printed by rank 0 only; ``--debug`` or ``MMACTION_DEBUG=1``
shows the traceback. Anything else is a bug and keeps its traceback. ``python -m mmaction.apis.cli`` is torchrun
(same arguments) that stays quiet when its workers stopped on such a user error.
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
from typing import Any, Callable, Iterable, Iterator

DEBUG_ENV = 'MMACTION_DEBUG'
# Under the launcher below, a worker that stops on a user error leaves its message in this folder and exits with
# this status (a crash also exits 1): the launcher prints the message once, whichever rank got there first.
_LAUNCHER_ENV = 'MMACTION_USER_ERROR_DIR'
_USER_ERROR_STATUS = 3


class _DebugAction(argparse.Action):
    """``--debug``: the env variable, so that every rank and the guard around ``main`` see it."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any):
        super().__init__(option_strings, dest, nargs=0, default=False, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        os.environ[DEBUG_ENV] = '1'
        setattr(namespace, self.dest, True)


class DictAction(argparse.Action):
    """mmengine's ``DictAction`` (``key=value`` pairs), imported only when the option is used: mmengine's config
    module costs most of a second, which ``--help`` should not pay."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        from mmengine.config import DictAction as _MMEngineDictAction
        _MMEngineDictAction(self.option_strings, self.dest, nargs=self.nargs)(parser, namespace, values,
                                                                               option_string)


def debug_enabled() -> bool:
    return os.environ.get(DEBUG_ENV, '') not in ('', '0')


def user_error_message(err: BaseException) -> str | None:
    """The one-line message of a user error, ``None`` for anything else (a bug: it keeps its traceback).

    User errors: a path that does not exist (``FileNotFoundError`` and the other path errors), and the project's
    config, checkpoint and download errors, whose messages name the file or key."""
    if isinstance(err, (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)):
        if err.filename is not None and err.strerror:
            return f'{err.filename}: {err.strerror}'
        return str(err)
    user_types = []
    for module, name in (('mmaction.registry', 'ConfigError'), ('mmaction.utils.checkpoint', 'CheckpointError'),
                         ('mmaction.utils.download', 'DownloadError')):
        if module in sys.modules:  # not imported: it cannot have raised
            user_types.append(getattr(sys.modules[module], name))
    if user_types and isinstance(err, tuple(user_types)):
        return str(err)
    return None


def _rank() -> int:
    try:
        return int(os.environ.get('RANK', '0'))
    except ValueError:
        return 0


def exit_on_user_error(err: BaseException) -> None:
    """For a user error (and no ``--debug``): ``error: ...`` once, exit 1. Returns for anything else."""
    message = user_error_message(err)
    if message is None or debug_enabled():
        return None
    report_dir = os.environ.get(_LAUNCHER_ENV)
    if report_dir and os.path.isdir(report_dir):
        with open(os.path.join(report_dir, f'{_rank():06d}'), 'w') as f:
            f.write(message)
        sys.exit(_USER_ERROR_STATUS)
    if _rank() == 0:
        sys.stderr.write(f'error: {message}\n')
        sys.stderr.flush()
    sys.exit(1)


def run_tool(main: Callable[[], Any]) -> Any:
    """Run a tool's ``main()`` (its ``if __name__ == '__main__'`` body) with the user-error guard; returns what
    ``main`` returns. ``--debug`` is taken out of ``sys.argv`` here, so every tool accepts it."""
    if '--debug' in sys.argv[1:]:
        sys.argv.remove('--debug')
        os.environ[DEBUG_ENV] = '1'
    try:
        return main()
    except Exception as err:  # noqa: BLE001 - user errors become one line, the rest is re-raised as is
        exit_on_user_error(err)
        raise


@contextlib.contextmanager
def worker_error_reports() -> Iterator[str]:
    """A folder where the worker processes this process starts (they inherit the environment) leave the message of
    a user error they stopped on; removed afterwards."""
    report_dir = tempfile.mkdtemp(prefix='mmaction-errors-')
    previous = os.environ.get(_LAUNCHER_ENV)
    os.environ[_LAUNCHER_ENV] = report_dir
    try:
        yield report_dir
    finally:
        if previous is None:
            os.environ.pop(_LAUNCHER_ENV, None)
        else:
            os.environ[_LAUNCHER_ENV] = previous
        shutil.rmtree(report_dir, ignore_errors=True)


def workers_user_error(exit_codes: Iterable[int], report_dir: str) -> str | None:
    """The message to print when the failed workers (``exit_codes``) stopped on a user error and the others were
    stopped by their launcher (SIGTERM/SIGKILL); ``None`` when a worker failed otherwise (or with ``--debug``)."""
    reports = sorted(os.listdir(report_dir))
    if debug_enabled() or not reports or \
            not set(exit_codes) <= {_USER_ERROR_STATUS, -signal.SIGTERM, -signal.SIGKILL}:
        return None
    with open(os.path.join(report_dir, reports[0])) as f:
        return f.read()


class _HeldLogs(logging.Handler):
    """Log records held back by :func:`hold_logs`."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.discard = False

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def hold_logs(*names: str) -> Iterator[_HeldLogs]:
    """Hold back the records of the loggers ``names`` (a launcher's "closing signal" / "failed (exitcode ...)"
    lines) and emit them at the end, unless ``discard`` was set (the failure was a user error, already said in
    one line)."""
    held = _HeldLogs()
    loggers = [logging.getLogger(name) for name in names]
    saved = [(lg.handlers[:], lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.handlers, lg.propagate = [held], False
    try:
        yield held
    finally:
        for lg, (handlers, propagate) in zip(loggers, saved):
            lg.handlers, lg.propagate = handlers, propagate
        if not held.discard:
            for record in held.records:
                logging.getLogger(record.name).handle(record)


def launch(argv: list[str] | None = None) -> int:
    """torchrun (same arguments) with the user-error rule: when the workers stop on a user error, one line
    ``error: ...`` instead of every rank's output and torchrun's failure report."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    with hold_logs('torch.distributed.elastic.multiprocessing.api',
                   'torch.distributed.elastic.agent.server.api') as held, worker_error_reports() as report_dir:
        try:
            run(parse_args(argv))
            return 0
        except ChildFailedError as err:
            message = workers_user_error([f.exitcode for f in err.failures.values()], report_dir)
            if message is None:
                raise
            held.discard = True
    sys.stderr.write(f'error: {message}\n')
    return 1


def free_port(host: str = '127.0.0.1') -> int:
    """A TCP port nobody listens on now (for a process group started by the tool itself, or by a test)."""
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


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
    parser.add_argument('--debug', action=_DebugAction,
                        help=f'show the full traceback of user errors (missing files, config mistakes) too; '
                             f'or set {DEBUG_ENV}=1')


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
    add_non_strict_arg(parser)
    add_common_args(parser)


def add_non_strict_arg(parser: argparse.ArgumentParser) -> None:
    """``--non-strict``: test/inference tools load checkpoints strictly unless this is given."""
    parser.add_argument('--non-strict', '--non_strict', dest='non_strict', action='store_true',
                        help='load a checkpoint that does not match the model exactly (missing/unexpected/'
                             'mismatched keys are reported as a warning instead of an error)')


def check_pickle_out(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """``--out`` (when given) must name a pickle; ``parser.error`` otherwise (exit 2 with the usage line)."""
    from mmaction.utils.io import check_pickle_path
    try:
        check_pickle_path(args.out, writable=False)  # writability is checked when the tool runs
    except ValueError as err:
        parser.error(str(err))


def run_test_tool(args: argparse.Namespace, run: Callable[[Any, bool, Any], Any]) -> Any:
    """The body of the pickle-writing test tools: load the config (``--cfg-options`` applied), honour
    ``cudnn_benchmark``, join the process group for ``--launcher``, set up the root logger, then
    ``run(cfg, distributed, logger)``. The group is left only after success: a barrier could wait forever on
    a rank that died."""
    from mmaction.engine.dist_utils import init_dist
    from mmaction.utils.config import load_config
    from mmaction.utils.device import set_tf32
    from mmaction.utils.logger import get_root_logger

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
                             '(overrides dist_params.timeout; default 10 min)')
    parser.add_argument('--check-data', '--check_data', dest='check_data', action='store_true',
                        help='do not train: open every video / count every frame folder of data.train and data.val, '
                             'print a report (OK / missing / short / undecodable with paths and list lines) and '
                             'exit non-zero if anything is bad')
    add_common_args(parser)


def labels_from_args(ann_file: str | None, config: str | None) -> Any:
    """Labels (``numpy`` int array) from ``--ann-file`` or the config's ``data.test.ann_file``, for the tools that
    evaluate result pickles."""
    from mmaction.utils.results import read_labels
    if ann_file:
        return read_labels(ann_file)
    if config:
        from mmaction.utils.config import load_config
        cfg = load_config(config)
        try:
            return read_labels(cfg.data.test.ann_file)
        except (AttributeError, KeyError):
            raise ValueError(f"{config}: config has no 'data.test.ann_file'; pass --ann-file") from None
    raise ValueError('give the ground truth with --ann-file LIST or --config CONFIG')


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
        from mmaction.models.builder import is_mmaction2_model
        if is_mmaction2_model(cfg.model):
            # mmaction2 models initialise (and read `pretrained`) in init_weights, as mmaction2's runner calls it
            # before training; the original models do it in their constructors.
            model.init_weights()
        from mmaction.apis.model_loading import normalize_once
        normalize_once(model, cfg.data.train)  # an mmaction2 model's data preprocessor vs the dataset's Normalize
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
        if isinstance(err, Exception) and user_error_message(err) is not None and not debug_enabled():
            raise  # run_tool prints it once (rank 0)
        rank = os.environ.get('RANK', '?')
        sys.stderr.write(f'[mmaction] rank {rank} failed: {type(err).__name__}: {err}\n')
        sys.stderr.flush()
        raise  # no destroy_process_group here: it could block on the collectives the other ranks are in
    from mmaction.engine import shutdown_dist
    shutdown_dist()
    return runner


if __name__ == '__main__':
    sys.exit(launch())
