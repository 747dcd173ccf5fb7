"""Fuse several score pickles with weights (e.g. RGB + Flow two-stream) and print the accuracies.

    python tools/analysis/report_accuracy.py --scores rgb.pkl flow.pkl --coefficients 1 1.5 \
        --ann-file data/ucf101/ucf101_val_split_1_rawframes.txt [--apply-softmax]
    python tools/analysis/report_accuracy.py --scores rgb.pkl flow.pkl --config test_configs/TSN/ucf101/tsn_rgb_bninception.py

Each pickle is what ``tools/test_recognizer.py --out`` writes (one (1, num_classes) array per video, list order).
The fused score is ``sum_i c_i * s_i`` (``softmax(s_i)`` with ``--apply-softmax``).
"""
from __future__ import annotations

import argparse
import os

from mmaction.apis.cli import labels_from_args


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Fuse score pickles and report accuracy')
    parser.add_argument('--scores', nargs='+', required=True, help='result pickles of the same test list')
    parser.add_argument('--coefficients', nargs='+', type=float, default=None,
                        help='one weight per pickle (default: 1 each)')
    parser.add_argument('--apply-softmax', action='store_true', help='softmax each pickle before fusing')
    parser.add_argument('--ann-file', default=None, help='test list giving the labels (last field of each line)')
    parser.add_argument('--config', default=None, help='or take data.test.ann_file from this config')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    from mmaction.evaluation.accuracy import format_metrics, fuse_scores, recognition_metrics
    from mmaction.utils.results import describe_score_kinds, load_scores
    labels = labels_from_args(args.ann_file, args.config)
    scores = [load_scores(p) for p in args.scores]
    for path, s in zip(args.scores, scores):
        if s.shape[0] != labels.shape[0]:
            raise ValueError(f'{path}: {s.shape[0]} videos but the annotation list has {labels.shape[0]}')
    fused = fuse_scores(scores, args.coefficients, args.apply_softmax)
    metrics = recognition_metrics(fused, labels)
    weights = args.coefficients or [1.0] * len(scores)
    print('Fusing ' + ' + '.join(f'{w:g} * {os.path.basename(p)}' for w, p in zip(weights, args.scores))
          + (' (softmax first)' if args.apply_softmax else ''))
    for note in describe_score_kinds(args.scores, args.apply_softmax):
        print(note)
    print('\n'.join(format_metrics(metrics)))
    return metrics


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
