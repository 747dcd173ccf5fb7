"""From SSN localizer outputs (the ``--out`` pickle of ``tools/test_localizer.py``) to the THUMOS14 table.

Output pickle (v0 reference §2.6): one entry per valid test video, a 4-tuple of numpy arrays for its P proposals:
``rel_prop (P, 2)``, ``activity (P, K+1)`` raw logits (column 0 background), ``completeness (P, K)``,
``regression (P, K, 2)`` de-normalised (center shift, log duration ratio).

Steps as in the original ``test_localizer.py``: top-k (proposal, class) candidates by
``softmax(activity[:, 1:]) * exp(completeness)``, optional boundary regression, per-class per-video temporal NMS,
then per-class AP at each tIoU (ActivityNet toolkit semantics) against ``get_all_gt()`` rows.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from mmaction.ops.temporal_nms import temporal_nms

from .accuracy import softmax
from .temporal import ACTIVITYNET_IOUS, THUMOS14_SSN_IOUS, detection_map, detection_table


def check_outputs(outputs: Sequence, source: str = '<outputs>') -> None:
    """Raise a clear error when ``outputs`` is not the localizer pickle format."""
    for i, out in enumerate(outputs):
        if not (isinstance(out, (tuple, list)) and len(out) == 4):
            raise ValueError(f'{source}: entry {i} must be a 4-tuple (rel_prop, activity, completeness, regression)')
        rel, act, comp, reg = out
        p = np.asarray(rel).reshape(-1, 2).shape[0]
        if np.asarray(act).shape[0] != p or np.asarray(comp).shape[0] != p or \
                np.asarray(act).shape[1] != np.asarray(comp).shape[1] + 1:
            raise ValueError(f'{source}: entry {i}: expected activity (P, K+1) and completeness (P, K) for '
                             f'P={p} proposals, got {np.asarray(act).shape} and {np.asarray(comp).shape}')


def results2det(video_ids: Sequence[str], outputs: Sequence, top_k: int = 2000, **unused) -> list[dict]:
    """Per class ``{video: (N, 5) rows [start, end, score, center_reg, duration_reg]}`` (relative coordinates).

    ``top_k > 0`` keeps the ``top_k`` best (proposal, class) pairs of each video; ``top_k <= 0`` keeps all.
    """
    num_class = np.asarray(outputs[0][1]).shape[1] - 1
    detections: list[dict] = [dict() for _ in range(num_class)]
    for vid, (rel, act, comp, reg) in zip(video_ids, outputs):
        rel = np.asarray(rel, dtype=np.float64).reshape(-1, 2)
        scores = softmax(np.asarray(act, dtype=np.float64)[:, 1:]) * np.exp(np.asarray(comp, dtype=np.float64))
        reg = np.zeros((len(rel), num_class, 2)) if reg is None else np.asarray(reg, np.float64).reshape(len(rel), -1, 2)
        if top_k > 0:
            flat = np.argsort(scores.ravel(), kind='stable')[-top_k:]
            props, classes = flat // num_class, flat % num_class
        else:
            props, classes = np.repeat(np.arange(len(rel)), num_class), np.tile(np.arange(num_class), len(rel))
        for c in np.unique(classes):
            sel = props[classes == c]
            detections[c][vid] = np.concatenate([rel[sel], scores[sel, c][:, None], reg[sel, c]], axis=1)
    return detections


def perform_regression(detections: np.ndarray) -> np.ndarray:
    """Shift/scale ``[start, end, score, dc, dl]`` rows: center += len * dc, len *= exp(dl); clip to [0, 1]."""
    t0, t1 = detections[:, 0], detections[:, 1]
    center, length = (t0 + t1) / 2, t1 - t0
    new_center = center + length * detections[:, 3]
    new_len = length * np.exp(detections[:, 4])
    return np.concatenate([np.clip(new_center - new_len / 2, 0, 1)[:, None],
                           np.clip(new_center + new_len / 2, 0, 1)[:, None], detections[:, 2:]], axis=1)


def fuse_outputs(all_outputs: Sequence[Sequence], weights: Sequence[float] | None = None) -> list[tuple]:
    """Weighted sum of activity/completeness/regression over several result lists (e.g. RGB + Flow);
    proposals are taken from the first list (``eval_localize_results.py --score_weights``)."""
    weights = list(weights) if weights is not None else [1.0] * len(all_outputs)
    if len(weights) != len(all_outputs):
        raise ValueError(f'--score_weights has {len(weights)} values for {len(all_outputs)} result files')
    if len({len(o) for o in all_outputs}) != 1:
        raise ValueError(f'result files hold different numbers of videos: {[len(o) for o in all_outputs]}')
    fused = []
    for entries in zip(*all_outputs):
        parts = []
        for k in (1, 2, 3):
            arrays = [e[k] for e in entries]
            parts.append(None if any(a is None for a in arrays)
                         else sum(w * np.asarray(a, np.float64) for w, a in zip(weights, arrays)))
        fused.append((entries[0][0], *parts))
    return fused


def evaluate_ssn(outputs: Sequence, video_ids: Sequence[str], all_gt: Sequence[Sequence], eval_type: str = 'thumos14',
                 regression: bool = True, top_k: int = 2000, nms: float = 0.2, **evaluater) -> dict:
    """The whole SSN evaluation; returns ``dict(ap (K, T), mean_ap (T,), thresholds, table)``."""
    if eval_type not in ('thumos14', 'activitynet'):
        raise ValueError(f"--eval must be 'thumos14' or 'activitynet', got {eval_type!r}")
    check_outputs(outputs)
    num_class = np.asarray(outputs[0][1]).shape[1] - 1
    detections = results2det(video_ids, outputs, top_k)
    for c in range(num_class):
        for vid, det in detections[c].items():
            det = perform_regression(det) if regression else det
            detections[c][vid] = temporal_nms(det, nms, score_ind=2)
    thresholds = THUMOS14_SSN_IOUS if eval_type == 'thumos14' else ACTIVITYNET_IOUS
    gts = {c: [] for c in range(num_class)}
    for vid, label, start, end in all_gt:
        if not 0 <= int(label) < num_class:
            raise ValueError(f'ground-truth label {label} of video {vid} outside [0, {num_class})')
        gts[int(label)].append((vid, float(start), float(end)))
    dets = {c: [(vid, d[0], d[1], d[2]) for vid, arr in detections[c].items() for d in arr] for c in range(num_class)}
    ap, mean_ap = detection_map(gts, dets, thresholds)
    return dict(ap=ap, mean_ap=mean_ap, thresholds=thresholds,
                table=detection_table(mean_ap, thresholds, eval_type))
