"""Heavy test of big 3D recognizers (FCN testing, views chunked by ``--batch_size``).

    python tools/test_recognizer_heavy.py CONFIG CKPT --out r.pkl [--batch_size 5] [--testfile LIST] [--use_softmax]
    bash tools/dist_test_recognizer_heavy.sh CONFIG CKPT NPROC --out r.pkl --batch_size 5
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mmaction.apis.cli import add_common_args, export_local_rank  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Heavy (fully convolutional, chunked) test of a 3D recognizer')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--testfile', default=None, help='annotation file replacing data.test.ann_file')
    parser.add_argument('--out', default=None, help='output result file (.pkl/.pickle); metrics need it')
    parser.add_argument('--use_softmax', '--use-softmax', dest='use_softmax', action='store_true',
                        help='softmax before averaging (applied on top of the FCN probabilities, as in the original)')
    parser.add_argument('--batch_size', '--batch-size', dest='batch_size', type=int, default=-1,
                        help='views per forward (-1: all views of a video at once)')
    parser.add_argument('--tmpdir', default=None, help='gather multi-process results through this folder')
    add_common_args(parser)
    args = parser.parse_args(argv)
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        parser.error(f'--out must end with .pkl or .pickle, got {args.out}')
    if args.batch_size == 0 or args.batch_size < -1:
        parser.error(f'--batch_size must be -1 or a positive number of views, got {args.batch_size}')
    export_local_rank(args)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from mmaction.apis import get_root_logger, init_dist
    from mmaction.apis.heavy_test import test_recognizer_heavy
    from mmaction.utils.config import load_config

    cfg = load_config(args.config, args.cfg_options)
    if cfg.get('cudnn_benchmark', False):
        import torch
        torch.backends.cudnn.benchmark = True
    distributed = args.launcher != 'none'
    if distributed:
        init_dist(args.launcher, **dict(cfg.get('dist_params') or {}))
    get_root_logger(cfg.get('log_level', 'INFO'))
    test_recognizer_heavy(cfg, args.checkpoint, out=args.out, use_softmax=args.use_softmax,
                          batch_size=args.batch_size, testfile=args.testfile, distributed=distributed,
                          trust=args.trust_checkpoint, tmpdir=args.tmpdir)
    if distributed:
        from mmaction.engine import shutdown_dist
        shutdown_dist()


if __name__ == '__main__':
    main()
