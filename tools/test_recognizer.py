"""Test a recognizer: ``python tools/test_recognizer.py CONFIG CKPT [--out default.pkl] [--use_softmax]``.

Multi-GPU / multi-process: ``bash tools/dist_test_recognizer.sh CONFIG CKPT N [args]``.
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mmaction.apis.cli import add_common_args, export_local_rank  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test an action recognizer')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', default='default.pkl', help='output result file (.pkl/.pickle)')
    parser.add_argument('--use_softmax', '--use-softmax', dest='use_softmax', action='store_true',
                        help='apply softmax before averaging each video\'s scores')
    parser.add_argument('--fcn_testing', '--fcn-testing', dest='fcn_testing', action='store_true',
                        help='fully convolutional testing (sets fcn_testing on the model and cls_head)')
    parser.add_argument('--tmpdir', default=None,
                        help='gather multi-process results through pickles in this folder (removed afterwards)')
    add_common_args(parser)
    args = parser.parse_args(argv)
    if not args.out.endswith(('.pkl', '.pickle')):
        parser.error(f'--out must end with .pkl or .pickle, got {args.out}')
    export_local_rank(args)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from mmaction.apis import get_root_logger, init_dist, test_recognizer
    from mmaction.utils.config import load_config

    cfg = load_config(args.config, args.cfg_options)
    if cfg.get('cudnn_benchmark', False):
        import torch
        torch.backends.cudnn.benchmark = True
    distributed = args.launcher != 'none'
    if distributed:
        init_dist(args.launcher, **dict(cfg.get('dist_params') or {}))
    get_root_logger(cfg.get('log_level', 'INFO'))
    test_recognizer(cfg, args.checkpoint, out=args.out, use_softmax=args.use_softmax,
                    fcn_testing=args.fcn_testing, distributed=distributed, trust=args.trust_checkpoint,
                    tmpdir=args.tmpdir)
    if distributed:
        from mmaction.engine import shutdown_dist
        shutdown_dist()


if __name__ == '__main__':
    main()
