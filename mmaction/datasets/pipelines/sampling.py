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


def _finish_clips(results: dict, clip_offsets: np.ndarray, clip_len: int, frame_interval: int,
                  temporal_jitter: bool, out_of_bound_opt: str, linspace_len: float | None = None) -> np.ndarray:
    """mmaction2's common tail: offsets -> per-clip frames, jitter, out-of-bound handling, + start_index."""
    total = int(results['total_frames'])
    if linspace_len is not None:  # target_fps: clip_len frames spread over the rescaled span
        frame_inds = clip_offsets[:, None] + np.linspace(0, linspace_len - 1, clip_len).astype(np.int64)[None]
    else:
        frame_inds = clip_offsets[:, None] + np.arange(clip_len)[None, :] * frame_interval
    frame_inds = frame_inds.reshape(-1)
    if temporal_jitter:
        frame_inds = frame_inds + np.random.randint(frame_interval, size=len(frame_inds))
    frame_inds = frame_inds.reshape(-1, clip_len)
    if out_of_bound_opt == 'loop':
        frame_inds = np.mod(frame_inds, total)
    elif out_of_bound_opt == 'repeat_last':
        safe = frame_inds < total
        last = np.max(safe * frame_inds, axis=1)
        frame_inds = np.where(safe, frame_inds, last[:, None])
    else:
        raise ValueError(f"out_of_bound_opt must be 'loop' or 'repeat_last', got {out_of_bound_opt!r}")
    return (frame_inds.reshape(-1) + int(results.get('start_index', 0))).astype(np.int64)


