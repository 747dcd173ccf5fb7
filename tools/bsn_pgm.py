"""BSN stage 2: proposal generation and boundary-sensitive features from the TEM results (no learning).

    python tools/bsn_pgm.py configs/localization/bsn/bsn_pgm_400x100_activitynet_feature.py --mode train
    python tools/bsn_pgm.py configs/localization/bsn/bsn_pgm_400x100_activitynet_feature.py --mode test

(mmaction2's ``tools/misc/bsn_proposal_generation.py``.) For each video of ``ann_file_train`` (``--mode train``)
or ``ann_file_val`` (``--mode test``), reads ``tem_results_dir/<video>.csv`` and writes
``pgm_proposals_dir/<video>.csv`` (the top ``top_k`` proposals with their tIoU/IoA against the GT) and
``pgm_features_dir/<video>.npy`` (their BSP features), with ``pgm_features_{train,test}_cfg``. Videos are
spread over ``--nproc`` worker processes (default: the config's ``pgm_proposals_thread``).
"""
from __future__ import annotations

import argparse
import multiprocessing
import os

from mmaction.apis.cli import DictAction


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='BSN proposal generation (PGM)')
    p.add_argument('config', help='PGM config (tem_results_dir, pgm_* dirs and settings, ann_file_train/val)')
    p.add_argument('--mode', choices=['train', 'test'], default='test',
                   help='train: ann_file_train with pgm_features_train_cfg; test: ann_file_val with the test cfg')
    p.add_argument('--ann-file', '--ann_file', dest='ann_file', help='annotation JSON overriding the mode default')
    p.add_argument('--nproc', type=int, default=None, help="worker processes (default: 'pgm_proposals_thread')")
    p.add_argument('--cfg-options', '--cfg_options', dest='cfg_options', nargs='+', action=DictAction,
                   help='override config entries, key=value')
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, int]:
    """Returns ``{video: number of proposals written}``."""
    args = parse_args(argv)
    from mmaction.datasets.activitynet_dataset import ActivityNetDataset
    from mmaction.datasets.bsn_datasets import write_pgm_outputs
    from mmaction.registry import ConfigError
    from mmaction.utils.config import load_config
    cfg = load_config(args.config, args.cfg_options)
    ann_key = 'ann_file_train' if args.mode == 'train' else 'ann_file_val'
    feat_key = f'pgm_features_{args.mode}_cfg'
    needed = ['tem_results_dir', 'pgm_proposals_dir', 'pgm_features_dir', 'pgm_proposals_cfg', feat_key]
    needed += [] if args.ann_file else [ann_key]
    missing = [k for k in needed if cfg.get(k) is None]
    if missing:
        raise ConfigError(f'{args.config}: BSN PGM needs config keys {missing}')
    ann_file = args.ann_file or cfg[ann_key]
    prop_cfg = {k: v for k, v in dict(cfg.pgm_proposals_cfg).items() if k == 'peak_threshold'}
    feat_cfg = {k: v for k, v in dict(cfg[feat_key]).items() if k != 'pgm_features_thread'}
    nproc = args.nproc or int(cfg.pgm_proposals_cfg.get('pgm_proposals_thread', 1))
    if nproc < 1:
        raise ConfigError(f'--nproc / pgm_proposals_cfg.pgm_proposals_thread must be >= 1, got {nproc}')
    anns = ActivityNetDataset(ann_file, '')  # annotations only: GT normalised by the duration the features cover
    for d in (cfg.pgm_proposals_dir, cfg.pgm_features_dir):
        os.makedirs(d, exist_ok=True)
    jobs = [(info['video_name'], anns.gt_bbox(info), cfg.tem_results_dir, cfg.pgm_proposals_dir,
             cfg.pgm_features_dir, prop_cfg, feat_cfg) for info in anns.video_infos]
    if nproc == 1 or len(jobs) < 2:
        done = [write_pgm_outputs(*j) for j in jobs]
    else:
        # fork: workers inherit the imported modules (PGM is numpy only); spawn where fork does not exist.
        # The worker is a function of an importable module, so it pickles under both.
        method = 'fork' if 'fork' in multiprocessing.get_all_start_methods() else 'spawn'
        with multiprocessing.get_context(method).Pool(min(nproc, len(jobs))) as pool:
            done = pool.starmap(write_pgm_outputs, jobs, chunksize=max(1, len(jobs) // (4 * nproc)))
    counts = dict(done)
    print(f'PGM ({args.mode}): {sum(counts.values())} proposals of {len(counts)} videos written to '
          f'{cfg.pgm_proposals_dir} and {cfg.pgm_features_dir}')
    return counts


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
