"""Check a feature folder against a THUMOS14 / ActivityNet JSON before training a one-stage detector.

    python data_tools/thumos14/check_features.py ANN_JSON FEATURE_DIR [--feat-dim 2048] [--feat-stride 4]
        [--num-frames 16] [--feat-prefix ''] [--default-fps 30]

Prints per subset: videos, videos with a feature file, the feature dimension(s), and the largest gap between a
sequence's length and ``(duration * fps - num_frames) / feat_stride + 1`` (the windows that fit in the video).
Exits 1 when a feature file is missing or has the wrong dimension.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict

import numpy as np



def check_features(ann_file: str, feat_dir: str, feat_dim: int | None = None, feat_stride: float = 4,
                   num_frames: float = 16, feat_prefix: str = '', default_fps: float | None = None) -> dict:
    """``{subset: dict(videos, with_features, dims, max_length_gap, missing=[...], bad_dim=[...])}``."""
    from mmaction.datasets.tad_feature_dataset import TADFeatureDataset  # after parsing: fast --help
    ds = TADFeatureDataset(ann_file, feat_dir, feat_prefix=feat_prefix, default_fps=default_fps, test_mode=True)
    report: dict = defaultdict(lambda: dict(videos=0, with_features=0, dims=set(), max_length_gap=0.0, missing=[],
                                            bad_dim=[]))
    for info in ds.video_infos:
        r = report[info['subset']]
        r['videos'] += 1
        base = os.path.join(feat_dir, feat_prefix + info['video_name'])
        path = base + '.npy'
        if not os.path.isfile(path):
            r['missing'].append(info['video_name'])
            continue
        shape = np.load(path, mmap_mode='r', allow_pickle=False).shape
        r['with_features'] += 1
        r['dims'].add(shape[1] if len(shape) == 2 else None)
        if len(shape) != 2 or (feat_dim and shape[1] != feat_dim):
            r['bad_dim'].append(f'{info["video_name"]} {shape}')
            continue
        expected = (info['duration'] * info['fps'] - num_frames) / feat_stride + 1
        r['max_length_gap'] = max(r['max_length_gap'], abs(shape[0] - expected))
    return {k: dict(v, dims=sorted(d for d in v['dims'] if d is not None)) for k, v in report.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('ann_file')
    p.add_argument('feat_dir')
    p.add_argument('--feat-dim', type=int, default=None)
    p.add_argument('--feat-stride', type=float, default=4)
    p.add_argument('--num-frames', type=float, default=16)
    p.add_argument('--feat-prefix', default='')
    p.add_argument('--default-fps', type=float, default=None)
    a = p.parse_args(argv)
    report = check_features(a.ann_file, a.feat_dir, a.feat_dim, a.feat_stride, a.num_frames, a.feat_prefix,
                            a.default_fps)
    bad = False
    for subset, r in sorted(report.items()):
        print(f"{subset}: {r['videos']} videos, {r['with_features']} with features, dims {r['dims']}, "
              f"largest length gap {r['max_length_gap']:.1f} steps")
        for name in r['missing'][:10]:
            print(f'  missing: {os.path.join(a.feat_dir, a.feat_prefix + name)}.npy')
        for row in r['bad_dim'][:10]:
            print(f'  wrong shape (expected (T, {a.feat_dim})): {row}')
        bad |= bool(r['missing'] or r['bad_dim'])
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
