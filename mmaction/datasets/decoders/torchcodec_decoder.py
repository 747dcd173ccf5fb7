"""Optional torchcodec backend (``decoder='torchcodec'``), registered always, usable only where
``import torchcodec`` works.

torchcodec is never a dependency: its wheels are built against one torch release, so installing it can
pull a different torch. It is therefore not part of ``'auto'`` (the measured-fastest PyAV/decord stay
the default); ask for it by name. ``seek_mode='exact'`` scans the file once so frame ``i`` is the i-th
presented frame, like every other backend here.
"""
from __future__ import annotations

import importlib
from types import ModuleType

import numpy as np

from mmaction.registry import DECODERS

from .base import DecodeError, VideoDecoder


def _torchcodec_decoders() -> ModuleType:
    """``torchcodec.decoders``; a clear error when torchcodec is absent or broken (ABI mismatch with torch)."""
    try:
        return importlib.import_module('torchcodec.decoders')
    except Exception as err:  # noqa: BLE001 - a wheel built for another torch raises OSError/RuntimeError
        raise DecodeError(f"decoder 'torchcodec' requested but torchcodec cannot be imported "
                          f'({type(err).__name__}: {err}); install a torchcodec matching your torch or use '
                          f"decoder='pyav'/'decord'") from err


@DECODERS.register_module(name='torchcodec')
class TorchCodecDecoder(VideoDecoder):
    """``torchcodec.decoders.VideoDecoder`` behind the common interface: one batched ``get_frames_at``
    per request, frames returned ``(N, H, W, 3)`` uint8 RGB (asked for as ``NHWC``, torchcodec's
    native layout, so no copy is needed to reach numpy)."""

    backend = 'torchcodec'

    def __init__(self, path: str, num_threads: int | None = 1, seek_mode: str = 'exact'):
        if seek_mode not in ('exact', 'approximate'):
            raise ValueError(f"torchcodec decoder: seek_mode must be 'exact' or 'approximate', got {seek_mode!r}")
        self.seek_mode = seek_mode
        super().__init__(path, num_threads)

    @staticmethod
    def is_available() -> bool:
        try:
            _torchcodec_decoders()
            return True
        except DecodeError:
            return False

    def _open(self) -> None:
        decoders = _torchcodec_decoders()
        self._dec = decoders.VideoDecoder(self.path, dimension_order='NHWC', num_ffmpeg_threads=self.num_threads,
                                          seek_mode=self.seek_mode)
        meta = self._dec.metadata
        # metadata.num_frames can be None for streams whose header lacks a count; len() is the decoder's own.
        n = getattr(meta, 'num_frames', None)
        self._n = int(n) if n is not None else len(self._dec)
        if self._n <= 0:
            raise DecodeError(f'torchcodec: video {self.path} has no frames')
        fps = getattr(meta, 'average_fps', None)
        self._fps = float(fps) if fps is not None else 0.0

    @property
    def num_frames(self) -> int:
        return self._n

    @property
    def fps(self) -> float:
        return self._fps

    def _read_sorted(self, indices: np.ndarray) -> np.ndarray:
        batch = self._dec.get_frames_at(indices=indices.tolist())
        data = getattr(batch, 'data', batch)  # FrameBatch (data, pts, durations) or a bare tensor
        frames = data.numpy() if hasattr(data, 'numpy') else np.asarray(data)
        if frames.ndim != 4 or frames.shape[0] != len(indices) or frames.shape[-1] != 3:
            raise DecodeError(f'torchcodec: {self.path}: expected ({len(indices)}, H, W, 3) frames for indices '
                              f'{indices.tolist()}, got shape {frames.shape}')
        return np.ascontiguousarray(frames, dtype=np.uint8)

    def close(self) -> None:
        self._dec = None
