"""Translate the original MMAction v0 dataset flags (v0 reference §5.2–§5.8) into a transform list.

:func:`translate_dataset_cfg` runs once, when ``build_dataset`` builds a dataset: an original flag-form
config (``img_norm_cfg``, ``num_segments``, ``scales``, ``oversample``, ...) becomes a pipeline-form config
(``pipeline=[...]`` plus the loader keys), so the dataset classes only parse annotations and run their
pipeline. Order follows the original ``GroupImageTransform``: resize (or a
random resized/rescaled crop), mean-volume subtraction, crop, flip, flow x-inversion, /255 + normalise,
layout.
"""
from __future__ import annotations

import os.path as osp
from typing import Any, Sequence

import numpy as np

from mmaction.registry import ConfigError

_OVERSAMPLE = (None, 'three_crop', 'ten_crop')


def video_backend(use_decord: bool | None, decoder: str | None) -> str:
    """``decoder`` wins; ``use_decord=False`` asks for the OpenCV reader (as the original), ``True`` for
    decord; unset: ``'auto'``, the fastest frame-exact backend installed (all return the same frames)."""
    if decoder is not None:
        return decoder
    if use_decord is False:
        return 'opencv'
    if use_decord:
        return 'decord'
    return 'auto'


def flags_to_pipeline(*, source: str, modality: str = 'RGB',
                      num_segments: int = 3, new_length: int = 1, new_step: int = 1, random_shift: bool = True,
                      temporal_jitter: bool = False, test_mode: bool = False, img_norm_cfg: dict | None = None,
                      img_scale: Any = 256, input_size: Any = 224, div_255: bool = False, flip_ratio: float = 0.5,
                      resize_keep_ratio: bool = True, oversample: str | None = None, random_crop: bool = False,
                      more_fix_crop: bool = False, multiscale_crop: bool = False, resize_crop: bool = False,
                      rescale_crop: bool = False, scales: Sequence[float] | None = None, max_distort: int = 1,
                      input_format: str = 'NCHW', backend: str = 'decord', pre_mean_volume: Any = None,
                      flow_invert_x: bool = True, decoding_backend: str = 'auto',
                      img_scale_file: str | None = None, with_sampler: bool = True) -> list[dict]:
    """Transform configs equivalent to the original flags. ``source``: ``'rawframes'``, ``'lmdb'`` or ``'video'``.

    The frame template (``image_tmpl``) is not part of the list: it is a dataset key (``filename_tmpl``), so
    modalities can share a pipeline. ``with_sampler=False`` leaves out the TSN segment sampler for datasets
    that choose frame indices themselves (SSN).
    """
    if oversample not in _OVERSAMPLE:
        raise ConfigError(f"dataset config key 'oversample' must be one of {_OVERSAMPLE}, got {oversample!r}")
    if input_format not in ('NCHW', 'NCTHW'):
        raise ConfigError(f"dataset config key 'input_format' must be 'NCHW' or 'NCTHW', got {input_format!r}")
    if modality not in ('RGB', 'RGBDiff', 'Flow'):
        raise ConfigError(f"dataset config key 'modality' must be 'RGB', 'RGBDiff' or 'Flow', got {modality!r}")
    if img_norm_cfg is None or 'mean' not in img_norm_cfg or 'std' not in img_norm_cfg:
        raise ConfigError(f"dataset config key 'img_norm_cfg' must be a dict with 'mean' and 'std', got {img_norm_cfg!r}")
    if source == 'video' and modality == 'Flow':
        raise ConfigError("VideoDataset: modality 'Flow' is not supported for videos (as in the original); "
                          'use RawFramesDataset with extracted flow frames')
    if oversample is not None and (resize_crop or rescale_crop):
        raise ConfigError(f"dataset config: oversample={oversample!r} cannot be combined with "
                          f"resize_crop/rescale_crop (the original would crop twice)")

    # RGBDiff: new_length differences need new_length + 1 frames (the original never differenced, §5.4).
    sample_length = new_length + 1 if modality == 'RGBDiff' else new_length
    sample = dict(type='TSNSampleFrames', num_segments=num_segments, new_length=sample_length, new_step=new_step,
                  random_shift=random_shift, temporal_jitter=temporal_jitter, test_mode=test_mode)
    samplers = [sample] if with_sampler else []
    if source in ('rawframes', 'lmdb'):
        # The original read rawframes with mmcv.imread: BGR.
        decode = 'RawFrameDecode' if source == 'rawframes' else 'LMDBFrameDecode'
        pipeline = samplers + [dict(type=decode, modality=modality, channel_order='bgr',
                                    decoding_backend=decoding_backend)]
    elif source == 'video':
        pipeline = [dict(type='VideoInit', backend=backend)] + samplers + [dict(type='VideoDecode')]
    else:
        raise ValueError(f"source must be 'rawframes', 'lmdb' or 'video', got {source!r}")

    if (resize_crop or rescale_crop) and input_size is None:
        raise ConfigError("dataset config: resize_crop/rescale_crop need 'input_size'")
    if resize_crop:
        # Replaces the resize step, as the original (scale_factor stays None).
        pipeline += [dict(type='RandomResizedCrop', area_range=(0.08, 1.0), aspect_ratio_range=(3 / 4, 4 / 3)),
                     dict(type='Resize', scale=_wh(input_size), keep_ratio=False, record_scale=False)]
    elif rescale_crop:
        pipeline += [dict(type='RandomRescaledCrop', crop_size=_wh(input_size), scale_range=(256, 320))]
    else:
        resize = dict(type='Resize', scale=_scale(img_scale), keep_ratio=resize_keep_ratio)
        if img_scale_file:
            resize['scale_file'] = img_scale_file
        pipeline.append(resize)
        if pre_mean_volume is not None:
            pipeline.append(dict(type='SubtractMeanVolume', mean_volume=pre_mean_volume, volume_order='bgr'))
        if input_size is not None:
            if oversample == 'three_crop':
                pipeline.append(dict(type='ThreeCrop', crop_size=_wh(input_size)))
            elif oversample == 'ten_crop':
                pipeline.append(dict(type='TenCrop', crop_size=_wh(input_size)))
            elif multiscale_crop:
                pipeline.append(dict(type='MultiScaleCrop', input_size=_wh(input_size), scales=scales,
                                     max_distort=max_distort, random_crop=random_crop,
                                     more_fix_crop=more_fix_crop, resize=True))
            else:
                pipeline.append(dict(type='CenterCrop', crop_size=_wh(input_size)))
    pipeline.append(dict(type='Flip', flip_ratio=flip_ratio))
    if modality == 'Flow' and flow_invert_x:
        pipeline.append(dict(type='FlowInvertX'))
    # The original's to_rgb defaults to True (GroupImageTransform); out_order makes the tensor independent of
    # the decoder's channel order (fixes the original's video/rawframes colour inconsistency, v0 §5.5).
    to_rgb = bool(img_norm_cfg.get('to_rgb', True))
    pipeline.append(dict(type='Normalize', mean=list(img_norm_cfg['mean']), std=list(img_norm_cfg['std']),
                         to_rgb=to_rgb, div_255=div_255, out_order='rgb' if to_rgb else 'bgr'))
    if modality == 'RGBDiff':
        pipeline.append(dict(type='RGBDiff'))
    pipeline.append(dict(type='FormatShape', input_format=input_format))
    return pipeline


