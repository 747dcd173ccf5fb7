#!/usr/bin/env python
"""Generate the toy spatio-temporal (AVA-format) dataset: videos with 2-3 moving actors, each doing one action.

    python data_tools/toy/build_toy_ava.py --out data/toy_ava [--num-train 16] [--num-val 8] [--seconds 5]
                                           [--size 64x96] [--mp4] [--seed 0]

An actor is one toy class of ``generator.CLASSES`` (shape + hue + motion) confined to its own column of the
frame; its AVA action id is ``class_id + 1`` (ids 1..8). Key-frames are at timestamps ``1 .. seconds - 1``
(``timestamp_start = 0``): key-frame ``ts`` is rawframe ``30 * ts + 1``, exactly as ``AVADataset`` reads it.

Layout written under ``--out``::

    rawframes/<video_id>/img_00001.jpg ...           30 fps, 1-based
    videos/<video_id>.mp4                             with --mp4 (H.264)
    annotations/toy_ava_{train,val}.csv               video_id,timestamp,x1,y1,x2,y2,action_id,entity_id (0-1)
    annotations/toy_ava_{train,val}_excluded_timestamps.csv   video_id,timestamp
    annotations/toy_ava_action_list.pbtxt             label map (AVA pbtxt)
    annotations/toy_ava_proposals_{train,val}.pkl     {"video_id,%04d": (n, 5) float32 [x1, y1, x2, y2, score]}
    annotations/toy_ava_video_resolution_stats.csv    "<video_id> <W>x<H>"
    meta.json                                         the generation arguments

Proposals are every ground-truth box jittered (score 0.9-1.0) plus 1-2 false positives away from the actors
(IoU < 0.2 with every ground-truth box, score 0.5-0.95), so a detector has to learn which boxes act.
One key-frame per video is listed as excluded. Every video is a pure function of ``(seed, split, index)``.
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import time

import numpy as np

from data_tools.media import write_h264, write_lines, write_rgb_frames
from data_tools.toy.generator import (CLASS_NAMES, CLASSES, add_noise, draw_actor, draw_distractor,
                                      render_background, sample_actor, sample_distractors)
from mmaction.utils.io import atomic_dir

FPS = 30
SPLITS = ('train', 'val')


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix of ``(n, 4)`` and ``(m, 4)`` continuous boxes."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])  # noqa: E731
    return inter / np.maximum(area(a)[:, None] + area(b)[None, :] - inter, 1e-9)


def render_video(rng: np.random.Generator, size: tuple[int, int], num_frames: int,
                 classes: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Frames ``(T, H, W, 3)`` uint8 RGB and per-actor boxes ``(A, T, 4)`` in pixels.

    Actor ``a`` of class ``classes[a]`` lives in column ``a`` of ``len(classes)`` equal columns, so actors never
    occlude each other and each box stays a clean ground truth.
    """
    h, w = size
    n = len(classes)
    background = render_background(rng, size)
    actors = [sample_actor(c, rng, size, region=(w * a / n, 0.0, w * (a + 1) / n, float(h)), radius_frac=0.3)
              for a, c in enumerate(classes)]
    distractors = sample_distractors(rng, size, int(rng.integers(1, 3)), min(x.radius for x in actors))
    sigma = float(rng.uniform(2, 6))
    frames = np.empty((num_frames, h, w, 3), np.uint8)
    boxes = np.empty((n, num_frames, 4), np.float32)
    for t in range(num_frames):
        canvas = background.copy()
        for d in distractors:
            draw_distractor(canvas, d, t)
        for a, actor in enumerate(actors):
            boxes[a, t] = draw_actor(canvas, actor, t)
        frames[t] = add_noise(canvas, rng, sigma)
    return frames, boxes


def make_proposals(rng: np.random.Generator, gt: np.ndarray) -> np.ndarray:
    """Jittered ``gt`` (normalised ``(k, 4)``) plus 1-2 false positives -> ``(n, 5)`` float32, shuffled."""
    wh = gt[:, 2:] - gt[:, :2]
    jitter = rng.uniform(-0.06, 0.06, size=gt.shape) * np.concatenate([wh, wh], 1)
    props = [np.concatenate([np.clip(gt + jitter, 0, 1), rng.uniform(0.9, 1.0, (len(gt), 1))], 1)]
    for _ in range(int(rng.integers(1, 3))):
        for _try in range(50):
            bw, bh = rng.uniform(0.15, 0.35), rng.uniform(0.3, 0.6)
            x1, y1 = rng.uniform(0, 1 - bw), rng.uniform(0, 1 - bh)
            fp = np.array([[x1, y1, x1 + bw, y1 + bh]])
            if box_iou(fp, gt).max() < 0.2:
                props.append(np.concatenate([fp, [[rng.uniform(0.5, 0.95)]]], 1))
                break
    out = np.concatenate(props, 0).astype(np.float32)
    return out[rng.permutation(len(out))]