@PIPELINES.register_module()
class SampleFrames:
    """mmaction2 ``SampleFrames`` (mmaction2 reference §2.2), same semantics.

    Train: span ``clip_len * frame_interval``; TSN-style segments of ``(N - span + 1) // num_clips`` with a
    random offset; short videos fall back to sorted random offsets, then rounded even spacing, then zeros
    (``keep_tail_frames`` uses the float-interval variant). Test, ``clip_len == 1``: centre of each of
    ``num_clips`` equal segments (``twice_sample`` adds the segment starts). Test, 3D: span
    ``(clip_len - 1) * frame_interval + 1``, offsets evenly over ``[0, N - span]`` rounded, a single clip
    centred. Then per-frame ``temporal_jitter``, ``out_of_bound_opt`` ('loop' = modulo N,
    'repeat_last'), + ``start_index``.
    """

    def __init__(self, clip_len: int, frame_interval: int = 1, num_clips: int = 1, temporal_jitter: bool = False,
                 twice_sample: bool = False, out_of_bound_opt: str = 'loop', test_mode: bool = False,
                 keep_tail_frames: bool = False, target_fps: float | None = None, **kwargs):
        if out_of_bound_opt not in ('loop', 'repeat_last'):
            raise ValueError(f"SampleFrames: out_of_bound_opt must be 'loop' or 'repeat_last', got {out_of_bound_opt!r}")
        self.clip_len = int(clip_len)
        self.frame_interval = int(frame_interval)
        self.num_clips = int(num_clips)
        self.temporal_jitter = temporal_jitter
        self.twice_sample = twice_sample
        self.out_of_bound_opt = out_of_bound_opt
        self.test_mode = test_mode
        self.keep_tail_frames = keep_tail_frames
        self.target_fps = target_fps

    def ori_clip_len(self, fps_scale_ratio: float = 1.0) -> float:
        if self.target_fps is not None:
            return max(1.0, self.clip_len * self.frame_interval * fps_scale_ratio)
        if self.test_mode:
            return (self.clip_len - 1) * self.frame_interval + 1
        return self.clip_len * self.frame_interval

    def train_offsets(self, num_frames: int, ori_len: float) -> np.ndarray:
        n = self.num_clips
        if self.keep_tail_frames:
            avg = (num_frames - ori_len + 1) / float(n)
            if num_frames > ori_len - 1:
                return (np.arange(n) * avg + np.random.uniform(0, avg, n)).astype(np.int64)
            return np.zeros(n, dtype=np.int64)
        avg = int((num_frames - ori_len + 1) // n)
        if avg > 0:
            return np.arange(n) * avg + np.random.randint(avg, size=n)
        if num_frames > max(n, ori_len):
            return np.sort(np.random.randint(int(num_frames - ori_len + 1), size=n))
        if avg == 0:
            ratio = (num_frames - ori_len + 1.0) / n
            return np.around(np.arange(n) * ratio).astype(np.int64)
        return np.zeros(n, dtype=np.int64)

    def test_offsets(self, num_frames: int, ori_len: float) -> np.ndarray:
        if self.clip_len == 1:
            avg = num_frames / float(self.num_clips)
            base = np.arange(self.num_clips) * avg
            offsets = base + avg / 2.0
            if self.twice_sample:
                offsets = np.concatenate([offsets, base])
            return offsets.astype(np.int64)  # truncation, as mmaction2's final astype
        max_offset = max(num_frames - ori_len, 0)
        num_clips = self.num_clips * 2 if self.twice_sample else self.num_clips
        if num_clips > 1:
            num_segments = self.num_clips - 1
            if num_segments == 0:
                raise ValueError('SampleFrames: twice_sample with num_clips=1 in 3D test mode divides by zero in '
                                 'mmaction2 (num_clips - 1 segments); use num_clips >= 2')
            if self.target_fps is not None:
                return (np.arange(num_clips) * np.floor(max_offset / float(num_segments))).astype(np.int64)
            return np.round(np.arange(num_clips) * (max_offset / float(num_segments))).astype(np.int64)
        return np.array([int(max_offset // 2)])

    def __call__(self, results: dict) -> dict:
        total = int(results['total_frames'])
        fps = results.get('avg_fps')
        ratio = fps / self.target_fps if (self.target_fps is not None and fps) else 1.0
        ori_len = self.ori_clip_len(ratio)

        def draw():
            offsets = self.test_offsets(total, ori_len) if self.test_mode else self.train_offsets(total, ori_len)
            return _finish_clips(dict(total_frames=total, start_index=0), np.asarray(offsets), self.clip_len,
                                 self.frame_interval, self.temporal_jitter, self.out_of_bound_opt,
                                 ori_len if self.target_fps is not None else None)

        inds = replay_or_draw(results, 'frame_inds', draw)
        results['frame_inds'] = inds + int(results.get('start_index', 0))
        results['clip_len'] = self.clip_len
        results['frame_interval'] = self.frame_interval
        results['num_clips'] = self.num_clips
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(clip_len={self.clip_len}, frame_interval={self.frame_interval}, '
                f'num_clips={self.num_clips}, test_mode={self.test_mode})')


@PIPELINES.register_module()
class UniformSample:
    """mmaction2 ``UniformSample``: ``clip_len`` equal segments of ``(N - 1) / clip_len``, one frame each
    (random in training; in test mode ``num_clips`` fixed positions, each shifted by ``seg / (num_clips + 1)``)."""

    def __init__(self, clip_len: int, num_clips: int = 1, test_mode: bool = False):
        self.clip_len = int(clip_len)
        self.num_clips = int(num_clips)
        self.test_mode = test_mode

    def sample(self, num_frames: int) -> np.ndarray:
        seg = float(num_frames - 1) / self.clip_len
        if not self.test_mode:
            return np.array([np.random.randint(int(np.round(seg * i)), int(np.round(seg * (i + 1))) + 1)
                             for i in range(self.clip_len)], dtype=np.int64)
        duration = seg / (self.num_clips + 1)
        return np.array([int(np.round(seg * i)) + int(duration * (k + 1))
                         for k in range(self.num_clips) for i in range(self.clip_len)], dtype=np.int64)

    def __call__(self, results: dict) -> dict:
        total = int(results['total_frames'])
        inds = replay_or_draw(results, 'frame_inds', lambda: self.sample(total))
        results['frame_inds'] = inds + int(results.get('start_index', 0))
        results['clip_len'] = self.clip_len
        results['frame_interval'] = None
        results['num_clips'] = self.num_clips if self.test_mode else 1
        return results


@PIPELINES.register_module()
class DenseSampleFrames(SampleFrames):
    """mmaction2 ``DenseSampleFrames``: clips ``sample_range // num_clips`` apart inside a ``sample_range``
    window; training draws the window start, test mode uses ``num_sample_positions`` evenly spread starts."""

    def __init__(self, *args, sample_range: int = 64, num_sample_positions: int = 10, **kwargs):
        super().__init__(*args, **kwargs)
        self.sample_range = sample_range
        self.num_sample_positions = num_sample_positions

    def train_offsets(self, num_frames: int, ori_len: float) -> np.ndarray:
        position = max(1, 1 + num_frames - self.sample_range)
        interval = self.sample_range // self.num_clips
        start = 0 if position == 1 else np.random.randint(0, position - 1)
        return (np.arange(self.num_clips) * interval + start) % num_frames

    def test_offsets(self, num_frames: int, ori_len: float) -> np.ndarray:
        position = max(1, 1 + num_frames - self.sample_range)
        interval = self.sample_range // self.num_clips
        starts = np.linspace(0, position - 1, num=self.num_sample_positions, dtype=int)
        base = np.arange(self.num_clips) * interval
        return np.concatenate([(base + s) % num_frames for s in starts])


@PIPELINES.register_module()
class UntrimmedSampleFrames:
    """mmaction2 ``UntrimmedSampleFrames``: a clip centred every ``clip_interval`` frames over the whole
    video (feature extraction), indices clipped to the video."""

    def __init__(self, clip_len: int = 1, clip_interval: int = 16, frame_interval: int = 1):
        self.clip_len = clip_len
        self.clip_interval = clip_interval
        self.frame_interval = frame_interval

    def __call__(self, results: dict) -> dict:
        total = int(results['total_frames'])
        centers = np.arange(self.clip_interval // 2, total, self.clip_interval)
        rel = np.arange(-(self.clip_len // 2 * self.frame_interval),
                        self.frame_interval * (self.clip_len - self.clip_len // 2), self.frame_interval)
        inds = np.clip(centers[:, None] + rel[None], 0, total - 1).reshape(-1)
        results['frame_inds'] = inds.astype(np.int64) + int(results.get('start_index', 0))
        results['clip_len'] = self.clip_len
        results['clip_interval'] = self.clip_interval
        results['frame_interval'] = self.frame_interval
        results['num_clips'] = len(centers)
        return results
