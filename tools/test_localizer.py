"""Test a temporal localizer.

Feature localizers (BMN/BSN, ActivityNetDataset): writes ``{"results": {video: [{score, segment}]}}`` to ``--out``
(.json) and prints AR@1/5/10/100 and AUC with ``--eval AR@AN``.
SSN (``model.type='SSN2D'``): runs the network over ``data.test`` (segmental consensus rewritten into
``STPPReorganized``), writes the localizer pickle (``--out`` .pkl, §2.6) and with ``--eval thumos14|activitynet``
prints the original "Temporal detection performance" table.
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from mmaction.apis.cli import add_common_args, export_local_rank  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Test a temporal action localizer')
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--gpus', type=int, default=1, help='kept for the original CLI; one process per device')
    p.add_argument('--proc_per_gpu', type=int, default=1, help='kept for the original CLI')
    p.add_argument('--out', help='output file: .json (proposals) for BMN/BSN, .pkl for SSN')
    p.add_argument('--eval', choices=['AR@AN', 'thumos14', 'activitynet'], help='evaluation to run')
    p.add_argument('--no_regression', '--no-regression', dest='no_regression', action='store_true',
                   help='SSN: do not apply the boundary regression')
    add_common_args(p)
    args = p.parse_args(argv)
    export_local_rank(args)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from mmaction.apis.localization import format_ar_an, test_feature_localizer, test_ssn
    from mmaction.utils.config import load_config
    cfg = load_config(args.config, args.cfg_options)
    if cfg.model.get('type') == 'SSN2D':
        if args.eval == 'AR@AN':
            raise SystemExit('SSN reports detection mAP: use --eval thumos14 or --eval activitynet')
        metrics = test_ssn(cfg, args.checkpoint, args.out, args.eval, regression=not args.no_regression,
                           trust=args.trust_checkpoint)
        if args.out:
            print(f'SSN outputs written to {args.out}')
        if metrics:
            print(metrics['table'])
        return
    if args.eval not in (None, 'AR@AN'):
        raise SystemExit(f'--eval {args.eval} needs SSN outputs; feature localizers report --eval AR@AN')
    metrics = test_feature_localizer(cfg, args.checkpoint, args.out, args.eval, trust=args.trust_checkpoint)
    if args.out:
        print(f'proposals written to {args.out}')
    if metrics:
        print(format_ar_an(metrics))


if __name__ == '__main__':
    main()
