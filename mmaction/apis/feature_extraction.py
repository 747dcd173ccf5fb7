"""Snippet features of untrimmed videos from a recognizer backbone, for the feature-based localizers.

A window of ``window`` frames every ``stride`` frames is treated as one clip by the recognizer's own test
pipeline (``data.test``: segment sampling, resize, crops, normalisation); the clip goes through the backbone
and the spatial(-temporal) pooling module, and the views of the clip (segments x crops) are averaged by the
consensus. No classification head is applied. Output per video: ``(T, C)`` float32, one row per window, with

    T = (N - window) // stride + 1   when N >= window, else 1 (one window over the whole short video)

where ``N`` is the number of frames after optional resampling to ``fps``; row ``t`` covers frames
``[t * stride, t * stride + window)``. Frames after the last full window get no feature (ActivityNet's
``feature_frame`` < ``duration_frame``). Each video is opened once and each of its frames decoded at most once.

    from mmaction.apis.inference import init_recognizer
    from mmaction.apis.feature_extraction import extract_video_features
    model = init_recognizer('configs/TSN/toy/tsn_r18_toy.py', 'work_dirs/tsn_r18_toy/latest.pth')
    feats, info = extract_video_features(model, 'long.mp4', window=16, stride=16)
"""
from __future__ import annotations

import json
import os
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn as nn

from mmaction.utils.io import atomic_open


def num_windows(num_frames: int, window: int, stride: int) -> int:
    """Feature steps of a video of ``num_frames`` frames (see module doc)."""
    if window < 1 or stride < 1:
        raise ValueError(f'window (--clip-len) and stride must be >= 1, got window={window}, stride={stride}')
    if num_frames < 1:
        raise ValueError(f'the video has no frames (num_frames={num_frames})')
    return 1 if num_frames <= window else (num_frames - window) // stride + 1


def resample_indices(num_frames: int, video_fps: float, fps: float | None) -> np.ndarray:
    """Source frame index of each output frame when a ``video_fps`` video is read at ``fps``.

    Output frame ``i`` shows time ``i / fps``, i.e. source frame ``floor(i * video_fps / fps)``; ``fps=None``
    (or equal rates) keeps every frame.
    """
    if fps is None or fps <= 0 or abs(fps - video_fps) < 1e-6:
        return np.arange(num_frames, dtype=np.int64)
    count = max(1, int(np.floor(num_frames * fps / video_fps + 1e-6)))
    return np.minimum(np.floor(np.arange(count) * video_fps / fps + 1e-6).astype(np.int64), num_frames - 1)


class CachedFrames:
    """A decoder seen through an index map, decoding each source frame at most once.

    Windows advance monotonically, so :meth:`forget_before` drops the frames no later window needs;
    the cache holds about one window of frames. ``decoded`` counts frames read from the decoder.
    """

    def __init__(self, reader: Any, index_map: np.ndarray, fps: float):
        self.reader, self.index_map, self._fps = reader, index_map, fps
        self.cache: dict[int, np.ndarray] = {}
        self.decoded = 0

    @property
    def num_frames(self) -> int:
        return int(self.index_map.shape[0])

    @property
    def fps(self) -> float:
        return self._fps

    def get_frames(self, indices: Any) -> np.ndarray:
        src = self.index_map[np.asarray(indices, dtype=np.int64).reshape(-1)]
        missing = sorted(set(src.tolist()) - self.cache.keys())
        if missing:
            for i, frame in zip(missing, self.reader.get_frames(missing)):
                self.cache[i] = frame
            self.decoded += len(missing)
        return np.stack([self.cache[i] for i in src.tolist()])

    def forget_before(self, index: int) -> None:
        """Drop cached frames before output frame ``index``."""
        if index >= self.num_frames:
            self.cache.clear()
            return
        first = int(self.index_map[max(index, 0)])
        for key in [k for k in self.cache if k < first]:
            del self.cache[key]


