"""Heavy test of big 3D recognizers (FCN testing, views chunked by ``--batch_size``).

    python tools/test_recognizer_heavy.py CONFIG CKPT --out r.pkl [--batch_size 5] [--testfile LIST] [--use_softmax]
    bash tools/dist_test_recognizer_heavy.sh CONFIG CKPT NPROC --out r.pkl --batch_size 5
"""
from __future__ import annotations

import argparse

from mmaction.apis.cli import add_test_args, check_pickle_out, export_local_rank, run_test_tool


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Heavy (fully convolutional, chunked) test of a 3D recognizer')
    add_test_args(parser, None, 'output result file (.pkl/.pickle); metrics need it')
    parser.add_argument('--testfile', default=None, help='annotation file replacing data.test.ann_file')
    parser.add_argument('--use_softmax', '--use-softmax', dest='use_softmax', action='store_true',
                        help='softmax before averaging (applied on top of the FCN probabilities, as in the original)')
    parser.add_argument('--batch_size', '--batch-size', dest='batch_size', type=int, default=-1,
                        help='views per forward (-1: all views of a video at once)')
    args = parser.parse_args(argv)
    check_pickle_out(parser, args)
    if args.batch_size == 0 or args.batch_size < -1:
        parser.error(f'--batch_size must be -1 or a positive number of views, got {args.batch_size}')
    export_local_rank(args)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from mmaction.apis.heavy_test import test_recognizer_heavy

    run_test_tool(args, lambda cfg, distributed, logger: test_recognizer_heavy(
        cfg, args.checkpoint, out=args.out, use_softmax=args.use_softmax, batch_size=args.batch_size,
        testfile=args.testfile, distributed=distributed, trust=args.trust_checkpoint, tmpdir=args.tmpdir,
        strict=not args.non_strict))


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
