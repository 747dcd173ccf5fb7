"""Test an AVA detector: ``python tools/test_detector.py CONFIG CKPT [--out detection_result.pkl] [--eval bbox]``.

``--out``: list (one per key-frame of the test ann_file) of 80 float32 ``(n, 5)`` pixel arrays; when the file
exists, inference is skipped and the cached results are evaluated. ``--eval`` writes ``<out>.csv`` and prints
``PascalBoxes_Precision/mAP@0.5IOU`` (bbox) or Recall/AR (proposal). Multi-process:
``bash tools/dist_test_detector.sh CONFIG CKPT N [args]``.
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mmaction.apis.cli import add_common_args, export_local_rank  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test an AVA spatio-temporal detector')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--gpus', type=int, default=8, help='unused; kept for the original command lines')
    parser.add_argument('--out', default='detection_result.pkl', help='result pickle (.pkl/.pickle)')
    parser.add_argument('--eval', choices=['proposal', 'bbox'], nargs='*', default=[], help='evaluation type(s)')
    parser.add_argument('--ann_file', default=None, help='AVA ground-truth CSV (default: the test dataset\'s)')
    parser.add_argument('--label_file', default=None, help='AVA label-map pbtxt (default: the test dataset\'s)')
    parser.add_argument('--exclude_file', default=None, help='excluded timestamps CSV (default: the dataset\'s)')
    parser.add_argument('--tmpdir', default=None, help='gather multi-process results through this folder')
    add_common_args(parser)
    args = parser.parse_args(argv)
    if not args.out.endswith(('.pkl', '.pickle')):
        parser.error(f'--out must end with .pkl or .pickle, got {args.out}')
    export_local_rank(args)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from mmaction.apis import get_root_logger, init_dist
    from mmaction.apis.detection import test_detector
    from mmaction.utils.config import load_config

    cfg = load_config(args.config, args.cfg_options)
    distributed = args.launcher != 'none'
    if distributed:
        init_dist(args.launcher, **dict(cfg.get('dist_params') or {}))
    logger = get_root_logger(cfg.get('log_level', 'INFO'))
    test_detector(cfg, args.checkpoint, out=args.out, eval_types=args.eval, ann_file=args.ann_file,
                  label_file=args.label_file, exclude_file=args.exclude_file, distributed=distributed,
                  trust=args.trust_checkpoint, tmpdir=args.tmpdir, logger=logger)
    if distributed:
        from mmaction.engine import shutdown_dist
        shutdown_dist()


if __name__ == '__main__':
    main()