def pooled_features(model: nn.Module, img_group: torch.Tensor) -> torch.Tensor:
    """Backbone + spatial(-temporal) pooling + consensus over views: ``img_group_0`` batch -> ``(B, C)``.

    TSN2D: ``(B, M, C, H, W)``; TSN3D: ``(B, V, C, T, H, W)`` (see the recognizers' docstrings).
    """
    # TSN3D keeps its own clip reshaping in ``_video_features``; TSN2D uses the base class's ``video_features``.
    fn = getattr(model, '_video_features', None) or getattr(model, 'video_features', None)
    if fn is None:
        raise TypeError(f'{type(model).__name__} has no video_features: feature extraction needs a TSN2D/TSN3D '
                        f'recognizer')
    feats = fn(img_group)
    return feats.reshape(feats.shape[0], -1)


def _feature_step(model: nn.Module, batch: dict) -> list[np.ndarray]:
    return list(pooled_features(model, batch['img_group_0']).float().cpu().numpy())


@torch.no_grad()
def extract_video_features(model: nn.Module, video: str, window: int, stride: int, fps: float | None = None,
                           batch_size: int = 8, backend: str | None = None) -> tuple[np.ndarray, dict]:
    """``(T, C)`` float32 features of ``video`` and an info dict (the sidecar's video fields).

    ``model`` comes from :func:`mmaction.apis.inference.init_recognizer` (it carries the config whose
    ``data.test`` pipeline prepares each window). ``fps`` resamples the video first (``None``: native rate).
    """
    from mmaction.apis.inference import _WindowReader, open_video_clips
    with open_video_clips(model, video, backend) as (runner, reader, video_fps):
        out_fps = float(fps) if fps else video_fps
        frames = CachedFrames(reader, resample_indices(reader.num_frames, video_fps, fps), out_fps)
        n = frames.num_frames
        steps = num_windows(n, window, stride)
        spans = [(t * stride, min(t * stride + window, n)) for t in range(steps)]
        rows = []
        for b in range(0, steps, batch_size):
            rows.extend(runner.run([_WindowReader(frames, start, end - start) for start, end in
                                    spans[b:b + batch_size]], step=_feature_step))
            frames.forget_before(spans[min(b + batch_size, steps - 1)][0])
        decoded = frames.decoded
        num_video_frames = int(reader.num_frames)
    feats = np.stack(rows).astype(np.float32)
    covered = spans[-1][1]
    info = dict(video=os.path.abspath(video), fps=out_fps, video_fps=video_fps, window=int(window),
                stride=int(stride), num_frames=int(n), num_video_frames=num_video_frames, num_windows=int(steps),
                feature_frame=int(covered), feature_dim=int(feats.shape[1]), duration_second=n / out_fps,
                feature_second=covered / out_fps, decoded_frames=int(decoded))
    return feats, info


def write_features(out_dir: str, name: str, feats: np.ndarray, info: dict,
                   formats: Sequence[str] = ('npy',)) -> dict[str, str]:
    """Write ``<name>.npy`` and/or ``<name>.csv`` (header ``f0,...``; ActivityNetDataset's format) and the
    sidecar ``<name>.json`` under ``out_dir``, atomically. Returns ``{format: path}``."""
    bad = set(formats) - {'npy', 'csv'}
    if bad or not formats:
        raise ValueError(f'feature formats must be among npy, csv; got {list(formats)}')
    paths = {}
    base = os.path.join(out_dir, name)
    if 'npy' in formats:
        with atomic_open(base + '.npy', 'wb') as f:
            np.save(f, np.ascontiguousarray(feats, dtype=np.float32))
        paths['npy'] = base + '.npy'
    if 'csv' in formats:
        with atomic_open(base + '.csv', 'w') as f:
            f.write(','.join(f'f{i}' for i in range(feats.shape[1])) + '\n')
            np.savetxt(f, feats, delimiter=',', fmt='%.7g')
        paths['csv'] = base + '.csv'
    with atomic_open(base + '.json', 'w') as f:
        json.dump(info, f, indent=1)
    paths['json'] = base + '.json'
    return paths


def activitynet_entry(info: dict) -> dict:
    """An ActivityNetDataset annotation entry (no annotations) for features described by ``info``, so the
    extracted features can be fed to ``tools/test_localizer.py`` directly."""
    return dict(duration_second=info['duration_second'], duration_frame=info['num_frames'],
                feature_frame=info['feature_frame'], fps=info['fps'], rfps=info['fps'], annotations=[])
