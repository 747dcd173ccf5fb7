"""Re-evaluate a saved result pickle without running the model again.

    python tools/analysis/eval_metric.py CONFIG RESULT.pkl [--use-softmax] [--ann-file LIST]

Labels come from ``data.test.ann_file`` of CONFIG (or ``--ann-file``). Prints the same lines as the test tool.
"""
from __future__ import annotations

import argparse

from mmaction.apis.cli import labels_from_args


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Evaluate a recognition result pickle')
    parser.add_argument('config', help='test config (its data.test.ann_file gives the labels)')
    parser.add_argument('results', help='pickle written by tools/test_recognizer.py --out')
    parser.add_argument('--ann-file', default=None, help='override data.test.ann_file')
    parser.add_argument('--use-softmax', '--use_softmax', action='store_true',
                        help='softmax each video\'s scores before evaluating (does not change top-k)')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    from mmaction.evaluation.accuracy import format_metrics, fuse_scores, recognition_metrics
    from mmaction.utils.results import describe_score_kinds, load_scores
    labels = labels_from_args(args.ann_file, args.config)
    scores = load_scores(args.results)
    if scores.shape[0] != labels.shape[0]:
        raise ValueError(f'{args.results}: {scores.shape[0]} videos but the annotation list has {labels.shape[0]} '
                         f'(was the pickle made with this config?)')
    scores = fuse_scores([scores], [1.0], apply_softmax=args.use_softmax)
    metrics = recognition_metrics(scores, labels)
    print(f"Evaluating {scores.shape[0]} videos, {scores.shape[1]} classes "
          f"{'with' if args.use_softmax else 'without'} softmax")
    for note in describe_score_kinds([args.results], args.use_softmax):
        print(note)
    print('\n'.join(format_metrics(metrics)))
    return metrics


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
