"""BSN stage 1 inference: a trained TEM writes one ``(T, 5)`` CSV per video (``action,start,end,tmin,tmax``).

    python tools/bsn_tem_inference.py configs/localization/bsn/bsn_tem_400x100_1x16_20e_activitynet_feature.py \\
        work_dirs/bsn_400x100_20e_1x16_activitynet_feature/latest.pth [--data test] [--out-dir DIR]

Runs over the datasets named by ``--data`` (entries of the config's ``data``; mmaction2's TEM config tests on
``anet_anno_full.json`` so that PGM has TEM results for the training and validation videos) and writes
``<out-dir>/<video>.csv`` (default: the config's ``tem_results_dir``), the input of ``tools/bsn_pgm.py``.
"""
from __future__ import annotations

import argparse
import os

from mmaction.apis.cli import add_common_args, add_non_strict_arg, export_local_rank


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='BSN: write TEM results (per-video CSVs) for PGM')
    p.add_argument('config', help='TEM config (model.type TEM)')
    p.add_argument('checkpoint', help='trained TEM checkpoint')
    p.add_argument('--data', nargs='+', default=['test'], help="config 'data' entries to run over (default: test)")
    p.add_argument('--out-dir', '--out_dir', dest='out_dir', help="output folder (default: config 'tem_results_dir')")
    add_common_args(p)
    add_non_strict_arg(p)
    args = p.parse_args(argv)
    if args.launcher != 'none':
        # TEM inference is a few ms per video; one process writes every CSV (no per-rank file split to merge)
        p.error('bsn_tem_inference.py runs in one process; drop --launcher')
    export_local_rank(args)
    return args


def main(argv: list[str] | None = None) -> int:
    """Returns the number of CSVs written."""
    args = parse_args(argv)
    from mmaction.apis.localization import build_localization_dataset, feature_localizer_step
    from mmaction.apis.model_loading import load_model
    from mmaction.datasets.bsn_datasets import TEM_COLUMNS, write_table
    from mmaction.engine.test_loop import inference, inference_loader
    from mmaction.registry import ConfigError
    from mmaction.utils.config import load_config

    cfg = load_config(args.config, args.cfg_options)
    if cfg.model.get('type') != 'TEM':
        raise ConfigError(f"{args.config}: 'model.type' must be 'TEM' for TEM inference, got {cfg.model.get('type')!r}")
    out_dir = args.out_dir or cfg.get('tem_results_dir')
    if not out_dir:
        raise ConfigError(f"{args.config}: give --out-dir or set 'tem_results_dir' in the config")
    model = load_model(cfg, args.checkpoint, strict=not args.non_strict, trust_checkpoint=args.trust_checkpoint,
                       kind='localizer')
    os.makedirs(out_dir, exist_ok=True)
    written = 0
    for split in args.data:
        if split not in cfg.data:
            raise ConfigError(f"{args.config}: no 'data.{split}' entry (--data names entries of the config's data)")
        dataset_cfg = dict(cfg.data[split])
        dataset_cfg['test_mode'] = True
        dataset = build_localization_dataset(dataset_cfg, f'data.{split}')
        for out in inference(model, inference_loader(dataset), step=feature_localizer_step, desc=f'TEM data.{split}'):
            write_table(os.path.join(out_dir, out['video_name'] + '.csv'), out['tem_output'], TEM_COLUMNS)
            written += 1
    print(f'TEM results of {written} videos written to {out_dir}')
    return written


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