def _scale(img_scale: Any) -> Any:
    if isinstance(img_scale, (list, tuple)):
        if len(img_scale) != 2:
            raise ConfigError(f"dataset config key 'img_scale' must be an int or a (w, h) pair, got {img_scale!r}")
        return tuple(img_scale)
    if isinstance(img_scale, int) and not isinstance(img_scale, bool):
        return img_scale
    raise ConfigError(f"dataset config key 'img_scale' must be an int or a (w, h) pair, got {img_scale!r}")


def _wh(input_size: Any) -> tuple[int, int]:
    if isinstance(input_size, int) and not isinstance(input_size, bool):
        return (input_size, input_size)
    if isinstance(input_size, (list, tuple)) and len(input_size) == 2:
        return (int(input_size[0]), int(input_size[1]))
    raise ConfigError(f"dataset config key 'input_size' must be an int, a (w, h) pair or None, got {input_size!r}")


# --------------------------------------------------------------------------------------------------------
# Build-time translation of a whole dataset config
# --------------------------------------------------------------------------------------------------------
# The original's augmentation keys of the recognition datasets (v0 §5.2, §5.5, §5.6). ``size_divisor``,
# ``proposal_file``, ``num_max_proposals`` and ``resize_ratio`` were accepted and unused by the original.
RECOGNITION_FLAGS = (
    'img_norm_cfg', 'pre_mean_npy', 'num_segments', 'new_length', 'new_step', 'random_shift', 'temporal_jitter',
    'img_scale', 'img_scale_file', 'input_size', 'div_255', 'size_divisor', 'proposal_file', 'num_max_proposals',
    'flip_ratio', 'resize_keep_ratio', 'resize_ratio', 'oversample', 'random_crop', 'more_fix_crop',
    'multiscale_crop', 'resize_crop', 'rescale_crop', 'scales', 'max_distort', 'input_format', 'flow_invert_x',
    'decoding_backend', 'use_decord', 'decoder')
