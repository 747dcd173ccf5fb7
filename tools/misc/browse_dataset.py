"""Write augmented training (or val/test) samples as GIFs, to see what the network is fed.

    python tools/misc/browse_dataset.py CONFIG --out-dir browse/ [--split train] [--num-samples 8] [--fps 4]

Each GIF shows every image of one sample in order (segments x crops, or the frames of each 3D clip), with
the normalisation of ``img_norm_cfg`` undone; the file name carries the index and the class name.
"""
from __future__ import annotations

import argparse
import os

import numpy as np


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from mmaction.apis.cli import DictAction
    parser = argparse.ArgumentParser(description='Write augmented samples as GIFs')
    parser.add_argument('config')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--split', default='train', choices=['train', 'val', 'test'])
    parser.add_argument('--num-samples', type=int, default=8)
    parser.add_argument('--fps', type=float, default=4.0)
    parser.add_argument('--label-map', default=None)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default=None)
    return parser.parse_args(argv)


def norm_cfg(ds_cfg: dict) -> dict:
    """``img_norm_cfg`` of a flag-style dataset config, or the ``Normalize`` step of a pipeline."""
    if ds_cfg.get('img_norm_cfg'):
        return dict(ds_cfg['img_norm_cfg'])
    for step in ds_cfg.get('pipeline') or []:
        if step.get('type') == 'Normalize':
            return dict(step)
    return dict(mean=[0, 0, 0], std=[1, 1, 1], to_rgb=True)


def sample_frames(imgs: np.ndarray, norm: dict) -> np.ndarray:
    """``(M, C, H, W)`` or ``(M, C, T, H, W)`` network input -> ``(N, H, W, 3)`` RGB uint8."""
    from mmaction.utils.visualization import denormalize
    if imgs.ndim == 5:  # NCTHW: show each clip's frames in order
        imgs = imgs.transpose(0, 2, 1, 3, 4).reshape(-1, imgs.shape[1], imgs.shape[3], imgs.shape[4])
    return denormalize(imgs, norm['mean'], norm['std'], bool(norm.get('to_rgb', True)))


def main(argv: list[str] | None = None) -> list[str]:
    args = parse_args(argv)
    from mmaction.registry import import_all_modules
    from mmaction.utils.config import load_config
    from mmaction.utils.results import find_label_map, read_label_map
    from mmaction.utils.visualization import write_gif
    import mmaction.datasets as datasets
    import_all_modules('mmaction.datasets', datasets.__path__)
    cfg = load_config(args.config, args.cfg_options)
    ds_cfg = cfg.data[args.split]
    dataset = datasets.build_dataset(ds_cfg, where=f'data.{args.split}')
    label_map = find_label_map(cfg, args.label_map)
    names = read_label_map(label_map) if label_map else None
    norm = norm_cfg(ds_cfg)
    written = []
    for i in range(min(args.num_samples, len(dataset))):
        sample = dataset[i]
        label = int(sample['gt_label'].reshape(-1)[0])
        name = names[label] if names and 0 <= label < len(names) else str(label)
        frames = sample_frames(sample['img_group_0'].numpy(), norm)
        out = os.path.join(args.out_dir, f'{i:04d}_{name}.gif')
        write_gif(list(frames), out, args.fps)
        written.append(out)
        print(f'{out}: {len(frames)} images of {frames.shape[1]}x{frames.shape[2]}')
    return written


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
