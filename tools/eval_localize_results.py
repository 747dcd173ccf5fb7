"""Evaluate (and fuse) SSN localizer output pickles: the THUMOS14 / ActivityNet detection mAP table.

    python tools/eval_localize_results.py CONFIG rgb.pkl [flow.pkl ...] --eval thumos14 [--score_weights 1 1.5]

Outputs from several pickles (e.g. RGB + Flow) are fused by a weighted sum of their activity, completeness and
regression arrays; proposals are taken from the first file. Ground truth comes from ``data.test.ann_file``.
"""
from __future__ import annotations

import argparse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Evaluate SSN localization results')
    p.add_argument('config')
    p.add_argument('outputs', nargs='+', help='localizer output pickles')
    p.add_argument('--eval', choices=['thumos14', 'activitynet'], default='thumos14')
    p.add_argument('--no_regression', '--no-regression', dest='no_regression', action='store_true')
    p.add_argument('--score_weights', '--score-weights', dest='score_weights', type=float, nargs='+',
                   help='one weight per output file (default: equal)')
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    from mmaction.apis.localization import eval_localize_results
    from mmaction.evaluation.ssn_detection import check_outputs
    from mmaction.utils.config import load_config
    from mmaction.utils.io import load_pickle
    cfg = load_config(args.config)
    outputs = []
    for path in args.outputs:
        out = load_pickle(path)
        check_outputs(out, path)
        outputs.append(out)
    result = eval_localize_results(cfg, outputs, args.eval, not args.no_regression, args.score_weights)
    print(result['table'])
    return result


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
