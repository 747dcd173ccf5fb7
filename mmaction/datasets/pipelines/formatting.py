"""Layout transforms: frames ``(M, H, W, C)`` to the model layouts of the design (NCHW / NCTHW)."""
from __future__ import annotations

import numpy as np

from mmaction.registry import PIPELINES


@PIPELINES.register_module()
class FormatShape:
    """``NCHW``: ``(M, C, H, W)`` with ``M = crops * num_clips * clip_len``.
    ``NCTHW``: ``(M', C, T, H, W)`` with ``M' = crops * num_clips``, ``T = clip_len``.

    Frames must be ordered crop-major, then clip, then time (what the samplers and crops produce).
    """

    def __init__(self, input_format: str = 'NCHW', collapse: bool = False):
        if input_format not in ('NCHW', 'NCTHW'):
            raise ValueError(f"FormatShape: input_format must be 'NCHW' or 'NCTHW', got {input_format!r}")
        self.input_format = input_format
        self.collapse = collapse

    def __call__(self, results: dict) -> dict:
        imgs = results['imgs']
        if imgs.ndim == 3:  # (M, H, W) grayscale
            imgs = imgs[..., None]
        if self.input_format == 'NCHW':
            imgs = imgs.transpose(0, 3, 1, 2)
        else:
            clip_len = int(results['clip_len'])
            num_clips = int(results['num_clips'])
            m, h, w, c = imgs.shape
            if m % (clip_len * num_clips):
                raise ValueError(f'FormatShape NCTHW: {m} frames are not a multiple of '
                                 f'num_clips x clip_len = {num_clips} x {clip_len}')
            imgs = imgs.reshape(-1, num_clips, clip_len, h, w, c).transpose(0, 1, 5, 2, 3, 4)
            imgs = imgs.reshape(-1, c, clip_len, h, w)
        if self.collapse:
            if imgs.shape[0] != 1:
                raise ValueError(f'FormatShape collapse=True needs a single view, got {imgs.shape[0]}')
            imgs = imgs[0]
        results['imgs'] = np.ascontiguousarray(imgs)
        results['input_shape'] = results['imgs'].shape
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(input_format={self.input_format!r})'


@PIPELINES.register_module()
class PackActionInputs:
    """mmaction2's last transform: the frames become the tensor ``results['inputs']`` and the ``meta_keys``
    present in ``results`` are collected into ``results['pack_meta']``.

    The dataset still returns this project's batch dict (design.md): ``img_group_i`` is ``inputs`` and
    ``img_meta`` gains the packed keys, so an mmaction2 pipeline needs no edit.
    """

    def __init__(self, meta_keys: tuple = ('img_shape', 'img_key', 'video_id', 'timestamp'),
                 collect_keys: tuple | None = None, algorithm_keys: tuple = ()):
        if collect_keys:
            raise ValueError(f'PackActionInputs: collect_keys={collect_keys!r} is not supported (the frames are '
                             f"packed from 'imgs')")
        self.meta_keys = tuple(meta_keys)

    def __call__(self, results: dict) -> dict:
        import torch
        if 'imgs' not in results:
            raise KeyError("PackActionInputs: no 'imgs' in the results (put it after FormatShape)")
        results['inputs'] = torch.from_numpy(np.ascontiguousarray(results['imgs']))
        results['pack_meta'] = {k: results[k] for k in self.meta_keys if k in results}
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(meta_keys={self.meta_keys})'
