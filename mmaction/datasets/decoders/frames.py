"""Reading frame images (rawframes, LMDB frames): the fastest JPEG decoder available, with clear errors.

``simplejpeg`` decodes JPEG about 1.3x faster than cv2 here; other formats (png) and failures of
simplejpeg fall back to ``cv2.imdecode``. Colour images come back in the requested channel order so that
no separate conversion pass is needed. Frame folders and LMDB databases hand their encoded bytes to the same
:func:`decode_frames`, so the two storages give the same arrays for the same bytes and backend (JPEG decoders of
different builds may round the inverse DCT differently; pick one with ``decoding_backend``).
"""
from __future__ import annotations

import os
from typing import Callable, Sequence

import cv2
import numpy as np

try:
    import simplejpeg
except Exception:  # noqa: BLE001 - optional accelerator
    simplejpeg = None


class FrameReadError(RuntimeError):
    """A frame image exists but cannot be decoded."""


def read_frame_file(path: str) -> bytes:
    """The encoded bytes of a frame file (a missing file names its path)."""
    try:
        with open(path, 'rb') as f:
            return f.read()
    except FileNotFoundError:
        raise FileNotFoundError(f'frame file not found: {path}') from None


def decode_image(data: bytes, path: str, flag: str = 'color', channel_order: str = 'bgr',
                 backend: str = 'auto') -> np.ndarray:
    """Decode image bytes: ``(H, W, 3)`` uint8 in ``channel_order`` for ``flag='color'``, ``(H, W)`` for
    ``'grayscale'``. ``backend``: ``'auto'`` (simplejpeg for JPEG when installed), ``'cv2'``, ``'simplejpeg'``."""
    if not data:  # cv2.imdecode fails on it with "!buf.empty()" and no path
        raise FrameReadError(f'cannot decode image {path}: empty file (0 bytes)')
    is_jpeg = data[:2] == b'\xff\xd8'
    if backend in ('auto', 'simplejpeg') and simplejpeg is not None and is_jpeg:
        try:
            if flag == 'color':
                return simplejpeg.decode_jpeg(data, colorspace=channel_order.upper())
            return simplejpeg.decode_jpeg(data, colorspace='GRAY')[..., 0]
        except Exception as err:  # noqa: BLE001 - retried with cv2 below; if that fails too we report
            if backend == 'simplejpeg':
                raise FrameReadError(f'cannot decode image {path}: {err}') from err
    buf = np.frombuffer(data, dtype=np.uint8)
    try:
        img = cv2.imdecode(buf, cv2.IMREAD_COLOR if flag == 'color' else cv2.IMREAD_GRAYSCALE)
    except cv2.error as err:
        raise FrameReadError(f'cannot decode image {path} ({len(data)} bytes): {str(err).strip()}') from None
    if img is None:
        raise FrameReadError(f'cannot decode image {path} ({len(data)} bytes): not a readable image')
    if flag == 'color' and channel_order == 'rgb':
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return img


def read_image(path: str | os.PathLike, flag: str = 'color', channel_order: str = 'bgr',
               backend: str = 'auto') -> np.ndarray:
    """Read one frame image from disk (see :func:`decode_image`)."""
    path = os.fspath(path)
    return decode_image(read_frame_file(path), path, flag, channel_order, backend)


def decode_frames(names: Sequence[str], read: Callable[[str], bytes], flag: str = 'color',
                  channel_order: str = 'bgr', backend: str = 'auto',
                  where: Callable[[str], str] = str) -> np.ndarray:
    """Decode the frames ``names`` (``read(name)`` gives the encoded bytes) into one ``(N, H, W[, 3])`` array;
    each distinct name is read and decoded once. ``where(name)`` names a frame in errors."""
    cache: dict[str, int] = {}
    unique: list[np.ndarray] = []
    order = []
    for name in names:
        k = cache.get(name)
        if k is None:
            k = cache[name] = len(unique)
            unique.append(decode_image(read(name), where(name), flag, channel_order, backend))
        order.append(k)
    shapes = {u.shape for u in unique}
    if len(shapes) > 1:
        raise FrameReadError(f'frames of one clip differ in size {sorted(shapes)}: {where(names[0])} ...')
    stacked = np.stack(unique)
    return stacked if len(unique) == len(names) else stacked[np.asarray(order)]


def read_images(paths: list[str], flag: str = 'color', channel_order: str = 'bgr',
                backend: str = 'auto') -> np.ndarray:
    """Read many frame files into one ``(N, H, W[, 3])`` array; each distinct file is decoded once."""
    return decode_frames([os.fspath(p) for p in paths], read_frame_file, flag, channel_order, backend)