_UNUSED_FLAGS = ('size_divisor', 'proposal_file', 'num_max_proposals', 'resize_ratio')
_SOURCES = {'RawFramesDataset': 'rawframes', 'RawframeDataset': 'rawframes', 'LMDBFramesDataset': 'lmdb',
            'VideoDataset': 'video'}


def load_mean_volume(path: str) -> np.ndarray:
    """``pre_mean_npy`` as ``(L, H, W, C)`` float32. The file holds ``(C, L, H, W)`` (Caffe's C3D
    ``c3d_train01_16_128_171_mean.npy`` is ``(3, 16, 128, 171)``, BGR); the original transposed it with
    ``(1, 2, 3, 0)`` and subtracted frame ``i % L`` from the i-th resized frame before cropping."""
    if not osp.isfile(path):
        raise FileNotFoundError(f"pre_mean_npy file not found: {path} (config key 'pre_mean_npy')")
    vol = np.load(path, allow_pickle=False)
    if vol.ndim != 4:
        raise ConfigError(f"pre_mean_npy {path}: expected a (C, L, H, W) array, got shape {vol.shape} "
                          f"(config key 'pre_mean_npy')")
    return np.ascontiguousarray(vol.transpose(1, 2, 3, 0), dtype=np.float32)


def _rename(cfg: dict, old: str, new: str, where: str) -> None:
    if old in cfg:
        if new in cfg and cfg[new] != cfg[old]:
            raise ConfigError(f"config '{where}': '{old}' and '{new}' name the same thing; give one of them")
        cfg[new] = cfg.pop(old)


def _take_flags(cfg: dict, flag_keys: Sequence[str], unused: Sequence[str], where: str,
                tmpl_key: str | None = 'image_tmpl', default_tmpl: str | None = 'img_{}.jpg') -> dict | None:
    """Rename the original's ``img_prefix``/``tmpl_key`` to ``data_prefix``/``filename_tmpl`` and pop the
    augmentation flags out of ``cfg``; ``None`` when ``cfg`` already has a ``pipeline`` (then only the original's
    accepted-and-unused keys may come along). ``unused`` keys are dropped. A flag-form config gets the
    original's default frame template."""
    _rename(cfg, 'img_prefix', 'data_prefix', where)
    if tmpl_key:
        _rename(cfg, tmpl_key, 'filename_tmpl', where)
    flags = {k: cfg.pop(k) for k in (*flag_keys, *unused) if k in cfg}
    if 'pipeline' in cfg:
        used = sorted(set(flags) - set(unused))
        if used:
            raise ConfigError(f"config '{where}': give either 'pipeline' or the original augmentation keys "
                              f"{used}, not both")
        return None
    if default_tmpl:
        cfg.setdefault('filename_tmpl', default_tmpl)
    return {k: v for k, v in flags.items() if k not in unused}


