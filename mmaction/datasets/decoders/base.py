"""The decoder interface: every video backend answers "frames at these indices", "total frames", "fps".

A decoder is opened once per sample and asked once for all the frames it needs (sorted, de-duplicated
inside :meth:`VideoDecoder.get_frames`), so test views (many clips and crops) cost one open and one
batched read.
"""
from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from mmaction.registry import DECODERS, build_from_cfg


class DecodeError(RuntimeError):
    """A video could not be opened or a frame could not be decoded; the message names the file and index."""


class VideoDecoder:
    """Base class of the video backends.

    Subclasses implement :meth:`_open` and :meth:`_read_sorted` (strictly increasing, in-range indices).
    :meth:`get_frames` returns ``(N, H, W, 3)`` uint8 RGB frames in the order of ``indices``.
    """

    backend = 'base'

    def __init__(self, path: str | os.PathLike, num_threads: int | None = 1):
        self.path = os.fspath(path)
        self.num_threads = resolve_num_threads(num_threads)
        if not os.path.isfile(self.path):
            raise FileNotFoundError(f'video file not found: {self.path}')
        try:
            self._open()
        except (FileNotFoundError, DecodeError):
            raise
        except Exception as err:  # backends raise their own types (decord.DECORDError, av.error...)
            raise DecodeError(f'{self.backend}: cannot open video {self.path}: {type(err).__name__}: {err}') from err

    # -- to implement -------------------------------------------------------------------------------
    def _open(self) -> None:
        raise NotImplementedError

    def _read_sorted(self, indices: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @property
    def num_frames(self) -> int:
        raise NotImplementedError

    @property
    def fps(self) -> float:
        raise NotImplementedError

    def close(self) -> None:
        pass

    # -- shared --------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.num_frames

    def __enter__(self) -> 'VideoDecoder':
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def get_frames(self, indices: Sequence[int] | np.ndarray) -> np.ndarray:
        """Frames at 0-based ``indices`` (any order, duplicates allowed) as ``(N, H, W, 3)`` uint8 RGB."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        if idx.size == 0:
            raise ValueError(f'{self.path}: no frame indices requested')
        n = self.num_frames
        bad = idx[(idx < 0) | (idx >= n)]
        if bad.size:
            raise IndexError(f'{self.path}: frame index {int(bad[0])} out of range: the video has {n} frames '
                             f'(valid indices 0..{n - 1})')
        # One sorted, unique request: sequential decoders never seek backwards and shared frames decode once.
        uniq, inverse = np.unique(idx, return_inverse=True)
        try:
            frames = self._read_sorted(uniq)
        except (IndexError, DecodeError):
            raise
        except Exception as err:
            raise DecodeError(f'{self.backend}: failed to decode frames {uniq.tolist()} of {self.path}: '
                              f'{type(err).__name__}: {err}') from err
        if len(uniq) == len(idx) and np.array_equal(uniq, idx):
            return frames
        return frames[inverse]


def resolve_num_threads(num_threads: int | None) -> int:
    """Decoder threads: ``None`` means all usable cores in the main process and 1 in a DataLoader worker
    (workers already use the cores; threads on top would oversubscribe them). Integers pass through."""
    if num_threads is not None:
        return int(num_threads)
    try:
        import torch.utils.data
        if torch.utils.data.get_worker_info() is not None:
            return 1
    except Exception:  # noqa: BLE001 - no torch: not in a torch worker
        pass
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


# Fastest frame-exact backend first: PyAV skips the packets and non-reference frames nothing wanted
# depends on; decord decodes every frame up to each index.
_AUTO_ORDER = ('pyav', 'decord', 'opencv')


def default_backend() -> str:
    """The backend ``'auto'`` resolves to: the first of ``_AUTO_ORDER`` whose library imports."""
    for name in _AUTO_ORDER:
        cls = DECODERS.get(name)
        if cls is not None and getattr(cls, 'is_available', lambda: True)():
            return name
    raise DecodeError(f'no video decoder available: install one of {", ".join(_AUTO_ORDER)}')


def build_decoder(backend: str | dict, path: str, **kwargs) -> VideoDecoder:
    """Open ``path`` with the registered backend (``'auto'``, ``'decord'``, ``'opencv'``, ``'pyav'``, ...)."""
    if backend == 'auto':
        backend = default_backend()
    cfg = dict(type=backend) if isinstance(backend, str) else dict(backend)
    cfg.update(kwargs)
    return build_from_cfg(cfg, DECODERS, default_args=dict(path=path), where='decoder')


def available_backends() -> list[str]:
    """Registered backends whose library imports here."""
    out = []
    for name, cls in sorted(DECODERS.module_dict.items()):
        if getattr(cls, 'is_available', lambda: True)():
            out.append(name)
    return out
