"""Writing frames and videos crash-safely, shared by the toy generator and the preparation scripts.

Every per-video output goes to a hidden temp directory (or file) next to its final place and is renamed
onto it only when complete, so an interrupted run leaves either nothing or the whole video: ``--resume``
can then trust that an existing folder is finished.
"""
from __future__ import annotations

import itertools
import os
from fractions import Fraction
from typing import Iterable, Iterator

import numpy as np

from mmaction.utils.io import atomic_open, atomic_path


def write_jpeg(path: str, image: np.ndarray, quality: int = 95) -> None:
    """Write a uint8 HxW (gray) or HxWx3 (**BGR**) image as JPEG; raises if OpenCV refuses."""
    import cv2  # imported on use: the list tools that do not decode start faster
    if not cv2.imwrite(path, image, [int(cv2.IMWRITE_JPEG_QUALITY), int(quality)]):
        raise OSError(f'cv2.imwrite failed for {path} (shape {image.shape}, dtype {image.dtype})')


def write_rgb_frames(out_dir: str, frames_rgb: Iterable[np.ndarray], tmpl: str = 'img_{:05d}.jpg',
                     quality: int = 95, start: int = 1) -> int:
    """Write RGB uint8 frames as ``tmpl.format(i)`` JPEGs (1-based by default); returns the count."""
    import cv2  # imported on use: the list tools that do not decode start faster
    n = 0
    for n, frame in enumerate(frames_rgb, start=1):
        write_jpeg(os.path.join(out_dir, tmpl.format(n + start - 1)), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                   quality)
    return n


def write_h264(path: str, frames_rgb: Iterable[np.ndarray], fps: float = 30.0, crf: int = 18,
               gop: int = 16, preset: str = 'medium') -> int:
    """Encode RGB uint8 frames (H, W, 3) to an H.264 ``yuv420p`` file with PyAV, atomically; returns the count.

    ``frames_rgb`` may be a generator (frames are streamed, not held in memory). Width and height must be
    even (yuv420p). One encoder thread leaves parallelism to the caller's worker processes; it does NOT make
    the bytes reproducible: libx264 via PyAV 18 gives different bitstreams for identical input from run to
    run (measured in tests/test_toy_dataset.py), so compare decoded frames within a tolerance, never mp4 bytes.
    """
    import av  # optional dependency: only needed when writing videos

    it = iter(frames_rgb)
    first = next(it, None)
    if first is None:
        raise ValueError(f'{path}: no frames to encode')
    h, w = first.shape[:2]
    if h % 2 or w % 2:
        raise ValueError(f'{path}: H.264 yuv420p needs even width/height, got {w}x{h}')
    n = 0
    with atomic_path(path, suffix=os.path.splitext(path)[1]) as tmp:
        with av.open(tmp, mode='w') as container:
            stream = container.add_stream('libx264', rate=Fraction(fps).limit_denominator(1001))
            stream.width, stream.height, stream.pix_fmt = w, h, 'yuv420p'
            stream.codec_context.thread_count = 1
            stream.options = {'crf': str(crf), 'g': str(gop), 'preset': preset}
            for frame in itertools.chain([first], it):
                n += 1
                for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format='rgb24')):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
    return n


DECODERS = ('decord', 'pyav', 'opencv')


def iter_video_frames(path: str, backend: str = 'decord', chunk: int = 32) -> Iterator[np.ndarray]:
    """Yield every frame of a video as RGB uint8 (H, W, 3), sequentially, with one decoder thread.

    Sequential decoding is exact and by far the fastest way to read a whole video (no seeking).
    """
    import cv2  # imported on use: the list tools that do not decode start faster
    if not os.path.isfile(path):
        raise FileNotFoundError(f'video not found: {path}')
    if backend == 'decord':
        import decord
        vr = decord.VideoReader(path, num_threads=1)
        n = len(vr)
        for start in range(0, n, chunk):
            yield from vr.get_batch(list(range(start, min(start + chunk, n)))).asnumpy()
    elif backend == 'pyav':
        import av
        with av.open(path) as container:
            stream = container.streams.video[0]
            stream.thread_type = 'AUTO'
            for frame in container.decode(stream):
                yield frame.to_ndarray(format='rgb24')
    elif backend == 'opencv':
        cap = cv2.VideoCapture(path)
        if not cap.isOpened():
            raise OSError(f'OpenCV cannot open {path}')
        try:
            while True:
                ok, frame = cap.read()
                if not ok:
                    break
                yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        finally:
            cap.release()
    else:
        raise ValueError(f'unknown decoder {backend!r}; expected one of {DECODERS}')


def resize_frame(frame: np.ndarray, new_short: int = 0, new_width: int = 0, new_height: int = 0) -> np.ndarray:
    """Resize: short side to ``new_short``; or exactly to ``new_width x new_height``; or one side with the
    other keeping the aspect ratio; all zero -> unchanged."""
    import cv2  # imported on use: the list tools that do not decode start faster
    h, w = frame.shape[:2]
    if new_short:
        s = new_short / min(h, w)
        size = (max(1, round(w * s)), max(1, round(h * s)))
    elif new_width and new_height:
        size = (new_width, new_height)
    elif new_width:
        size = (new_width, max(1, round(h * new_width / w)))
    elif new_height:
        size = (max(1, round(w * new_height / h)), new_height)
    else:
        return frame
    if size == (w, h):
        return frame
    interp = cv2.INTER_AREA if size[0] < w else cv2.INTER_LINEAR
    return cv2.resize(frame, size, interpolation=interp)


def write_lines(path: str, lines: Iterable[str]) -> None:
    """Write text lines (newline-terminated) atomically."""
    with atomic_open(path, 'w') as f:
        f.write(''.join(line + '\n' for line in lines))
