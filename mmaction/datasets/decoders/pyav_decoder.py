"""PyAV backend: frame-exact sequential decoding up to the last requested index ('accurate' mode)."""
from __future__ import annotations

import numpy as np

from mmaction.registry import DECODERS

from .base import DecodeError, VideoDecoder


@DECODERS.register_module(name='pyav')
class PyAVDecoder(VideoDecoder):
    """``av.open``; decodes packets in order and converts only the requested frames to RGB.

    ``multi_thread=True`` lets FFmpeg decode with frame threads (same frames, faster on long clips).
    """

    backend = 'pyav'

    def __init__(self, path, num_threads: int = 1, multi_thread: bool = False):
        self.multi_thread = multi_thread
        super().__init__(path, num_threads)

    @staticmethod
    def is_available() -> bool:
        try:
            import av  # noqa: F401
            return True
        except Exception:  # noqa: BLE001
            return False

    def _open(self) -> None:
        import av
        self._container = av.open(self.path)
        if not self._container.streams.video:
            raise DecodeError(f'pyav: {self.path} has no video stream')
        self._stream = self._container.streams.video[0]
        if self.multi_thread:
            self._stream.thread_type = 'AUTO'
        n = int(self._stream.frames or 0)
        if n <= 0:  # some containers do not store a count: demux once to count packets with frames
            n = sum(1 for p in self._container.demux(self._stream) if p.size)
            self._container.seek(0)
        self._n = n
        rate = self._stream.average_rate or self._stream.guessed_rate
        self._fps = float(rate) if rate else 0.0

    @property
    def num_frames(self) -> int:
        return self._n

    @property
    def fps(self) -> float:
        return self._fps

    def _read_sorted(self, indices: np.ndarray) -> np.ndarray:
        wanted = indices.tolist()
        out = None
        k = 0
        i = -1
        self._container.seek(0)
        for i, frame in enumerate(self._container.decode(self._stream)):
            if i == wanted[k]:
                arr = frame.to_ndarray(format='rgb24')
                if out is None:
                    out = np.empty((len(wanted),) + arr.shape, dtype=np.uint8)
                out[k] = arr
                k += 1
                if k == len(wanted):
                    return out
        raise DecodeError(f'pyav: {self.path}: stream ended after {i + 1} frames, '
                          f'frame {wanted[k]} not decoded')

    def close(self) -> None:
        if getattr(self, '_container', None) is not None:
            self._container.close()
            self._container = None
