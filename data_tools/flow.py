"""Dense optical flow with OpenCV only, quantised to JPEG-ready uint8 images exactly as dense_flow did.

dense_flow (used by the original ``build_rawframes.py``) maps each component linearly from
``[-bound, bound]`` to ``[0, 255]`` with ``cvRound(255 * (v + bound) / (2 * bound))`` and saturates
outside; ``bound = 20``. Models trained on its JPEGs (TSN flow: mean 128, std 1; I3D flow: mean 128,
std 128) expect the same mapping, so it is reproduced bit for bit here.
"""
from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

FLOW_TYPES = ('tvl1', 'dis', 'farneback')
# DIS speed/quality trade-off (OpenCV's presets: coarsest-to-finest patch search, ultrafast skips the variational
# refinement); medium is the default because it is the closest to TV-L1 on the quantised 20-pixel range.
DIS_PRESETS = {'ultrafast': cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, 'fast': cv2.DISOPTICAL_FLOW_PRESET_FAST,
               'medium': cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}


def has_tvl1() -> bool:
    """TV-L1 needs the contrib module ``cv2.optflow`` (``opencv-contrib-python``)."""
    return hasattr(cv2, 'optflow') and hasattr(cv2.optflow, 'DualTVL1OpticalFlow_create')


def resolve_flow_type(flow_type: str) -> str:
    """``'auto'`` -> ``'tvl1'`` when available, else ``'dis'``; an unavailable explicit choice raises."""
    if flow_type == 'auto':
        return 'tvl1' if has_tvl1() else 'dis'
    if flow_type not in FLOW_TYPES:
        raise ValueError(f'--flow-type must be one of {("auto",) + FLOW_TYPES}, got {flow_type!r}')
    if flow_type == 'tvl1' and not has_tvl1():
        raise RuntimeError('--flow-type tvl1 needs cv2.optflow (pip install opencv-contrib-python, which replaces '
                           'opencv-python); use --flow-type dis or farneback with plain OpenCV')
    return flow_type


def make_flow_fn(flow_type: str, preset: str = 'medium') -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A function ``(prev_gray, next_gray) -> flow (H, W, 2) float32`` (pixels, x then y).

    ``preset`` (one of :data:`DIS_PRESETS`) only applies to DIS; it is validated for every type so that a typo
    fails before any video is decoded.
    """
    if preset not in DIS_PRESETS:
        raise ValueError(f'--flow-preset must be one of {tuple(DIS_PRESETS)}, got {preset!r}')
    flow_type = resolve_flow_type(flow_type)
    if flow_type == 'tvl1':
        tvl1 = cv2.optflow.DualTVL1OpticalFlow_create()
        return lambda a, b: tvl1.calc(a, b, None)
    if flow_type == 'dis':
        dis = cv2.DISOpticalFlow_create(DIS_PRESETS[preset])
        return lambda a, b: dis.calc(a, b, None)
    # Farneback parameters as in OpenCV's sample (pyramid 0.5, 3 levels, window 15)
    return lambda a, b: cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 15, 3, 5, 1.2, 0)


def quantize_flow(flow: np.ndarray, bound: float = 20.0) -> tuple[np.ndarray, np.ndarray]:
    """(H, W, 2) float flow -> two uint8 images (x, y): ``round(255 * (v + bound) / (2 * bound))``, saturated.

    ``np.rint`` rounds half to even like ``cvRound``.
    """
    if flow.ndim != 3 or flow.shape[2] != 2:
        raise ValueError(f'flow must be (H, W, 2), got {flow.shape}')
    q = np.rint(255.0 * (flow.astype(np.float64) + bound) / (2.0 * bound))
    q = np.clip(q, 0, 255).astype(np.uint8)
    return q[..., 0], q[..., 1]


def dequantize_flow(x_img: np.ndarray, y_img: np.ndarray, bound: float = 20.0) -> np.ndarray:
    """Inverse of :func:`quantize_flow` (to the quantisation step ``2 * bound / 255``): (H, W, 2) float32."""
    q = np.stack([x_img, y_img], -1).astype(np.float32)
    return q * (2.0 * bound / 255.0) - bound