def _recognition_cfg(cfg: dict, where: str) -> dict:
    source = _SOURCES[cfg['type'] if isinstance(cfg['type'], str) else cfg['type'].__name__]
    if source == 'video':
        cfg.pop('image_tmpl', None)  # accepted by the original VideoDataset, meaningless for videos
        if isinstance(cfg.get('data_prefix'), dict):
            cfg.setdefault('video_ext', '')  # mmaction2 lists name the file with its extension
    if source == 'lmdb':
        for key in ('pre_mean_npy', 'temporal_jitter', 'img_scale_file', 'resize_crop', 'rescale_crop'):
            if cfg.get(key):
                raise ConfigError(f"config '{where}': LMDBFramesDataset does not support config key '{key}' "
                                  f"(as the original)")
    tmpl_key, default_tmpl = {'video': (None, None), 'lmdb': ('key_tmpl', 'img_{:05d}')}.get(
        source, ('image_tmpl', 'img_{}.jpg'))
    flags = _take_flags(cfg, RECOGNITION_FLAGS, _UNUSED_FLAGS, where, tmpl_key, default_tmpl)
    if flags is None:
        return cfg
    if source == 'video':
        flags['backend'] = video_backend(flags.pop('use_decord', None), flags.pop('decoder', None))
    if flags.get('pre_mean_npy') is not None:
        flags['pre_mean_volume'] = load_mean_volume(flags.pop('pre_mean_npy'))
    flags.pop('pre_mean_npy', None)
    modality = cfg.get('modality', 'RGB')
    modalities = list(modality) if isinstance(modality, (list, tuple)) else [modality]
    pipelines = [flags_to_pipeline(source=source, modality=m, test_mode=bool(cfg.get('test_mode', False)), **flags)
                 for m in modalities]
    cfg['pipeline'] = pipelines if isinstance(modality, (list, tuple)) else pipelines[0]
    return cfg


def translate_dataset_cfg(cfg: dict, where: str = 'data') -> dict:
    """A dataset config in pipeline form (a new dict; ``cfg`` is not changed).

    Original flag-form configs of ``RawFramesDataset``, ``LMDBFramesDataset``, ``VideoDataset``,
    ``SSNDataset`` and ``AVADataset`` get a ``pipeline`` built from their flags (the flags are removed);
    ``img_prefix``/``image_tmpl`` become ``data_prefix``/``filename_tmpl``. Pipeline-form configs pass
    through with those renames; other dataset types pass through unchanged. Idempotent.
    """
    cfg = dict(cfg)
    kind = cfg.get('type')
    name = kind if isinstance(kind, str) else getattr(kind, '__name__', None)
    if name in _SOURCES:
        return _recognition_cfg(cfg, where)
    if name == 'SSNDataset':
        return _ssn_cfg(cfg, where)
    if name == 'AVADataset':
        return _ava_cfg(cfg, where)
    return cfg


# The image keys of the original SSNDataset (v0 §5.7); its sampling keys (body_seg, aug_seg, aug_ratio,
# new_length, new_step, random_shift) stay dataset keys: SSN chooses the frames of each proposal itself.
SSN_FLAGS = ('img_norm_cfg', 'img_scale', 'input_size', 'div_255', 'size_divisor', 'flip_ratio',
             'resize_keep_ratio', 'resize_ratio', 'oversample', 'random_crop', 'more_fix_crop', 'multiscale_crop',
             'scales', 'max_distort', 'input_format')


def _ssn_cfg(cfg: dict, where: str) -> dict:
    flags = _take_flags(cfg, SSN_FLAGS, _UNUSED_FLAGS, where)
    if flags is None:
        return cfg
    flags.setdefault('input_size', None)  # the original SSNDataset does not crop by default
    cfg['pipeline'] = flags_to_pipeline(source='rawframes', modality=cfg.get('modality', 'RGB'),
                                        new_length=cfg.get('new_length', 1), test_mode=bool(cfg.get('test_mode')),
                                        with_sampler=False, **flags)
    return cfg


