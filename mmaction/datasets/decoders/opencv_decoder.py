"""OpenCV backend: sequential ``grab`` between close indices, a seek for long jumps, BGR converted to RGB."""
from __future__ import annotations

import cv2
import numpy as np

from mmaction.registry import DECODERS

from .base import DecodeError, VideoDecoder


@DECODERS.register_module(name='opencv')
class OpenCVDecoder(VideoDecoder):
    """``cv2.VideoCapture``. ``seek_threshold``: gaps longer than this seek instead of grabbing frames."""

    backend = 'opencv'

    def __init__(self, path, num_threads: int = 1, seek_threshold: int = 32):
        self.seek_threshold = seek_threshold
        super().__init__(path, num_threads)

    def _open(self) -> None:
        self._cap = cv2.VideoCapture(self.path)
        if not self._cap.isOpened():
            raise DecodeError(f'opencv: cannot open video {self.path}')
        self._n = int(round(self._cap.get(cv2.CAP_PROP_FRAME_COUNT)))
        self._fps = float(self._cap.get(cv2.CAP_PROP_FPS))
        self._pos = 0  # index of the frame the next grab() returns
        if self._n <= 0:
            raise DecodeError(f'opencv: video {self.path} reports no frames')

    @property
    def num_frames(self) -> int:
        return self._n

    @property
    def fps(self) -> float:
        return self._fps

    def _read_sorted(self, indices: np.ndarray) -> np.ndarray:
        out = None
        for k, target in enumerate(indices.tolist()):
            if target < self._pos or target - self._pos > self.seek_threshold:
                self._cap.set(cv2.CAP_PROP_POS_FRAMES, target)
                self._pos = target
            while self._pos < target:  # grab() skips without converting the frame
                if not self._cap.grab():
                    raise DecodeError(f'opencv: {self.path}: stream ended at frame {self._pos} '
                                      f'while seeking frame {target}')
                self._pos += 1
            ok, frame = self._cap.read()
            if not ok or frame is None:
                raise DecodeError(f'opencv: {self.path}: cannot decode frame {target}')
            self._pos += 1
            if out is None:
                out = np.empty((len(indices),) + frame.shape, dtype=np.uint8)
            cv2.cvtColor(frame, cv2.COLOR_BGR2RGB, dst=out[k])
        return out

    def close(self) -> None:
        if getattr(self, '_cap', None) is not None:
            self._cap.release()
            self._cap = None
