"""Frame-index sampling transforms.

``TSNSampleFrames`` is the original MMAction v0 segment sampler (v0 reference §5.2), kept formula for
formula: train (``random_shift``), val (centre of each segment, strict condition) and test
(centre, loose condition), ``new_length`` frames at stride ``new_step`` per segment, optional
``temporal_jitter``, 1-based offsets with the original's end-of-video handling.
"""
from __future__ import annotations

import numpy as np

from mmaction.registry import PIPELINES

from ._replay import replay_or_draw


def tsn_segment_offsets(num_frames: int, num_segments: int, old_length: int, mode: str,
                        rng: np.random.RandomState | None = None) -> np.ndarray:
    """1-based start frame of each segment (original ``_sample_indices``/``_get_val_indices``/``_get_test_indices``).

    ``mode``: ``'train'`` (random shift), ``'val'`` or ``'test'``. Returns ``(num_segments,)`` int64.
    """
    rng = rng or np.random
    if mode == 'train':
        average_duration = (num_frames - old_length + 1) // num_segments
        if average_duration > 0:
            offsets = np.arange(num_segments) * average_duration + rng.randint(average_duration, size=num_segments)
        elif num_frames > max(num_segments, old_length):
            offsets = np.sort(rng.randint(num_frames - old_length + 1, size=num_segments))
        else:
            offsets = np.zeros(num_segments, dtype=np.int64)
    elif mode in ('val', 'test'):
        # val needs room for every segment; test only for one clip (original conditions differ on purpose).
        enough = (num_frames > num_segments + old_length - 1) if mode == 'val' else (num_frames > old_length - 1)
        if enough:
            tick = (num_frames - old_length + 1) / float(num_segments)
            offsets = np.array([int(tick / 2.0 + tick * x) for x in range(num_segments)])
        else:
            offsets = np.zeros(num_segments, dtype=np.int64)
    else:
        raise ValueError(f"mode must be 'train', 'val' or 'test', got {mode!r}")
    return offsets.astype(np.int64) + 1


def tsn_clip_frames(offsets: np.ndarray, skip_offsets: np.ndarray, num_frames: int, new_length: int,
                    new_step: int) -> np.ndarray:
    """1-based frame indices of every segment's snippet, ``(num_segments * new_length,)``.

    Original ``_get_frames``: frame ``p + skip`` unless past the end (then ``p``); ``p`` advances by
    ``new_step`` only while ``p + new_step < num_frames``, so short videos repeat their last frames.
    """
    out = np.empty((len(offsets), new_length), dtype=np.int64)
    for s, start in enumerate(offsets.tolist()):
        p = int(start)
        for i in range(new_length):
            q = p + int(skip_offsets[i])
            out[s, i] = q if q <= num_frames else p
            if p + new_step < num_frames:
                p += new_step
    return out.reshape(-1)


@PIPELINES.register_module()
class TSNSampleFrames:
    """Original TSN segment sampling. Needs ``total_frames`` and ``start_index`` (1 for rawframes, 0 for videos).

    Writes ``frame_inds`` (``start_index``-based, segment-major), ``clip_len=new_length``,
    ``num_clips=num_segments``, ``frame_interval=new_step``.
    """

    def __init__(self, num_segments: int = 3, new_length: int = 1, new_step: int = 1, random_shift: bool = True,
                 temporal_jitter: bool = False, test_mode: bool = False):
        for name, v in (('num_segments', num_segments), ('new_length', new_length), ('new_step', new_step)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ValueError(f"TSNSampleFrames: '{name}' must be a positive int, got {v!r}")
        self.num_segments = int(num_segments)
        self.new_length = int(new_length)
        self.new_step = int(new_step)
        self.random_shift = random_shift
        self.temporal_jitter = temporal_jitter
        self.test_mode = test_mode
        self.old_length = self.new_length * self.new_step

    @property
    def mode(self) -> str:
        if self.test_mode:
            return 'test'
        return 'train' if self.random_shift else 'val'

    def _draw(self, num_frames: int) -> np.ndarray:
        offsets = tsn_segment_offsets(num_frames, self.num_segments, self.old_length, self.mode)
        if self.temporal_jitter:
            skip = np.random.randint(self.new_step, size=self.new_length)
        else:
            skip = np.zeros(self.new_length, dtype=np.int64)
        return tsn_clip_frames(offsets, skip, num_frames, self.new_length, self.new_step)

    def __call__(self, results: dict) -> dict:
        num_frames = int(results['total_frames'])
        if num_frames < 1:
            raise ValueError(f"{results.get('filename') or results.get('frame_dir')}: total_frames must be >= 1, "
                             f'got {num_frames}')
        inds = replay_or_draw(results, 'frame_inds', lambda: self._draw(num_frames))
        results['frame_inds'] = inds - 1 + int(results.get('start_index', 1))
        results['clip_len'] = self.new_length
        results['num_clips'] = self.num_segments
        results['frame_interval'] = self.new_step
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_segments={self.num_segments}, new_length={self.new_length}, '
                f'new_step={self.new_step}, mode={self.mode!r}, temporal_jitter={self.temporal_jitter})')