# The image keys of the original AVADataset (v0 §5.8); crop options of the recognition datasets were accepted
# and had no effect on AVA.
AVA_FLAGS = ('img_norm_cfg', 'img_scale', 'input_size', 'div_255', 'size_divisor', 'multiscale_mode', 'flip_ratio',
             'resize_keep_ratio', 'random_crop', 'input_format')
_AVA_UNUSED = ('oversample', 'more_fix_crop', 'multiscale_crop', 'scales', 'max_distort')


def _ava_cfg(cfg: dict, where: str) -> dict:
    flags = _take_flags(cfg, AVA_FLAGS, _AVA_UNUSED, where)
    if flags is None:
        return cfg
    cfg['pipeline'] = ava_flags_to_pipeline(test_mode=bool(cfg.get('test_mode', False)), where=where, **flags)
    return cfg


def ava_flags_to_pipeline(*, test_mode: bool = False, img_norm_cfg: dict | None = None, img_scale: Any = (340, 256),
                          input_size: int | None = None, div_255: bool = False, size_divisor: int | None = None,
                          multiscale_mode: str = 'value', flip_ratio: float = 0.5, resize_keep_ratio: bool = True,
                          random_crop: bool = False, input_format: str = 'NCHW', where: str = 'data') -> list[dict]:
    """The original AVA image transform as box-aware transforms: resize (a random scale of the ``img_scale``
    list when training), crop ``input_size`` (centre, or random with ``random_crop`` when training), flip
    (mmdet-v1 inclusive boxes), normalise, pad to ``size_divisor``, layout. Test: one view per scale, and its
    flipped copy when ``flip_ratio > 0`` (``MultiScaleFlipAug``)."""
    if input_format not in ('NCHW', 'NCTHW'):
        raise ConfigError(f"config '{where}': AVADataset input_format must be 'NCHW' or 'NCTHW', got {input_format!r}")
    if multiscale_mode not in ('value', 'range'):
        raise ConfigError(f"config '{where}': AVADataset multiscale_mode must be 'value' or 'range', "
                          f"got {multiscale_mode!r}")
    scales = [tuple(s) for s in img_scale] if isinstance(img_scale, list) else [tuple(img_scale)]
    norm = dict(img_norm_cfg or dict(mean=[0, 0, 0], std=[1, 1, 1], to_rgb=True))
    to_rgb = bool(norm.get('to_rgb', True))
    # The original read the frames in the order to_rgb asked for and never swapped: out_order says the same.
    tail = [dict(type='Normalize', mean=list(norm.get('mean', [0, 0, 0])), std=list(norm.get('std', [1, 1, 1])),
                 to_rgb=to_rgb, div_255=div_255, out_order='rgb' if to_rgb else 'bgr')]
    if size_divisor:
        tail.append(dict(type='Pad', size_divisor=size_divisor))
    tail.append(dict(type='FormatShape', input_format=input_format))
    crop = []
    if input_size:
        crop = [dict(type='RandomCrop', size=input_size, clamp=True) if random_crop and not test_mode
                else dict(type='CenterCrop', crop_size=input_size)]
    if test_mode:
        view = ([dict(type='Resize', scale=scales[0], keep_ratio=resize_keep_ratio)] + crop
                + [dict(type='Flip', flip_ratio=0, inclusive_boxes=True)] + tail)
        return [dict(type='MultiScaleFlipAug', img_scale=scales, flip=flip_ratio > 0, transforms=view)]
    resize = dict(type='Resize', scale=scales if len(scales) > 1 else scales[0], keep_ratio=resize_keep_ratio,
                  multiscale_mode=multiscale_mode)
    return [resize] + crop + [dict(type='Flip', flip_ratio=flip_ratio, inclusive_boxes=True)] + tail
