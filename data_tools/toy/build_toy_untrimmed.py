"""Toy *untrimmed* videos for temporal action detection: a few toy actions among background.

Each video has one static background (texture, grey clutter, flicker, noise) for its whole length; during
each action segment one actor of a toy class (``data_tools/toy/generator.py``) is drawn, elsewhere none.
Written under ``--out``:

* ``videos/<name>.mp4`` (H.264, with ``--videos``) and ``rawframes/<name>/img_00001.jpg ...`` (with ``--frames``);
* ``annotations/thumos_{train,val}/<class>_{train,val}.txt``: THUMOS14 per-class files, ``<video> <start s> <end s>``;
* ``annotations/anet_{train,val}.json``: ActivityNet-style JSON (mmaction2 §2.4, segments in seconds);
* ``annotations/tag_{train,val}_normalized_proposal_list.txt``: TAG proposal lists (SSN, §5.7) with sliding-window
  proposals whose ``best_iou``/``overlap_self`` are computed against the GT;
* ``features/<name>.npy``: ``(T, C)`` per-snippet descriptors (one step per ``--snippet`` frames): a
  saturation-weighted 12-bin hue histogram and its frame-difference energy. They are hand-crafted (no network),
  so feature-based localizers (BMN/BSN) can be trained on CPU in minutes; ``tools/extract_features.py`` writes
  the same layout from a recognizer backbone.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time

import cv2
import numpy as np

from data_tools.toy.generator import (CLASS_NAMES, add_noise, draw_actor, draw_distractor,
                                      render_background, sample_actor, sample_distractors)
from mmaction.utils.io import atomic_open


def plan_segments(rng: np.random.Generator, num_frames: int, num_classes: int, max_segments: int,
                  min_len: int, max_len: int, min_gap: int) -> list[tuple[int, int, int]]:
    """Non-overlapping ``(class, start, end)`` frame segments (end exclusive), at least ``min_gap`` apart."""
    segs: list[tuple[int, int, int]] = []
    want = int(rng.integers(1, max_segments + 1))
    for _ in range(50 * want):
        if len(segs) == want:
            break
        length = int(rng.integers(min_len, max_len + 1))
        start = int(rng.integers(min_gap, max(min_gap + 1, num_frames - length - min_gap)))
        end = start + length
        if end > num_frames or any(start < e + min_gap and s < end + min_gap for _, s, e in segs):
            continue
        segs.append((int(rng.integers(num_classes)), start, end))
    return sorted(segs, key=lambda s: s[1])


def render_untrimmed(rng: np.random.Generator, num_frames: int, size: int,
                     segments: list[tuple[int, int, int]]) -> np.ndarray:
    """``(T, H, W, 3)`` uint8 RGB: one background for the whole video, actors only inside their segments."""
    background = render_background(rng, (size, size))
    actors = [(sample_actor(c, rng, (size, size)), s, e) for c, s, e in segments]
    radius = actors[0][0].radius if actors else 0.17 * size
    distractors = sample_distractors(rng, (size, size), int(rng.integers(1, 4)), radius)
    sigma = float(rng.uniform(2, 6))
    amp, rate, phase = rng.uniform(0, 0.08), rng.uniform(0.05, 0.3), rng.uniform(0, 6.3)
    frames = np.empty((num_frames, size, size, 3), np.uint8)
    for t in range(num_frames):
        canvas = background * (1.0 + amp * math.sin(phase + rate * t))
        for d in distractors:
            draw_distractor(canvas, d, t)
        for actor, s, e in actors:
            if s <= t < e:
                draw_actor(canvas, actor, t - s)
        frames[t] = add_noise(canvas, rng, sigma)
    return frames


def snippet_features(frames: np.ndarray, snippet: int, bins: int = 12) -> np.ndarray:
    """``(ceil(T / snippet), 2 * bins)``: per snippet, the mean saturation-weighted hue histogram of its frames
    and the same histogram of absolute frame differences (motion energy per hue)."""
    hsv = np.stack([cv2.cvtColor(f, cv2.COLOR_RGB2HSV) for f in frames]).astype(np.float32)
    hue_bin = np.minimum((hsv[..., 0] / 180.0 * bins).astype(int), bins - 1)
    weight = (hsv[..., 1] / 255.0) ** 2  # grey background and clutter weigh almost nothing
    hist = np.stack([np.bincount(h.ravel(), w.ravel(), bins) for h, w in zip(hue_bin, weight)])
    hist /= frames.shape[1] * frames.shape[2] / 100.0
    motion = np.abs(np.diff(hist, axis=0, prepend=hist[:1]))
    per_frame = np.concatenate([hist, motion * 4.0], axis=1)
    steps = math.ceil(len(frames) / snippet)
    return np.stack([per_frame[k * snippet:(k + 1) * snippet].mean(0) for k in range(steps)]).astype(np.float32)


def sliding_proposals(num_frames: int, scales: tuple[int, ...], stride_ratio: float = 0.25) -> np.ndarray:
    """Multi-scale sliding windows ``(P, 2)`` in frames (end exclusive)."""
    props = []
    for w in scales:
        step = max(1, int(w * stride_ratio))
        for s in range(0, max(1, num_frames - w + 1), step):
            props.append((s, min(num_frames, s + w)))
    return np.unique(np.array(props, dtype=np.int64), axis=0)


def _iou_and_self_overlap(props: np.ndarray, gts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per proposal: best tIoU over GTs, the label index of that GT, and the fraction of the proposal covered
    by that GT (TAG's ``overlap_self``)."""
    if len(gts) == 0:
        z = np.zeros(len(props))
        return z, np.zeros(len(props), int), z
    inter = np.clip(np.minimum(props[:, None, 1], gts[None, :, 1]) - np.maximum(props[:, None, 0], gts[None, :, 0]),
                    0, None)
    plen = (props[:, 1] - props[:, 0])[:, None]
    union = plen + (gts[:, 1] - gts[:, 0])[None] - inter
    iou = inter / union
    best = iou.argmax(axis=1)
    rows = np.arange(len(props))
    return iou[rows, best], best, (inter / plen)[rows, best]


