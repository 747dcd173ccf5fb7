#!/usr/bin/env python
"""Generate the built-in toy action dataset: class-sorted H.264 videos, rawframes and the original list files.

    python data_tools/toy/build_toy_dataset.py --out data/toy [--num-per-class 45] [--seed 0] [--workers 2]

Layout written under ``--out``::

    videos/<class>/<name>.mp4                     H.264, yuv420p
    rawframes/<class>/<name>/img_00001.jpg ...     1-based, the generated frames themselves
    toy_{train,val}_list_rawframes.txt             "<class>/<name> <num_frames> <label>"
    toy_{train,val}_list_videos.txt                "<class>/<name> <label>"   (video_ext='mp4')
    classInd.txt                                   "1 circle_slide" (UCF101 style, 1-based)
    label_map.txt                                  one class name per line (line i = label i)
    meta.json                                      the generation arguments

Every clip is a pure function of ``(seed, class, index)``, so the output does not depend on ``--workers``.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from data_tools.media import write_h264, write_lines, write_rgb_frames
from data_tools.toy.generator import CLASS_NAMES, clip_seed, render_clip
from mmaction.utils.io import atomic_dir, remove_stale_temps
from mmaction.utils.progress import ProgressBar

FORMATS = ('videos', 'rawframes')


@dataclass(frozen=True)
class ClipJob:
    class_id: int
    index: int
    num_frames: int
    split: str  # 'train' | 'val'

    @property
    def rel(self) -> str:
        return f'{CLASS_NAMES[self.class_id]}/{CLASS_NAMES[self.class_id]}_{self.index:04d}'


def plan_clips(num_per_class: int, seed: int, min_frames: int, max_frames: int, val_ratio: float) -> list[ClipJob]:
    """The full list of clips: lengths and the train/val assignment, drawn from ``seed`` only.

    Exactly ``round(val_ratio * num_per_class)`` clips of every class go to val (a stratified split).
    """
    if num_per_class < 2:
        raise ValueError(f'--num-per-class must be >= 2 (one train and one val clip), got {num_per_class}')
    if not 1 <= min_frames <= max_frames:
        raise ValueError(f'need 1 <= --min-frames <= --max-frames, got {min_frames}, {max_frames}')
    if not 0.0 < val_ratio < 1.0:
        raise ValueError(f'--val-ratio must be in (0, 1), got {val_ratio}')
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xC11F]))
    n_val = min(max(1, round(val_ratio * num_per_class)), num_per_class - 1)
    jobs = []
    for c in range(len(CLASS_NAMES)):
        lengths = rng.integers(min_frames, max_frames + 1, size=num_per_class)
        val_idx = set(rng.permutation(num_per_class)[:n_val].tolist())
        jobs += [ClipJob(c, i, int(lengths[i]), 'val' if i in val_idx else 'train') for i in range(num_per_class)]
    return jobs


def _make_clip(job: ClipJob, out: str, seed: int, size: int, formats: tuple[str, ...], fps: float) -> int:
    rng = np.random.default_rng(clip_seed(seed, job.class_id, job.index))
    frames = render_clip(job.class_id, job.num_frames, (size, size), rng)
    if 'videos' in formats:
        write_h264(os.path.join(out, 'videos', job.rel + '.mp4'), frames, fps=fps)
    if 'rawframes' in formats:
        with atomic_dir(os.path.join(out, 'rawframes', job.rel)) as tmp:
            write_rgb_frames(tmp, frames)
    return job.num_frames


def write_lists(out: str, jobs: list[ClipJob], prefix: str = 'toy') -> dict[str, str]:
    """Write the list files, ``classInd.txt`` and ``label_map.txt``; returns {kind: path}."""
    paths = {}
    for split in ('train', 'val'):
        sel = [j for j in jobs if j.split == split]
        p = os.path.join(out, f'{prefix}_{split}_list_rawframes.txt')
        write_lines(p, [f'{j.rel} {j.num_frames} {j.class_id}' for j in sel])
        paths[f'{split}_rawframes'] = p
        p = os.path.join(out, f'{prefix}_{split}_list_videos.txt')
        write_lines(p, [f'{j.rel} {j.class_id}' for j in sel])
        paths[f'{split}_videos'] = p
    paths['classInd'] = os.path.join(out, 'classInd.txt')
    write_lines(paths['classInd'], [f'{i + 1} {n}' for i, n in enumerate(CLASS_NAMES)])
    paths['label_map'] = os.path.join(out, 'label_map.txt')
    write_lines(paths['label_map'], list(CLASS_NAMES))
    return paths


def build_toy_dataset(out: str, num_per_class: int = 45, seed: int = 0, workers: int = 2, size: int = 64,
                      min_frames: int = 24, max_frames: int = 32, val_ratio: float = 0.25, fps: float = 30.0,
                      formats: tuple[str, ...] = FORMATS, progress: bool = True) -> dict[str, str]:
    """Generate the toy dataset under ``out`` (see the module docstring); returns the list file paths."""
    bad = set(formats) - set(FORMATS)
    if bad or not formats:
        raise ValueError(f'formats must be a non-empty subset of {FORMATS}, got {formats}')
    if size < 16 or size % 2:
        raise ValueError(f'--size must be an even number >= 16 (H.264 yuv420p), got {size}')
    jobs = plan_clips(num_per_class, seed, min_frames, max_frames, val_ratio)
    os.makedirs(out, exist_ok=True)
    remove_stale_temps(out)
    bar = ProgressBar(len(jobs), 'toy clips', enabled=progress)
    args = (out, seed, size, tuple(formats), fps)
    if workers <= 1:
        for job in jobs:
            _make_clip(job, *args)
            bar.update()
    else:
        with ProcessPoolExecutor(workers) as pool:
            futures = [pool.submit(_make_clip, job, *args) for job in jobs]
            for fut in futures:
                fut.result()
                bar.update()
    paths = write_lists(out, jobs)
    meta = dict(num_per_class=num_per_class, seed=seed, size=size, min_frames=min_frames, max_frames=max_frames,
                val_ratio=val_ratio, fps=fps, formats=list(formats), classes=list(CLASS_NAMES),
                num_clips=len(jobs), num_train=sum(j.split == 'train' for j in jobs),
                num_val=sum(j.split == 'val' for j in jobs))
    paths['meta'] = os.path.join(out, 'meta.json')
    write_lines(paths['meta'], [json.dumps(meta, indent=1)])
    return paths


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', default='data/toy', help='output root (default: data/toy)')
    p.add_argument('--num-per-class', type=int, default=45, help='clips per class (8 classes; default 45)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--workers', type=int, default=2, help='worker processes (default 2)')
    p.add_argument('--size', type=int, default=64, help='frame height = width in pixels (even; default 64)')
    p.add_argument('--min-frames', type=int, default=24)
    p.add_argument('--max-frames', type=int, default=32)
    p.add_argument('--val-ratio', type=float, default=0.25)
    p.add_argument('--fps', type=float, default=30.0)
    p.add_argument('--formats', nargs='+', default=list(FORMATS), choices=FORMATS)
    p.add_argument('--quiet', action='store_true', help='no progress bar')
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    a = parse_args(argv)
    t0 = time.monotonic()
    paths = build_toy_dataset(a.out, a.num_per_class, a.seed, a.workers, a.size, a.min_frames, a.max_frames,
                              a.val_ratio, a.fps, tuple(a.formats), progress=not a.quiet)
    with open(paths['meta']) as f:
        meta = json.load(f)
    print(f'toy dataset: {meta["num_clips"]} clips ({meta["num_train"]} train / {meta["num_val"]} val), '
          f'{len(CLASS_NAMES)} classes, {a.size}x{a.size}, {a.min_frames}-{a.max_frames} frames, '
          f'written to {a.out} in {time.monotonic() - t0:.1f}s')


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
