"""Spatial augmentations on a whole clip at once.

``results['imgs']`` is one ``(N, H, W, C)`` array; crops are numpy views, flips are views, resizes write
into one pre-allocated output, normalisation is one vectorised pass. Geometry follows the original
MMAction v0 ``GroupImageTransform`` (v0 reference §5.3): inclusive ``[x1, y1, x2, y2]`` crop boxes
clipped to the image like ``mmcv.imcrop``, sizes rounded like ``mmcv.imrescale``
(``int(x * scale + 0.5)``), bilinear ``cv2.resize``.
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import cv2
import numpy as np

from mmaction.registry import PIPELINES

from ._replay import replay_or_draw

_INTERP = {'nearest': cv2.INTER_NEAREST, 'bilinear': cv2.INTER_LINEAR, 'bicubic': cv2.INTER_CUBIC,
           'area': cv2.INTER_AREA, 'lanczos': cv2.INTER_LANCZOS4}


def _pair(size: int | Sequence[int], name: str) -> tuple[int, int]:
    """``int`` -> ``(s, s)``; ``(w, h)`` kept."""
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        return int(size), int(size)
    if isinstance(size, (list, tuple)) and len(size) == 2:
        return int(size[0]), int(size[1])
    raise ValueError(f'{name} must be an int or a (w, h) pair, got {size!r}')


def resize_clip(imgs: np.ndarray, size: tuple[int, int], interpolation: str = 'bilinear') -> np.ndarray:
    """Resize every frame of ``(N, H, W[, C])`` to ``size = (w, h)``."""
    w, h = size
    if imgs.shape[2] == w and imgs.shape[1] == h:
        return imgs
    interp = _INTERP[interpolation]
    out = np.empty((imgs.shape[0], h, w) + imgs.shape[3:], dtype=imgs.dtype)
    for i in range(imgs.shape[0]):
        r = cv2.resize(imgs[i], (w, h), interpolation=interp)
        out[i] = r.reshape(out.shape[1:])  # cv2 drops a trailing channel axis of size 1
    return out


def crop_clip(imgs: np.ndarray, box: Sequence[float]) -> np.ndarray:
    """Crop the inclusive box ``[x1, y1, x2, y2]`` (clipped to the image, as ``mmcv.imcrop``); a view."""
    h, w = imgs.shape[1:3]
    x1 = int(min(max(box[0], 0), w - 1))
    y1 = int(min(max(box[1], 0), h - 1))
    x2 = int(min(max(box[2], 0), w - 1))
    y2 = int(min(max(box[3], 0), h - 1))
    return imgs[:, y1:y2 + 1, x1:x2 + 1]


def rescale_size(w: int, h: int, scale: tuple[float, float]) -> tuple[tuple[int, int], float]:
    """Keep-ratio target of ``mmcv.imrescale``: long edge <= max(scale), short edge <= min(scale)."""
    factor = min(max(scale) / max(h, w), min(scale) / min(h, w))
    return (int(w * float(factor) + 0.5), int(h * float(factor) + 0.5)), factor


def fill_fix_offset(more_fix_crop: bool, image_w: int, image_h: int, crop_w: int, crop_h: int) -> list[tuple[int, int]]:
    """The 5 (or 13 with ``more_fix_crop``) TSN crop offsets ``(x, y)``: UL, UR, LL, LR, centre, ..."""
    w_step = (image_w - crop_w) // 4
    h_step = (image_h - crop_h) // 4
    ret = [(0, 0), (4 * w_step, 0), (0, 4 * h_step), (4 * w_step, 4 * h_step), (2 * w_step, 2 * h_step)]
    if more_fix_crop:
        ret += [(0, 2 * h_step), (4 * w_step, 2 * h_step), (2 * w_step, 4 * h_step), (2 * w_step, 0),
                (w_step, h_step), (3 * w_step, h_step), (w_step, 3 * h_step), (3 * w_step, 3 * h_step)]
    return ret


# Person boxes that travel with the frames (AVA): ``(n, 4)`` or ``(n, 5)`` pixel ``[x1, y1, x2, y2(, score)]``.
BOX_KEYS = ('proposals', 'gt_bboxes')


def move_boxes(results: dict, move: Callable[[np.ndarray], None]) -> None:
    """Apply ``move`` to a copy of every box array of ``results`` (copies: test views share their input)."""
    for key in BOX_KEYS:
        boxes = results.get(key)
        if boxes is not None:
            boxes = np.array(boxes, dtype=np.float32)
            move(boxes)
            results[key] = boxes


def crop_boxes(results: dict, x: int, y: int, w: int, h: int) -> None:
    """Shift boxes into a ``w x h`` crop at ``(x, y)`` and clip them to it (inclusive pixel coordinates)."""
    def move(b: np.ndarray) -> None:
        b[:, 0:4:2] = np.clip(b[:, 0:4:2] - x, 0, w - 1)
        b[:, 1:4:2] = np.clip(b[:, 1:4:2] - y, 0, h - 1)
    move_boxes(results, move)


@PIPELINES.register_module()
class Resize:
    """Resize the clip.

    ``scale``: an int ``s`` (short side ``s``, the original ``(inf, s)``), a ``(w, h)`` tuple (``-1`` = no
    limit) or a float factor. ``keep_ratio=True``: long edge <= max, short edge <= min; ``False``: exactly
    ``(w, h)``. ``scale_file`` (the original's ``img_scale_file``: ``<path> <w> <h>`` lines) gives a per-video
    ``(w, h)`` that replaces ``scale`` for the record whose list path is ``results['video_key']``.
    A list of ``(w, h)`` pairs picks one per sample (mmdet's ``multiscale_mode``: ``'value'`` one of them,
    ``'range'`` a random ``(long, short)`` within their bounds; replayable as ``'scale'``). Boxes
    (``proposals``, ``gt_bboxes``) are scaled with the frames.
    Records ``scale_factor`` as the original (a float when keeping the ratio, else ``[sx, sy, sx, sy]``).
    """

    def __init__(self, scale: int | float | Sequence[int], keep_ratio: bool = True, interpolation: str = 'bilinear',
                 record_scale: bool = True, scale_file: str | None = None, multiscale_mode: str = 'value'):
        from ..annotations import load_scale_file
        if multiscale_mode not in ('value', 'range'):
            raise ValueError(f"Resize: multiscale_mode must be 'value' or 'range', got {multiscale_mode!r}")
        self.choices = None
        if isinstance(scale, list) and scale and all(isinstance(c, (list, tuple)) for c in scale):
            self.choices = [tuple(c) for c in scale]
            for c in self.choices:
                self._parse(c)
            scale = self.choices[0]
        self.multiscale_mode = multiscale_mode
        self.scale = self._parse(scale)
        self.per_video = load_scale_file(scale_file) if scale_file else {}
        self.keep_ratio = keep_ratio
        if interpolation not in _INTERP:
            raise ValueError(f'Resize: interpolation must be one of {sorted(_INTERP)}, got {interpolation!r}')
        self.interpolation = interpolation
        self.record_scale = record_scale

    @staticmethod
    def _parse(scale):
        if isinstance(scale, bool):
            raise ValueError(f'Resize: invalid scale {scale!r}')
        if isinstance(scale, (int, np.integer)):
            return (math.inf, float(scale))
        if isinstance(scale, float):
            if scale <= 0:
                raise ValueError(f'Resize: scale factor must be > 0, got {scale}')
            return scale
        if isinstance(scale, (list, tuple)) and len(scale) == 2:
            return tuple(math.inf if s in (-1, None) else float(s) for s in scale)
        raise ValueError(f'Resize: scale must be an int, a float factor or a (w, h) pair, got {scale!r}')

    def __call__(self, results: dict) -> dict:
        imgs = results['imgs']
        h, w = imgs.shape[1:3]
        override = self.per_video.get(results.get('video_key'))
        if override is not None:
            scale = self._parse(override)
        elif self.choices is not None or 'scale' in (results.get('replay') or {}):
            scale = self._parse(replay_or_draw(results, 'scale', self._draw_scale))
        else:
            scale = self.scale
        if isinstance(scale, float):
            size = (int(w * scale + 0.5), int(h * scale + 0.5))
            factor = scale
        elif self.keep_ratio:
            size, factor = rescale_size(w, h, scale)
        else:
            if math.inf in scale:
                raise ValueError(f'Resize: keep_ratio=False needs a finite (w, h), got {scale}')
            size = (int(scale[0]), int(scale[1]))
            factor = np.array([size[0] / w, size[1] / h, size[0] / w, size[1] / h], dtype=np.float32)
        results['imgs'] = resize_clip(imgs, size, self.interpolation)
        results['img_shape'] = (size[1], size[0])
        if self.record_scale:
            results['scale_factor'] = factor
        box_factor = np.broadcast_to(np.asarray(factor, dtype=np.float32), (4,))

        def move(b: np.ndarray) -> None:
            b[:, :4] *= box_factor
        move_boxes(results, move)
        return results

    def _draw_scale(self) -> tuple:
        if len(self.choices) == 1:
            return self.choices[0]
        if self.multiscale_mode == 'value':
            return self.choices[np.random.randint(len(self.choices))]
        longs = [max(c) for c in self.choices]
        shorts = [min(c) for c in self.choices]
        return (np.random.randint(min(longs), max(longs) + 1), np.random.randint(min(shorts), max(shorts) + 1))

    def __repr__(self) -> str:
        return f'{type(self).__name__}(scale={self.scale}, keep_ratio={self.keep_ratio})'


@PIPELINES.register_module()
class CenterCrop:
    """Centre crop of ``crop_size`` (int or ``(w, h)``; a side larger than the frame keeps the whole side);
    ``crop_quadruple = [x1, y1, w, h]`` as the original. Boxes are shifted and clipped to the crop."""

    def __init__(self, crop_size: int | Sequence[int]):
        self.crop_size = _pair(crop_size, 'CenterCrop.crop_size')

    def __call__(self, results: dict) -> dict:
        imgs = results['imgs']
        h, w = imgs.shape[1:3]
        tw, th = min(self.crop_size[0], w), min(self.crop_size[1], h)
        x1, y1 = (w - tw) // 2, (h - th) // 2
        results['imgs'] = crop_clip(imgs, (x1, y1, x1 + tw - 1, y1 + th - 1))
        results['crop_quadruple'] = np.array([x1, y1, tw, th], dtype=np.float32)
        results['img_shape'] = results['imgs'].shape[1:3]
        crop_boxes(results, x1, y1, tw, th)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(crop_size={self.crop_size})'


@PIPELINES.register_module()
class MultiScaleCrop:
    """TSN corner cropping (original ``GroupMultiScaleCrop``).

    Candidate sizes ``int(min(w, h) * s)`` for ``s`` in ``scales``, snapped to ``input_size`` when within
    3 px; ``(w, h)`` pairs with index gap ``<= max_distort``; offset one of 5 fixed positions (13 with
    ``more_fix_crop``) or uniform when ``random_crop``. ``resize=True`` (the flag form) then resizes the
    crop to ``input_size`` bilinearly; mmaction2 configs follow it with ``Resize`` instead.
    mmaction2 names ``max_wh_scale_gap`` and ``num_fixed_crops`` (5|13) are accepted.
    ``crop_quadruple = [x, y, crop_w, crop_h]``.
    """

    def __init__(self, input_size: int | Sequence[int], scales: Sequence[float] | None = None, max_distort: int = 1,
                 random_crop: bool = False, more_fix_crop: bool = False, resize: bool = False,
                 max_wh_scale_gap: int | None = None, num_fixed_crops: int | None = None,
                 interpolation: str = 'bilinear'):
        self.input_size = _pair(input_size, 'MultiScaleCrop.input_size')
        self.scales = list(scales) if scales is not None else [1, .875, .75, .66]
        self.max_distort = max_wh_scale_gap if max_wh_scale_gap is not None else max_distort
        if num_fixed_crops is not None:
            if num_fixed_crops not in (5, 13):
                raise ValueError(f'MultiScaleCrop: num_fixed_crops must be 5 or 13, got {num_fixed_crops}')
            more_fix_crop = num_fixed_crops == 13
        self.random_crop = random_crop
        self.more_fix_crop = more_fix_crop
        self.resize = resize
        self.interpolation = interpolation

    def candidate_pairs(self, image_w: int, image_h: int) -> list[tuple[int, int]]:
        base = min(image_w, image_h)
        sizes = [int(base * s) for s in self.scales]
        crop_h = [self.input_size[1] if abs(x - self.input_size[1]) < 3 else x for x in sizes]
        crop_w = [self.input_size[0] if abs(x - self.input_size[0]) < 3 else x for x in sizes]
        return [(cw, ch) for i, ch in enumerate(crop_h) for j, cw in enumerate(crop_w)
                if abs(i - j) <= self.max_distort]

    def _draw(self, image_w: int, image_h: int) -> list[int]:
        pairs = self.candidate_pairs(image_w, image_h)
        cw, ch = pairs[np.random.randint(len(pairs))]
        if self.random_crop:
            ox, oy = np.random.randint(0, image_w - cw + 1), np.random.randint(0, image_h - ch + 1)
        else:
            offsets = fill_fix_offset(self.more_fix_crop, image_w, image_h, cw, ch)
            ox, oy = offsets[np.random.randint(len(offsets))]
        return [int(ox), int(oy), int(cw), int(ch)]

    def __call__(self, results: dict) -> dict:
        imgs = results['imgs']
        h, w = imgs.shape[1:3]
        ox, oy, cw, ch = replay_or_draw(results, 'crop', lambda: self._draw(w, h))
        imgs = crop_clip(imgs, (ox, oy, ox + cw - 1, oy + ch - 1))
        if self.resize:
            imgs = resize_clip(imgs, self.input_size, self.interpolation)
        results['imgs'] = imgs
        results['crop_quadruple'] = np.array([ox, oy, cw, ch], dtype=np.float32)
        results['img_shape'] = imgs.shape[1:3]
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(input_size={self.input_size}, scales={self.scales}, '
                f'max_distort={self.max_distort}, random_crop={self.random_crop}, more_fix_crop={self.more_fix_crop})')


def _flow_invert_x(imgs: np.ndarray) -> np.ndarray:
    out = imgs.copy()
    out[..., 0] = 255 - out[..., 0]
    return out


@PIPELINES.register_module()
class TenCrop:
    """4 corner + centre crops, each followed by its horizontal flip (original ``GroupOverSample``).

    Output order ``[crop1 frames, crop1-flipped frames, crop2, ...]`` (``10 * N`` frames). For flow
    (``channel_order == 'flow'``) the x channel of flipped copies is inverted (``255 - x``) when
    ``flow_invert_flipped`` (the original's behaviour).
    """

    def __init__(self, crop_size: int | Sequence[int], flow_invert_flipped: bool = True):
        self.crop_size = _pair(crop_size, 'TenCrop.crop_size')
        self.flow_invert_flipped = flow_invert_flipped

    def __call__(self, results: dict) -> dict:
        imgs = results['imgs']
        h, w = imgs.shape[1:3]
        cw, ch = self.crop_size
        is_flow = results.get('channel_order') == 'flow'
        views = []
        for ox, oy in fill_fix_offset(False, w, h, cw, ch):
            crop = crop_clip(imgs, (ox, oy, ox + cw - 1, oy + ch - 1))
            flipped = crop[:, :, ::-1]
            if is_flow and self.flow_invert_flipped:
                flipped = _flow_invert_x(flipped)
            views += [crop, flipped]
        results['imgs'] = np.concatenate(views, axis=0)
        results['crop_quadruple'] = None
        results['num_crops'] = results.get('num_crops', 1) * 10
        results['img_shape'] = results['imgs'].shape[1:3]
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(crop_size={self.crop_size})'


@PIPELINES.register_module()
class ThreeCrop:
    """Three crops along the long side (original ``Group3CropSample``): left/right/middle or top/bottom/middle.

    One image side must equal the crop side (resize first). No flipped copies.
    """

    def __init__(self, crop_size: int | Sequence[int]):
        self.crop_size = _pair(crop_size, 'ThreeCrop.crop_size')

    def __call__(self, results: dict) -> dict:
        imgs = results['imgs']
        h, w = imgs.shape[1:3]
        cw, ch = self.crop_size
        if ch == h:
            step = (w - cw) // 2
            offsets = [(0, 0), (2 * step, 0), (step, 0)]
        elif cw == w:
            step = (h - ch) // 2
            offsets = [(0, 0), (0, 2 * step), (0, step)]
        else:
            raise ValueError(f'ThreeCrop: crop size (w, h) = {(cw, ch)} must match the image width or height, '
                             f'got an image of (w, h) = {(w, h)}; resize the short side to the crop size first')
        results['imgs'] = np.concatenate([crop_clip(imgs, (ox, oy, ox + cw - 1, oy + ch - 1)) for ox, oy in offsets])
        results['crop_quadruple'] = None
        results['num_crops'] = results.get('num_crops', 1) * 3
        results['img_shape'] = results['imgs'].shape[1:3]
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(crop_size={self.crop_size})'


@PIPELINES.register_module()
class Flip:
    """Flip the whole clip with probability ``flip_ratio`` (one decision per sample, shared by modalities).

    ``direction``: ``'horizontal'`` (default) or ``'vertical'``. Sets ``results['flip']``. Boxes are mirrored
    with the frames: ``x' = W - x`` (mmaction2), or ``x' = W - x - 1`` with ``inclusive_boxes=True`` (the
    inclusive pixel convention of mmdet v1 that the original AVA dataset used).
    """

    def __init__(self, flip_ratio: float = 0.5, direction: str = 'horizontal', inclusive_boxes: bool = False):
        if direction not in ('horizontal', 'vertical'):
            raise ValueError(f"Flip: direction must be 'horizontal' or 'vertical', got {direction!r}")
        self.flip_ratio = flip_ratio
        self.direction = direction
        self.inclusive_boxes = inclusive_boxes

    def __call__(self, results: dict) -> dict:
        flip = bool(replay_or_draw(results, 'flip', lambda: bool(np.random.rand() < self.flip_ratio)))
        if flip:
            imgs = results['imgs']
            results['imgs'] = imgs[:, :, ::-1] if self.direction == 'horizontal' else imgs[:, ::-1]
            if any(results.get(k) is not None for k in BOX_KEYS):
                if self.direction != 'horizontal':
                    raise ValueError('Flip: boxes can only be flipped horizontally')
                width = imgs.shape[2] - (1 if self.inclusive_boxes else 0)

                def move(b: np.ndarray) -> None:
                    x1 = b[:, 0].copy()
                    b[:, 0] = width - b[:, 2]
                    b[:, 2] = width - x1
                move_boxes(results, move)
        results['flip'] = flip
        results['flip_direction'] = self.direction
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(flip_ratio={self.flip_ratio}, direction={self.direction!r})'


@PIPELINES.register_module()
class Normalize:
    """``(imgs [/255] - mean) / std`` to float32 in one pass.

    Channel order: colour frames carry ``results['channel_order']``. ``out_order`` (``'rgb'``/``'bgr'``)
    fixes the output order whatever the decoder returned; when it is ``None``, ``to_rgb=True`` means
    "output RGB" and ``to_rgb=False`` keeps the decoded order (mmaction2 semantics). ``mean``/``std`` are
    in the output order. Flow/grayscale clips use per-channel ``mean``/``std`` (a single value is broadcast).
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], to_rgb: bool = False, div_255: bool = False,
                 out_order: str | None = None):
        self.mean = np.asarray(mean, dtype=np.float32).reshape(-1)
        self.std = np.asarray(std, dtype=np.float32).reshape(-1)
        if self.mean.size != self.std.size:
            raise ValueError(f'Normalize: mean {mean} and std {std} must have the same length')
        if out_order not in (None, 'rgb', 'bgr'):
            raise ValueError(f"Normalize: out_order must be None, 'rgb' or 'bgr', got {out_order!r}")
        self.to_rgb = to_rgb
        self.div_255 = div_255
        self.out_order = out_order

    def __call__(self, results: dict) -> dict:
        imgs = results['imgs']
        order = results.get('channel_order', 'rgb')
        channels = imgs.shape[-1]
        if order in ('rgb', 'bgr') and channels == 3:
            target = self.out_order or ('rgb' if self.to_rgb else order)
            if target != order:
                imgs = imgs[..., ::-1]  # a view; the swap happens inside the subtraction below
                results['channel_order'] = target
        if self.mean.size not in (1, channels):
            raise ValueError(f'Normalize: mean has {self.mean.size} values but the clip has {channels} channels')
        # Write channel-first memory (N, C, H, W) and hand on an (N, H, W, C) view of it: the channel swap,
        # the float conversion and the later NCHW transpose then cost one pass instead of three.
        n, h, w = imgs.shape[:3]
        planes = np.empty((n, channels, h, w), dtype=np.float32)
        mean = np.broadcast_to(self.mean, (channels,))
        std = np.broadcast_to(self.std, (channels,))
        for c in range(channels):
            out = planes[:, c]
            if self.div_255:
                np.divide(imgs[..., c], np.float32(255), out=out, dtype=np.float32)
                np.subtract(out, mean[c], out=out)
            else:
                np.subtract(imgs[..., c], mean[c], out=out, dtype=np.float32)
            np.divide(out, std[c], out=out)
        results['imgs'] = planes.transpose(0, 2, 3, 1)
        results['img_norm_cfg'] = dict(mean=self.mean, std=self.std, to_rgb=self.to_rgb)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(mean={self.mean.tolist()}, std={self.std.tolist()}, to_rgb={self.to_rgb}, '
                f'div_255={self.div_255}, out_order={self.out_order!r})')


