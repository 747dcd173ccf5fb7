"""Decoding transforms: frames of a video (through a registered decoder) or of a frame folder.

All of them fill ``results['imgs']`` with ONE ``(N, H, W, C)`` uint8 array and record its
``channel_order`` (``'rgb'`` or ``'bgr'``) so that ``Normalize`` can produce the requested order
without an extra pass. Flow frames are ``(N, H, W, 2)`` with channel 0 = x, 1 = y.
"""
from __future__ import annotations

import os.path as osp
from typing import Callable

import numpy as np

from mmaction.registry import PIPELINES

from ..decoders.base import build_decoder
from ..decoders.frames import decode_frames, read_frame_file


def _clip_name(results: dict) -> str:
    return str(results.get('filename') or results.get('frame_dir') or '<unknown>')


@PIPELINES.register_module()
class VideoInit:
    """Open ``results['filename']`` with ``backend`` and set ``total_frames``/``avg_fps``/``video_reader``.

    ``backend='auto'`` (the default of ``VideoInit``) is the fastest frame-exact decoder installed
    (PyAV, then decord, then OpenCV). ``num_threads=None`` (default): decoder threads on all cores in the
    main process, 1 in a DataLoader worker; mmaction2's ``DecordInit`` uses 1.
    """

    backend = 'auto'

    def __init__(self, backend: str | None = None, num_threads: int | None = None, **decoder_kwargs):
        self.backend = backend or type(self).backend
        self.num_threads = num_threads
        self.decoder_kwargs = decoder_kwargs

    def __call__(self, results: dict) -> dict:
        reader = build_decoder(self.backend, results['filename'], num_threads=self.num_threads,
                               **self.decoder_kwargs)
        results['video_reader'] = reader
        results['total_frames'] = reader.num_frames
        results['avg_fps'] = reader.fps
        results.setdefault('start_index', 0)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(backend={self.backend!r})'


@PIPELINES.register_module()
class VideoDecode:
    """Decode ``frame_inds`` (one sorted, de-duplicated request) into ``imgs``; closes the reader."""

    def __init__(self, **kwargs):
        self.kwargs = kwargs  # mmaction2 options such as mode='accurate' are accepted; decoding is always exact

    def __call__(self, results: dict) -> dict:
        reader = results.pop('video_reader')
        try:
            inds = np.asarray(results['frame_inds'], dtype=np.int64).reshape(-1) - int(results.get('start_index', 0))
            imgs = reader.get_frames(inds)
        finally:
            reader.close()
        results['imgs'] = imgs
        results['channel_order'] = 'rgb'
        results['original_shape'] = imgs.shape[1:3]
        results['img_shape'] = imgs.shape[1:3]
        return results


# mmaction2-style decoder pairs: the same two steps with a fixed backend.
@PIPELINES.register_module()
class DecordInit(VideoInit):
    backend = 'decord'


@PIPELINES.register_module()
class OpenCVInit(VideoInit):
    backend = 'opencv'


@PIPELINES.register_module()
class PyAVInit(VideoInit):
    backend = 'pyav'


@PIPELINES.register_module()
class TorchCodecInit(VideoInit):
    """Optional backend: needs ``import torchcodec`` to work (see ``decoders/torchcodec_decoder.py``)."""
    backend = 'torchcodec'


for _name in ('DecordDecode', 'OpenCVDecode', 'PyAVDecode', 'TorchCodecDecode'):
    PIPELINES.register_module(name=_name, module=VideoDecode)