def tag_block(idx: int, name: str, num_frames: int, segments, props: np.ndarray) -> list[str]:
    """One TAG proposal-list block, normalised coordinates (labels 1-based, 0 = background)."""
    gts = np.array([[s, e] for _, s, e in segments], dtype=np.float64).reshape(-1, 2)
    iou, best, ovl = _iou_and_self_overlap(props.astype(np.float64), gts)
    lines = [f'# {idx}', name, str(num_frames), '1', str(len(segments))]
    lines += [f'{c + 1} {s / num_frames:.4f} {e / num_frames:.4f}' for c, s, e in segments]
    lines.append(str(len(props)))
    for (s, e), i, b, o in zip(props, iou, best, ovl):
        label = segments[b][0] + 1 if len(segments) and i > 0 else 0
        lines.append(f'{label} {i:.4f} {o:.4f} {s / num_frames:.4f} {e / num_frames:.4f}')
    return lines


def build_toy_untrimmed(out: str, num_train: int = 48, num_val: int = 16, seed: int = 0, size: int = 32,
                        min_frames: int = 160, max_frames: int = 256, fps: float = 8.0, snippet: int = 4,
                        num_classes: int = 4, videos: bool = False, frames_out: bool = False) -> dict:
    """Write the toy untrimmed dataset (see module doc); returns a summary dict (also in ``meta.json``)."""
    from data_tools.media import write_h264, write_rgb_frames
    rng_master = np.random.SeedSequence(seed)
    children = rng_master.spawn(num_train + num_val)
    classes = list(CLASS_NAMES[:num_classes])
    summary = dict(seed=seed, size=size, fps=fps, snippet=snippet, classes=classes, videos={})
    for split, ids in (('train', range(num_train)), ('val', range(num_train, num_train + num_val))):
        anet, tag_lines, thumos = {}, [], {c: [] for c in classes}
        for k, i in enumerate(ids):
            rng = np.random.default_rng(children[i])
            name = f'v_toy_{split}_{k:04d}'
            n = int(rng.integers(min_frames, max_frames + 1))
            segs = plan_segments(rng, n, num_classes, 3, n // 8, n // 3, n // 16)
            frames = render_untrimmed(rng, n, size, segs)
            feat = snippet_features(frames, snippet)
            with atomic_open(os.path.join(out, 'features', name + '.npy'), 'wb') as f:
                np.save(f, feat)
            if videos:
                write_h264(os.path.join(out, 'videos', name + '.mp4'), frames, fps=fps)
            if frames_out:
                os.makedirs(os.path.join(out, 'rawframes', name), exist_ok=True)
                write_rgb_frames(os.path.join(out, 'rawframes', name), frames)
            anet[name] = dict(duration_second=n / fps, duration_frame=n, feature_frame=n, fps=fps, rfps=fps,
                              annotations=[dict(segment=[s / fps, e / fps], label=classes[c]) for c, s, e in segs])
            for c, s, e in segs:
                thumos[classes[c]].append(f'{name} {s / fps:.2f} {e / fps:.2f}')
            props = sliding_proposals(n, tuple(int(n * r) for r in (0.1, 0.15, 0.2, 0.3, 0.4)))
            tag_lines += tag_block(k, name, n, segs, props)
            summary['videos'][name] = dict(frames=n, segments=len(segs))
        ann = os.path.join(out, 'annotations')
        with atomic_open(os.path.join(ann, f'anet_{split}.json'), 'w') as f:
            json.dump(anet, f, indent=1)
        with atomic_open(os.path.join(ann, f'tag_{split}_normalized_proposal_list.txt'), 'w') as f:
            f.write('\n'.join(tag_lines) + '\n')
        for c, rows in thumos.items():
            with atomic_open(os.path.join(ann, f'thumos_{split}', f'{c}_{split}.txt'), 'w') as f:
                f.write(''.join(r + '\n' for r in rows))
    with atomic_open(os.path.join(out, 'meta.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    return summary


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--out', default='data/toy_untrimmed')
    p.add_argument('--num-train', type=int, default=48)
    p.add_argument('--num-val', type=int, default=16)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--size', type=int, default=32, help='frame side in pixels (even)')
    p.add_argument('--min-frames', type=int, default=160)
    p.add_argument('--max-frames', type=int, default=256)
    p.add_argument('--fps', type=float, default=8.0)
    p.add_argument('--snippet', type=int, default=4, help='frames per feature step')
    p.add_argument('--num-classes', type=int, default=4)
    p.add_argument('--videos', action='store_true', help='also write H.264 videos')
    p.add_argument('--frames', action='store_true', help='also write JPEG rawframes')
    a = p.parse_args(argv)
    t0 = time.monotonic()
    s = build_toy_untrimmed(a.out, a.num_train, a.num_val, a.seed, a.size, a.min_frames, a.max_frames, a.fps,
                            a.snippet, a.num_classes, a.videos, a.frames)
    print(f'toy untrimmed: {len(s["videos"])} videos, {sum(v["segments"] for v in s["videos"].values())} segments, '
          f'written to {a.out} in {time.monotonic() - t0:.1f}s')


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
