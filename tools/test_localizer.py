"""Test a temporal localizer.

Feature localizers (BMN/BSN, ActivityNetDataset): writes ``{"results": {video: [{score, segment}]}}`` to ``--out``
(.json) and prints AR@1/5/10/100 and AUC with ``--eval AR@AN``. One-stage detectors (ActionFormer, TriDet on a
TADFeatureDataset) write labelled segments and print detection mAP with ``--eval thumos14|activitynet``.
SSN (``model.type='SSN2D'``): runs the network over ``data.test`` (segmental consensus rewritten into
``STPPReorganized``), writes the localizer pickle (``--out`` .pkl, §2.6) and with ``--eval thumos14|activitynet``
prints the original "Temporal detection performance" table.

Multi-process: ``bash tools/dist_test_localizer.sh CONFIG CKPT N [args]`` (torchrun + ``--launcher pytorch``), or
``--gpus N`` which starts the N processes itself (one per GPU, or CPU processes with gloo). Each process runs the
videos ``rank::N``; rank 0 gathers them in dataset order, writes ``--out`` and prints the table.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from mmaction.apis.cli import (add_test_args, export_local_rank, free_port, hold_logs, run_tool,
                               worker_error_reports, workers_user_error)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Test a temporal action localizer')
    add_test_args(p, None, 'output file: .json (proposals) for BMN/BSN, .pkl for SSN')
    p.add_argument('--gpus', type=int, default=1,
                   help='number of test processes to start (one per GPU; CPU processes without GPUs)')
    p.add_argument('--proc_per_gpu', type=int, default=1, help='kept for the original CLI')
    p.add_argument('--eval', choices=['AR@AN', 'thumos14', 'activitynet'], help='evaluation to run')
    p.add_argument('--no_regression', '--no-regression', dest='no_regression', action='store_true',
                   help='SSN: do not apply the boundary regression')
    args = p.parse_args(argv)
    if args.gpus < 1:
        p.error(f'--gpus must be >= 1, got {args.gpus}')
    if args.gpus > 1 and args.launcher != 'none':
        p.error('--gpus N starts its own processes; with --launcher the launcher sets the process count')
    export_local_rank(args)
    return args


def _spawned_worker(rank: int, world: int, port: int, argv: list[str]) -> None:
    """One ``--gpus N`` process: the environment torchrun would set, then the ``--launcher pytorch`` path."""
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world), LOCAL_WORLD_SIZE=str(world),
                      MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    run_tool(lambda: main(argv + ['--gpus', '1', '--launcher', 'pytorch']))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.gpus > 1:
        import torch.multiprocessing as mp
        # --gpus is dropped from the workers' arguments (argparse keeps the last value; they get '--gpus 1')
        message = None
        with hold_logs('torch.multiprocessing.spawn') as held, worker_error_reports() as reports:
            try:
                mp.spawn(_spawned_worker, args=(args.gpus, free_port(), list(sys.argv[1:] if argv is None else argv)),
                         nprocs=args.gpus, join=True)
            except mp.ProcessExitedException as err:  # a worker exited (an exception in one is ProcessRaisedException)
                message = workers_user_error([err.exit_code], reports)
                if message is None:
                    raise
                held.discard = True
        if message is None:
            return
        sys.stderr.write(f'error: {message}\n')
        sys.exit(1)
    from mmaction.engine.dist_utils import get_dist_info, init_dist
    from mmaction.utils.config import load_config
    cfg = load_config(args.config, args.cfg_options)
    distributed = args.launcher != 'none'
    if distributed:
        init_dist(args.launcher, **dict(cfg.get('dist_params') or {}))
    _test(args, cfg, distributed, is_main=get_dist_info()[0] == 0)
    if distributed:  # not on failure: a barrier could wait forever on a rank that died
        from mmaction.engine import shutdown_dist
        shutdown_dist()


def _test(args: argparse.Namespace, cfg: Any, distributed: bool, is_main: bool) -> None:
    """Test and print; only rank 0 gets metrics back, so only it prints the table."""
    from mmaction.apis.localization import format_ar_an, test_feature_localizer, test_ssn
    kwargs = dict(trust=args.trust_checkpoint, distributed=distributed, tmpdir=args.tmpdir, strict=not args.non_strict)
    if cfg.model.get('type') == 'SSN2D':
        if args.eval == 'AR@AN':
            raise SystemExit('SSN reports detection mAP: use --eval thumos14 or --eval activitynet')
        metrics = test_ssn(cfg, args.checkpoint, args.out, args.eval, regression=not args.no_regression, **kwargs)
        if args.out and is_main:
            print(f'SSN outputs written to {args.out}')
        if metrics:
            print(metrics['table'])
        return
    if args.eval not in (None, 'AR@AN') and cfg.data.test.get('type') != 'TADFeatureDataset':
        raise SystemExit(f'--eval {args.eval} needs SSN outputs or a TADFeatureDataset (ActionFormer/TriDet); '
                         'proposal generators report --eval AR@AN')
    metrics = test_feature_localizer(cfg, args.checkpoint, args.out, args.eval, **kwargs)
    if args.out and is_main:
        print(f'proposals written to {args.out}')
    if metrics:
        print(format_ar_an(metrics))


if __name__ == '__main__':
    run_tool(main)