def build(out: str, num_train: int = 16, num_val: int = 8, seconds: int = 5, size: tuple[int, int] = (64, 96),
          seed: int = 0, mp4: bool = False) -> dict:
    """Write the dataset under ``out`` (replacing it atomically); returns counts for the log."""
    if seconds < 2:
        raise ValueError(f'--seconds must be >= 2 (key-frames are at 1 .. seconds-1), got {seconds}')
    if min(num_train, num_val) < 1:
        raise ValueError(f'--num-train and --num-val must be >= 1, got {num_train}, {num_val}')
    h, w = size
    if h % 2 or w % 2:
        raise ValueError(f'--size must have even height and width (yuv420p), got {h}x{w}')
    num_frames = seconds * FPS + 1  # the last key-frame's clip is centred inside the video
    counts = dict(videos=0, keyframes=0, boxes=0)
    with atomic_dir(out) as tmp:
        ann_dir = os.path.join(tmp, 'annotations')
        os.makedirs(ann_dir)
        stats = []
        for split_id, split in enumerate(SPLITS):
            rows, excluded, proposals = [], [], {}
            for index in range(num_train if split == 'train' else num_val):
                rng = np.random.default_rng(np.random.SeedSequence([seed, split_id, index]))
                vid = f'toy_{split}_{index:04d}'
                classes = [int(c) for c in rng.choice(len(CLASSES), size=int(rng.integers(2, 4)), replace=False)]
                frames, boxes = render_video(rng, size, num_frames, classes)
                os.makedirs(os.path.join(tmp, 'rawframes', vid))
                write_rgb_frames(os.path.join(tmp, 'rawframes', vid), frames)
                if mp4:
                    os.makedirs(os.path.join(tmp, 'videos'), exist_ok=True)
                    write_h264(os.path.join(tmp, 'videos', vid + '.mp4'), frames, fps=FPS)
                stats.append(f'{vid} {w}x{h}')
                norm = np.array([w, h, w, h], np.float32)
                for ts in range(1, seconds):
                    gt = boxes[:, ts * FPS] / norm  # key-frame ts = 0-based frame 30 * ts
                    for a, cls in enumerate(classes):
                        x1, y1, x2, y2 = gt[a]
                        rows.append(f'{vid},{ts:04d},{x1:.3f},{y1:.3f},{x2:.3f},{y2:.3f},{cls + 1},{a}')
                    proposals[f'{vid},{ts:04d}'] = make_proposals(rng, gt)
                    counts['keyframes'] += 1
                    counts['boxes'] += len(classes)
                excluded.append(f'{vid},{int(rng.integers(1, seconds)):04d}')
                counts['videos'] += 1
            write_lines(os.path.join(ann_dir, f'toy_ava_{split}.csv'), rows)
            write_lines(os.path.join(ann_dir, f'toy_ava_{split}_excluded_timestamps.csv'), excluded)
            with open(os.path.join(ann_dir, f'toy_ava_proposals_{split}.pkl'), 'wb') as f:
                pickle.dump(proposals, f, protocol=pickle.HIGHEST_PROTOCOL)
        write_lines(os.path.join(ann_dir, 'toy_ava_video_resolution_stats.csv'), stats)
        pbtxt = []
        for i, name in enumerate(CLASS_NAMES):
            pbtxt += ['item {', f'  name: "{name}"', f'  id: {i + 1}', '}']
        write_lines(os.path.join(ann_dir, 'toy_ava_action_list.pbtxt'), pbtxt)
        with open(os.path.join(tmp, 'meta.json'), 'w') as f:
            json.dump(dict(num_train=num_train, num_val=num_val, seconds=seconds, size=list(size), seed=seed,
                           fps=FPS, timestamp_start=0, mp4=mp4, classes=list(CLASS_NAMES)), f, indent=1)
    return counts


def chance_map(num_classes: int = len(CLASSES)) -> float:
    """Expected frame-mAP of scores that ignore the input, given perfect boxes: AP of class c is then about the
    fraction of boxes doing c, i.e. ``1 / num_classes`` on average (the stated chance level)."""
    return 1.0 / num_classes


def parse_size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'--size must be HxW (e.g. 64x96), got {text!r}') from None
    return h, w


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', default='data/toy_ava', help='output folder (replaced)')
    p.add_argument('--num-train', type=int, default=16, help='training videos')
    p.add_argument('--num-val', type=int, default=8, help='validation videos')
    p.add_argument('--seconds', type=int, default=5, help='video length; key-frames at 1 .. seconds-1')
    p.add_argument('--size', type=parse_size, default=(64, 96), help='frame HxW (even)')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--mp4', action='store_true', help='also write H.264 videos/<video_id>.mp4')
    args = p.parse_args(argv)
    start = time.time()
    counts = build(args.out, args.num_train, args.num_val, args.seconds, args.size, args.seed, args.mp4)
    print(f'{counts["videos"]} videos, {counts["keyframes"]} key-frames, {counts["boxes"]} boxes -> {args.out} '
          f'({time.time() - start:.1f}s)')


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