def decode_clip(results: dict, modality: str | None, name_of: Callable[..., str], read: Callable[[str], bytes],
                channel_order: str, backend: str, where: Callable[[str], str] = str) -> dict:
    """Fill ``results['imgs']`` with the frames ``frame_inds + offset`` of a clip, whatever stores them.

    ``name_of(i)`` (``name_of('x'|'y', i)`` for Flow) names frame ``i`` and ``read(name)`` gives its encoded bytes:
    a frame folder and an LMDB database differ only there, so both give the same arrays for the same bytes.
    """
    modality = modality or results.get('modality', 'RGB')
    offset = int(results.get('offset', 0))
    inds = [int(i) + offset for i in np.asarray(results['frame_inds'], dtype=np.int64).reshape(-1)]
    if modality in ('RGB', 'RGBDiff'):
        imgs = decode_frames([name_of(i) for i in inds], read, 'color', channel_order, backend, where)
        results['channel_order'] = channel_order
    elif modality == 'Flow':
        xs = decode_frames([name_of('x', i) for i in inds], read, 'grayscale', backend=backend, where=where)
        ys = decode_frames([name_of('y', i) for i in inds], read, 'grayscale', backend=backend, where=where)
        if xs.shape != ys.shape:
            raise ValueError(f'{_clip_name(results)}: flow x frames {xs.shape} and y frames {ys.shape} differ in size')
        imgs = np.stack([xs, ys], axis=-1)
        results['channel_order'] = 'flow'
    else:
        raise ValueError(f"{_clip_name(results)}: modality must be 'RGB', 'RGBDiff' or 'Flow', got {modality!r}")
    results['imgs'] = imgs
    results['original_shape'] = imgs.shape[1:3]
    results['img_shape'] = imgs.shape[1:3]
    return results


@PIPELINES.register_module()
class RawFrameDecode:
    """Read ``frame_dir/filename_tmpl.format(idx)`` for every index of ``frame_inds``.

    ``modality``: ``'RGB'``/``'RGBDiff'`` (colour, ``channel_order``) or ``'Flow'`` (``filename_tmpl`` gets
    ``'x'``/``'y'`` then the index; two grayscale images stacked to 2 channels). ``decoding_backend``:
    ``'auto'`` (simplejpeg when installed, else cv2), ``'cv2'`` or ``'simplejpeg'``.
    """

    def __init__(self, modality: str | None = None, filename_tmpl: str | None = None, channel_order: str = 'rgb',
                 decoding_backend: str = 'auto', io_backend: str = 'disk'):
        if channel_order not in ('rgb', 'bgr'):
            raise ValueError(f"RawFrameDecode: channel_order must be 'rgb' or 'bgr', got {channel_order!r}")
        self.modality = modality
        self.filename_tmpl = filename_tmpl
        self.channel_order = channel_order
        self.decoding_backend = decoding_backend

    def __call__(self, results: dict) -> dict:
        tmpl = self.filename_tmpl or results.get('filename_tmpl', 'img_{:05d}.jpg')
        directory = results['frame_dir']
        if not osp.isdir(directory):
            raise FileNotFoundError(f'frame folder not found: {directory}')
        return decode_clip(results, self.modality, lambda *fields: osp.join(directory, tmpl.format(*fields)),
                           read_frame_file, self.channel_order, self.decoding_backend)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(modality={self.modality!r}, channel_order={self.channel_order!r})'


@PIPELINES.register_module()
class LMDBFrameDecode:
    """Frames stored as encoded images in a per-video LMDB (original ``LMDBFramesDataset``, §5.6).

    ``results['lmdb_path']`` is the database; keys are ``key_tmpl.format(idx)`` (``key_tmpl.format('x'|'y',
    idx)`` for Flow). The database is opened read-only per sample (an LMDB environment must not cross a
    fork into DataLoader workers).
    """

    def __init__(self, modality: str | None = None, key_tmpl: str | None = None, channel_order: str = 'rgb',
                 decoding_backend: str = 'auto'):
        self.modality = modality
        self.key_tmpl = key_tmpl
        self.channel_order = channel_order
        self.decoding_backend = decoding_backend

    def __call__(self, results: dict) -> dict:
        import lmdb
        path = results['lmdb_path']
        tmpl = self.key_tmpl or results.get('key_tmpl', 'img_{:05d}')
        if not osp.exists(path):
            raise FileNotFoundError(f'lmdb database not found: {path}')
        env = lmdb.open(path, readonly=True, lock=False, readahead=False, max_readers=64)
        try:
            with env.begin(write=False) as txn:
                def read(key: str) -> bytes:
                    data = txn.get(key.encode())
                    if data is None:
                        raise KeyError(f'{path}: key {key!r} not found in the lmdb database')
                    return bytes(data)
                return decode_clip(results, self.modality, lambda *fields: tmpl.format(*fields), read,
                                   self.channel_order, self.decoding_backend, where=lambda key: f'{path}[{key}]')
        finally:
            env.close()
