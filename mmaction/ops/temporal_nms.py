"""1-D non-maximum suppression for temporal segments: hard NMS (SSN) and Gaussian Soft-NMS (BSN/BMN).

Pure numpy, so there is no compiled extension to build; the inputs are a few thousand segments per video.
"""
from __future__ import annotations

import numpy as np

from .segment_iou import temporal_iou


def temporal_nms(detections: np.ndarray, thresh: float, score_ind: int = 3) -> np.ndarray:
    """Greedy NMS: keep the best segment, drop those overlapping it by tIoU > ``thresh``, repeat.

    Args:
        detections: ``(N, D)`` rows with ``start, end`` in columns 0, 1 and the score in ``score_ind``
            (SSN rows are ``start, end, activity, score``).
    Returns:
        the kept rows ``(K, D)`` in descending score order.
    """
    detections = np.asarray(detections)
    if detections.size == 0:
        return detections.reshape(0, detections.shape[1] if detections.ndim == 2 else 3)
    order = np.argsort(detections[:, score_ind], kind='stable')[::-1]
    keep = []
    while order.size > 0:
        best = order[0]
        keep.append(best)
        ious = temporal_iou(detections[best, :2], detections[order[1:], :2])
        order = order[1:][ious <= thresh]
    return detections[keep]


def soft_nms(proposals: np.ndarray, alpha: float, low_threshold: float, high_threshold: float,
             top_k: int) -> np.ndarray:
    """Gaussian Soft-NMS with the width-adaptive threshold of BSN/BMN.

    The highest-scoring proposal is kept; every other proposal whose tIoU with it exceeds
    ``low + (high - low) * width(best)`` has its score multiplied by ``exp(-iou^2 / alpha)``. Wide proposals
    (normalised width near 1) thus only decay neighbours that overlap them strongly.

    Args:
        proposals: ``(N, D)`` with ``start, end`` in columns 0, 1 (normalised to [0, 1]) and the score last.
        top_k: stop after ``top_k + 1`` proposals have been selected (as the reference implementation does).
    Returns:
        ``(K, 3)`` rows ``(start, end, decayed score)`` in selection order (non-increasing score).
    """
    proposals = np.asarray(proposals, dtype=np.float64)
    if proposals.ndim != 2 or proposals.shape[1] < 3:
        raise ValueError(f'soft_nms expects (N, >=3) proposals, got shape {proposals.shape}')
    segs = proposals[:, :2].copy()
    scores = proposals[:, -1].copy()
    alive = np.ones(len(scores), dtype=bool)
    out = []
    while alive.any() and len(out) <= top_k:
        idx = np.flatnonzero(alive)
        best = idx[np.argmax(scores[idx])]
        alive[best] = False
        out.append((segs[best, 0], segs[best, 1], scores[best]))
        rest = np.flatnonzero(alive)
        if rest.size == 0:
            break
        ious = temporal_iou(segs[best], segs[rest])
        width = segs[best, 1] - segs[best, 0]
        decay = ious > low_threshold + (high_threshold - low_threshold) * width
        scores[rest[decay]] *= np.exp(-np.square(ious[decay]) / alpha)
    return np.array(out, dtype=np.float64).reshape(-1, 3)
