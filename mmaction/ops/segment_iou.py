"""1-D overlap of temporal segments on numpy arrays: tIoU and intersection over the anchor (IoP).

Union is ``len(a) + len(b) - intersection`` (not the hull), as in the ActivityNet toolkit, BSN and BMN.
A pair whose union (or anchor length) is zero overlaps by 0 rather than giving NaN.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


def _safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    den = np.asarray(den, dtype=np.float64)
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


def segment_iou(anchor_min, anchor_max, box_min, box_max) -> np.ndarray:
    """Element-wise tIoU of anchors ``[anchor_min, anchor_max]`` and boxes (numpy broadcasting)."""
    inter = np.maximum(np.minimum(anchor_max, box_max) - np.maximum(anchor_min, box_min), 0.0)
    union = (np.asarray(anchor_max) - anchor_min) + (np.asarray(box_max) - box_min) - inter
    return _safe_divide(inter, union)


def segment_iop(anchor_min, anchor_max, box_min, box_max) -> np.ndarray:
    """Intersection over the *anchor's* length (how much of the anchor a box covers), broadcasting."""
    inter = np.maximum(np.minimum(anchor_max, box_max) - np.maximum(anchor_min, box_min), 0.0)
    return _safe_divide(inter, np.asarray(anchor_max) - anchor_min)


def temporal_iou(segment: Sequence[float], candidates: np.ndarray) -> np.ndarray:
    """tIoU of one segment ``(start, end)`` against ``candidates`` ``(N, 2)`` -> ``(N,)``."""
    candidates = np.asarray(candidates, dtype=np.float64).reshape(-1, 2)
    return segment_iou(float(segment[0]), float(segment[1]), candidates[:, 0], candidates[:, 1])
