"""Test an AVA detector: ``python tools/test_detector.py CONFIG CKPT [--out detection_result.pkl] [--eval bbox]``.

``--out``: list (one per key-frame of the test ann_file) of 80 float32 ``(n, 5)`` pixel arrays; when the file
exists, inference is skipped and the cached results are evaluated. ``--eval`` writes ``<out>.csv`` and prints
``PascalBoxes_Precision/mAP@0.5IOU`` (bbox) or Recall/AR (proposal). Multi-process:
``bash tools/dist_test_detector.sh CONFIG CKPT N [args]``.
"""
from __future__ import annotations

import argparse

from mmaction.apis.cli import add_test_args, check_pickle_out, export_local_rank, run_test_tool


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test an AVA spatio-temporal detector')
    add_test_args(parser, 'detection_result.pkl', 'result pickle (.pkl/.pickle)')
    parser.add_argument('--gpus', type=int, default=8, help='unused; kept for the original command lines')
    parser.add_argument('--eval', choices=['proposal', 'bbox'], nargs='*', default=[], help='evaluation type(s)')
    parser.add_argument('--ann_file', default=None, help='AVA ground-truth CSV (default: the test dataset\'s)')
    parser.add_argument('--label_file', default=None, help='AVA label-map pbtxt (default: the test dataset\'s)')
    parser.add_argument('--exclude_file', default=None, help='excluded timestamps CSV (default: the dataset\'s)')
    args = parser.parse_args(argv)
    check_pickle_out(parser, args)
    export_local_rank(args)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from mmaction.apis.detection import test_detector

    run_test_tool(args, lambda cfg, distributed, logger: test_detector(
        cfg, args.checkpoint, out=args.out, eval_types=args.eval, ann_file=args.ann_file,
        label_file=args.label_file, exclude_file=args.exclude_file, distributed=distributed,
        trust=args.trust_checkpoint, tmpdir=args.tmpdir, logger=logger, strict=not args.non_strict))


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