@PIPELINES.register_module()
class FlowInvertX:
    """Invert every flow x component (``255 - x``) — the original MMAction quirk (v0 reference §5.3, 3b).

    The original did this for every flow sample whether or not it was flipped; the released flow models
    were trained that way, so the flag form applies it by default (``flow_invert_x=True``).
    """

    def __call__(self, results: dict) -> dict:
        if results.get('channel_order') == 'flow':
            results['imgs'] = _flow_invert_x(results['imgs'])
        return results


@PIPELINES.register_module()
class RandomResizedCrop:
    """Random area/aspect crop (Inception style); the flag form (``resize_crop=True``) resizes it to
    ``input_size`` afterwards.

    ``area_range`` fraction of the image area, ``aspect_ratio_range`` of w/h drawn log-uniformly; 10
    attempts, then a centre crop of the short side. The original's version mixed up width and height
    (its boxes could leave the image and get clipped); this one keeps boxes inside the image.
    ``crop_quadruple = [x, y, w, h]``.
    """

    def __init__(self, area_range: Sequence[float] = (0.08, 1.0),
                 aspect_ratio_range: Sequence[float] = (3 / 4, 4 / 3), max_attempts: int = 10):
        if not 0 < area_range[0] <= area_range[1] <= 1:
            raise ValueError(f'RandomResizedCrop: area_range must satisfy 0 < lo <= hi <= 1, got {area_range}')
        if not 0 < aspect_ratio_range[0] <= aspect_ratio_range[1]:
            raise ValueError(f'RandomResizedCrop: invalid aspect_ratio_range {aspect_ratio_range}')
        self.area_range = tuple(area_range)
        self.aspect_ratio_range = tuple(aspect_ratio_range)
        self.max_attempts = max_attempts

    def draw_box(self, img_w: int, img_h: int) -> list[int]:
        area = img_w * img_h
        log_lo, log_hi = math.log(self.aspect_ratio_range[0]), math.log(self.aspect_ratio_range[1])
        for _ in range(self.max_attempts):
            target = np.random.uniform(*self.area_range) * area
            ratio = math.exp(np.random.uniform(log_lo, log_hi))
            w = int(round(math.sqrt(target * ratio)))
            h = int(round(math.sqrt(target / ratio)))
            if 0 < w <= img_w and 0 < h <= img_h:
                return [int(np.random.randint(0, img_w - w + 1)), int(np.random.randint(0, img_h - h + 1)), w, h]
        side = min(img_w, img_h)
        return [(img_w - side) // 2, (img_h - side) // 2, side, side]

    def __call__(self, results: dict) -> dict:
        imgs = results['imgs']
        h, w = imgs.shape[1:3]
        x, y, cw, ch = replay_or_draw(results, 'crop', lambda: self.draw_box(w, h))
        results['imgs'] = crop_clip(imgs, (x, y, x + cw - 1, y + ch - 1))
        results['crop_quadruple'] = np.array([x, y, cw, ch], dtype=np.float32)
        results['img_shape'] = results['imgs'].shape[1:3]
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(area_range={self.area_range}, aspect_ratio_range={self.aspect_ratio_range})'


@PIPELINES.register_module()
class RandomRescaledCrop:
    """Original ``RandomRescaledCrop`` (``rescale_crop=True``): short side random in ``scale_range``
    (inclusive), then a uniform random ``crop_size`` crop. (The original swapped width and height when
    reading the image shape; this one does not.)"""

    def __init__(self, crop_size: int | Sequence[int], scale_range: Sequence[int] = (256, 320)):
        self.crop_size = _pair(crop_size, 'RandomRescaledCrop.crop_size')
        self.scale_range = (int(scale_range[0]), int(scale_range[1]))

    def __call__(self, results: dict) -> dict:
        imgs = results['imgs']
        h, w = imgs.shape[1:3]
        short = replay_or_draw(results, 'rescale_short_side',
                               lambda: int(np.random.randint(self.scale_range[0], self.scale_range[1] + 1)))
        size, _ = rescale_size(w, h, (math.inf, short))
        imgs = resize_clip(imgs, size)
        cw, ch = self.crop_size
        if size[0] < cw or size[1] < ch:
            raise ValueError(f'RandomRescaledCrop: rescaled image {size} is smaller than the crop {self.crop_size}')
        x, y = replay_or_draw(results, 'crop', lambda: [int(np.random.randint(0, size[0] - cw + 1)),
                                                         int(np.random.randint(0, size[1] - ch + 1))])[:2]
        results['imgs'] = imgs[:, y:y + ch, x:x + cw]
        results['crop_quadruple'] = np.array([x, y, cw, ch], dtype=np.float32)
        results['img_shape'] = (ch, cw)
        return results


@PIPELINES.register_module()
class RandomCrop:
    """Uniform random ``size`` crop (mmaction2 ``RandomCrop``); ``crop_quadruple = [x, y, w, h]``.

    ``clamp=True`` (the original AVA crop) crops ``min(size, image)`` instead of refusing a small image.
    Boxes are shifted and clipped to the crop."""

    def __init__(self, size: int | Sequence[int], clamp: bool = False):
        self.size = _pair(size, 'RandomCrop.size')
        self.clamp = clamp

    def __call__(self, results: dict) -> dict:
        imgs = results['imgs']
        h, w = imgs.shape[1:3]
        cw, ch = self.size
        if self.clamp:
            cw, ch = min(cw, w), min(ch, h)
        if w < cw or h < ch:
            raise ValueError(f'RandomCrop: image (w, h) = {(w, h)} is smaller than the crop {self.size}')
        x, y = replay_or_draw(results, 'crop', lambda: [int(np.random.randint(0, w - cw + 1)),
                                                         int(np.random.randint(0, h - ch + 1)), cw, ch])[:2]
        results['imgs'] = imgs[:, y:y + ch, x:x + cw]
        results['crop_quadruple'] = np.array([x, y, cw, ch], dtype=np.float32)
        results['img_shape'] = (ch, cw)
        crop_boxes(results, x, y, cw, ch)
        return results


@PIPELINES.register_module()
class Pad:
    """Zero-pad the bottom/right of the frames to multiples of ``size_divisor`` (mmdet's ``Pad``; the original
    AVA ``size_divisor``). Records ``pad_shape``."""

    def __init__(self, size_divisor: int):
        if not isinstance(size_divisor, int) or size_divisor < 1:
            raise ValueError(f'Pad: size_divisor must be a positive int, got {size_divisor!r}')
        self.size_divisor = size_divisor

    def __call__(self, results: dict) -> dict:
        imgs = results['imgs']
        n, h, w = imgs.shape[:3]
        ph = int(np.ceil(h / self.size_divisor) * self.size_divisor)
        pw = int(np.ceil(w / self.size_divisor) * self.size_divisor)
        if (ph, pw) != (h, w):
            padded = np.zeros((n, ph, pw) + imgs.shape[3:], dtype=imgs.dtype)
            padded[:, :h, :w] = imgs
            results['imgs'] = padded
        results['pad_shape'] = (ph, pw)
        return results


@PIPELINES.register_module()
class SubtractMeanVolume:
    """Subtract a per-frame mean volume ``(L, H, W, C)`` (original ``pre_mean_npy``, the C3D Sports-1M mean).

    Frame ``i`` of the clip uses volume frame ``i % L`` (as the original). ``volume_order`` is the colour
    order of the volume (the original's volume is BGR, like its frames); it is reversed when the clip's
    frames are in the other order. The result is float32.
    """

    def __init__(self, mean_volume: Any, volume_order: str = 'bgr'):
        if isinstance(mean_volume, str):
            mean_volume = np.load(mean_volume)
        vol = np.asarray(mean_volume, dtype=np.float32)
        if vol.ndim == 3:
            vol = vol[None]
        if vol.ndim != 4:
            raise ValueError(f'SubtractMeanVolume: mean volume must be (L, H, W, C), got shape {vol.shape}')
        self.mean_volume = vol
        self.volume_order = volume_order

    def __call__(self, results: dict) -> dict:
        imgs = results['imgs']
        vol = self.mean_volume
        if vol.shape[1:] != imgs.shape[1:]:
            raise ValueError(f'SubtractMeanVolume: mean volume frames {vol.shape[1:]} do not match the resized '
                             f'frames {imgs.shape[1:]} (check img_scale / resize_keep_ratio)')
        if results.get('channel_order') in ('rgb', 'bgr') and results['channel_order'] != self.volume_order:
            vol = vol[..., ::-1]
        reps = np.arange(imgs.shape[0]) % vol.shape[0]
        results['imgs'] = imgs.astype(np.float32) - vol[reps]
        return results


@PIPELINES.register_module()
class RandomRescale:
    """mmaction2 ``RandomRescale``: short side drawn uniformly from the inclusive ``scale_range``, ratio kept."""

    def __init__(self, scale_range: Sequence[int], interpolation: str = 'bilinear'):
        lo, hi = int(scale_range[0]), int(scale_range[1])
        if not 0 < lo <= hi:
            raise ValueError(f'RandomRescale: scale_range must be (lo, hi) with 0 < lo <= hi, got {scale_range}')
        self.scale_range = (lo, hi)
        self.interpolation = interpolation

    def __call__(self, results: dict) -> dict:
        short = replay_or_draw(results, 'rescale_short_side',
                               lambda: int(np.random.randint(self.scale_range[0], self.scale_range[1] + 1)))
        return Resize((-1, short), keep_ratio=True, interpolation=self.interpolation)(results)


@PIPELINES.register_module()
class ColorJitter:
    """Brightness / contrast / saturation / hue jitter with factors drawn once per sample (the whole clip
    shares them) and applied in a random order, torchvision-style, on colour frames.

    ``brightness=b`` draws a factor in ``[max(0, 1-b), 1+b]`` (same for contrast/saturation); ``hue=h``
    a shift in ``[-h, h]`` of a full turn. Output stays uint8.
    """

    def __init__(self, brightness: float = 0.5, contrast: float = 0.5, saturation: float = 0.5, hue: float = 0.1):
        if not 0 <= hue <= 0.5:
            raise ValueError(f'ColorJitter: hue must be in [0, 0.5], got {hue}')
        self.brightness, self.contrast, self.saturation, self.hue = brightness, contrast, saturation, hue

    @staticmethod
    def _gray(x: np.ndarray, order: str) -> np.ndarray:
        w = np.array([0.299, 0.587, 0.114] if order == 'rgb' else [0.114, 0.587, 0.299], np.float32)
        return x @ w

    def _draw(self) -> dict:
        def factor(v):
            return float(np.random.uniform(max(0.0, 1 - v), 1 + v)) if v > 0 else None
        return dict(order=np.random.permutation(4).tolist(), brightness=factor(self.brightness),
                    contrast=factor(self.contrast), saturation=factor(self.saturation),
                    hue=float(np.random.uniform(-self.hue, self.hue)) if self.hue > 0 else None)

    def __call__(self, results: dict) -> dict:
        imgs = results['imgs']
        order = results.get('channel_order', 'rgb')
        if order not in ('rgb', 'bgr') or imgs.shape[-1] != 3:
            raise ValueError('ColorJitter needs colour frames (rgb/bgr), got '
                             f'channel_order={order!r} with {imgs.shape[-1]} channels')
        p = replay_or_draw(results, 'color_jitter', self._draw)
        x = imgs.astype(np.float32)
        for op in p['order']:
            if op == 0 and p['brightness'] is not None:
                x *= p['brightness']
            elif op == 1 and p['contrast'] is not None:
                mean = self._gray(x, order).mean(axis=(1, 2), keepdims=True)[..., None]
                x = (x - mean) * p['contrast'] + mean
            elif op == 2 and p['saturation'] is not None:
                gray = self._gray(x, order)[..., None]
                x = (x - gray) * p['saturation'] + gray
            elif op == 3 and p['hue'] is not None:
                x = self._shift_hue(np.clip(x, 0, 255), p['hue'], order)
            np.clip(x, 0, 255, out=x)
        results['imgs'] = np.round(x).astype(np.uint8)
        return results

    @staticmethod
    def _shift_hue(x: np.ndarray, shift: float, order: str) -> np.ndarray:
        code, back = (cv2.COLOR_RGB2HSV_FULL, cv2.COLOR_HSV2RGB_FULL) if order == 'rgb' else \
            (cv2.COLOR_BGR2HSV_FULL, cv2.COLOR_HSV2BGR_FULL)
        u8 = np.round(x).astype(np.uint8)
        out = np.empty_like(x)
        delta = int(round(shift * 256))
        for i in range(u8.shape[0]):  # cv2 colour conversion is per image
            hsv = cv2.cvtColor(u8[i], code)
            hsv[..., 0] = (hsv[..., 0].astype(np.int16) + delta) % 256
            out[i] = cv2.cvtColor(hsv, back)
        return out


@PIPELINES.register_module()
class RGBDiff:
    """Real frame differences for the ``RGBDiff`` modality (TSN): each clip of ``clip_len`` frames becomes
    ``clip_len - 1`` differences ``frame[t+1] - frame[t]``, computed on normalised frames (the mean
    cancels). The original MMAction accepted ``RGBDiff`` but never differenced (v0 reference §5.4); the
    flag form samples ``new_length + 1`` frames so the model still receives ``new_length`` items.
    """

    def __call__(self, results: dict) -> dict:
        imgs = results['imgs']
        clip_len = int(results['clip_len'])
        if clip_len < 2:
            raise ValueError(f'RGBDiff needs clips of at least 2 frames, got clip_len={clip_len}')
        x = imgs.astype(np.float32, copy=False).reshape((-1, clip_len) + imgs.shape[1:])
        results['imgs'] = (x[:, 1:] - x[:, :-1]).reshape((-1,) + imgs.shape[1:])
        results['clip_len'] = clip_len - 1
        return results
