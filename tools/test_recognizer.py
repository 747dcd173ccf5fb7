"""Test a recognizer: ``python tools/test_recognizer.py CONFIG CKPT [--out default.pkl] [--use_softmax]``.

Multi-GPU / multi-process: ``bash tools/dist_test_recognizer.sh CONFIG CKPT N [args]``.
"""
from __future__ import annotations

import argparse

from mmaction.apis.cli import add_test_args, check_pickle_out, export_local_rank, run_test_tool


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test an action recognizer')
    add_test_args(parser, 'default.pkl', 'output result file (.pkl/.pickle)')
    parser.add_argument('--use_softmax', '--use-softmax', dest='use_softmax', action='store_true',
                        help='apply softmax before averaging each video\'s scores')
    parser.add_argument('--fcn_testing', '--fcn-testing', dest='fcn_testing', action='store_true',
                        help='fully convolutional testing (sets fcn_testing on the model and cls_head)')
    args = parser.parse_args(argv)
    check_pickle_out(parser, args)
    export_local_rank(args)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from mmaction.apis.test import test_recognizer

    run_test_tool(args, lambda cfg, distributed, logger: test_recognizer(
        cfg, args.checkpoint, out=args.out, use_softmax=args.use_softmax, fcn_testing=args.fcn_testing,
        distributed=distributed, trust=args.trust_checkpoint, tmpdir=args.tmpdir,
        strict=not args.non_strict))


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
