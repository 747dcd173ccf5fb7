"""Translate the original MMAction v0 dataset flags (v0 reference §5.2–§5.5) into a transform list.

There is one code path: a flag-form dataset builds the list below and runs it through ``Compose`` just
like a ``pipeline=[...]`` dataset. Order follows the original ``GroupImageTransform``: resize (or a
random resized/rescaled crop), mean-volume subtraction, crop, flip, flow x-inversion, /255 + normalise,
layout.
"""
from __future__ import annotations

from typing import Any, Sequence

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


def flags_to_pipeline(*, source: str, modality: str = 'RGB', image_tmpl: str = 'img_{}.jpg',
                      num_segments: int = 3, new_length: int = 1, new_step: int = 1, random_shift: bool = True,
                      temporal_jitter: bool = False, test_mode: bool = False, img_norm_cfg: dict | None = None,
                      img_scale: Any = 256, input_size: Any = 224, div_255: bool = False, flip_ratio: float = 0.5,
                      resize_keep_ratio: bool = True, oversample: str | None = None, random_crop: bool = False,
                      more_fix_crop: bool = False, multiscale_crop: bool = False, resize_crop: bool = False,
                      rescale_crop: bool = False, scales: Sequence[float] | None = None, max_distort: int = 1,
                      input_format: str = 'NCHW', backend: str = 'decord', pre_mean_volume: Any = None,
                      flow_invert_x: bool = True, decoding_backend: str = 'auto') -> list[dict]:
    """Transform configs equivalent to the original flags. ``source``: ``'rawframes'`` or ``'video'``."""
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
    if source == 'rawframes':
        # The original read rawframes with mmcv.imread: BGR.
        pipeline = [sample, dict(type='RawFrameDecode', modality=modality, filename_tmpl=image_tmpl,
                                 channel_order='bgr', decoding_backend=decoding_backend)]
    elif source == 'video':
        pipeline = [dict(type='VideoInit', backend=backend), sample, dict(type='VideoDecode')]
    else:
        raise ValueError(f"source must be 'rawframes' or 'video', got {source!r}")

    if (resize_crop or rescale_crop) and input_size is None:
        raise ConfigError("dataset config: resize_crop/rescale_crop need 'input_size'")
    if resize_crop:
        # Replaces the resize step, as the original (scale_factor stays None).
        pipeline += [dict(type='RandomResizedCrop', area_range=(0.08, 1.0), aspect_ratio_range=(3 / 4, 4 / 3)),
                     dict(type='Resize', scale=_wh(input_size), keep_ratio=False, record_scale=False)]
    elif rescale_crop:
        pipeline += [dict(type='RandomRescaledCrop', crop_size=_wh(input_size), scale_range=(256, 320))]
    else:
        pipeline.append(dict(type='Resize', scale=_scale(img_scale), keep_ratio=resize_keep_ratio))
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
