"""AVA frame-mAP (PASCAL VOC AP at IoU 0.5 per class) and proposal recall, from the official protocol.

Protocol of the official ``get_ava_performance.py`` / ``PascalDetectionEvaluator``:

* CSV rows ``video_id,timestamp,x1,y1,x2,y2,action_id[,score|person_id]`` are grouped per key-frame
  ``"video_id,%04d"``; rows whose action is not in the label map are dropped; detections keep at most
  ``capacity`` (50) highest-scoring rows per key-frame; excluded key-frames are skipped on both sides.
* Per key-frame and class, detections sorted by decreasing score are matched greedily to the ground-truth
  box of highest IoU (continuous areas, no ``+1``); IoU >= 0.5 on a not-yet-matched box is a true
  positive, anything else a false positive. Detections on key-frames without ground truth are false
  positives.
* Per class, precision/recall over all key-frames gives the all-point interpolated AP (VOC 2010+); classes
  without ground truth are left out of the mean (NaN), classes with ground truth and no detection score 0.
"""
from __future__ import annotations

import csv
import heapq
import logging
import os
from collections import defaultdict
from typing import Iterable, Sequence

import numpy as np

from mmaction.utils.ava_files import make_image_key, read_exclusions, read_labelmap  # noqa: F401  (public here too)
from mmaction.utils.io import atomic_open, open_text

MAP_KEY = 'PascalBoxes_Precision/mAP@0.5IOU'
PER_CLASS_KEY = 'PascalBoxes_PerformanceByCategory/AP@0.5IOU/{}'


def read_csv(path: str, class_whitelist: set[int] | None = None, capacity: int = 0):
    """Read an AVA ground-truth or detection CSV.

    Returns three dicts keyed by image key: boxes (list of ``[y1, x1, y2, x2]`` as in the official code),
    labels (action ids) and scores; each key's entries sorted by decreasing score. 7-column rows get
    score 1.0; 8-column rows use column 8 as the score (for ground truth it is the person id, unused).
    ``capacity > 0`` keeps only that many highest-scoring rows per key-frame.
    """
    entries: dict[str, list] = defaultdict(list)
    order = 0
    with open_text(path) as f:
        for lineno, row in enumerate(csv.reader(f), 1):
            if not row:
                continue
            if len(row) not in (7, 8):
                raise ValueError(f'{path}:{lineno}: expected 7 or 8 columns '
                                 f'(video_id,timestamp,x1,y1,x2,y2,action_id[,score]), got {len(row)}: {row!r}')
            try:
                key = make_image_key(row[0], row[1])
                x1, y1, x2, y2 = (float(v) for v in row[2:6])
                action_id = int(row[6])
                score = float(row[7]) if len(row) == 8 else 1.0
            except ValueError as err:
                raise ValueError(f'{path}:{lineno}: malformed row {row!r}: {err}') from None
            if class_whitelist and action_id not in class_whitelist:
                continue
            item = (score, -order, action_id, y1, x1, y2, x2)
            order += 1
            if capacity > 0 and len(entries[key]) >= capacity:
                heapq.heappushpop(entries[key], item)
            elif capacity > 0:
                heapq.heappush(entries[key], item)
            else:
                entries[key].append(item)
    boxes, labels, scores = {}, {}, {}
    for key, items in entries.items():
        items = sorted(items, key=lambda t: -t[0])
        boxes[key] = [list(t[3:]) for t in items]
        labels[key] = [t[2] for t in items]
        scores[key] = [t[0] for t in items]
    return boxes, labels, scores


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU ``(N, M)`` of boxes in any corner order ``[p1, q1, p2, q2]`` with continuous areas."""
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(hi - lo, 0, None).prod(-1)
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.where(union > 0, inter / union, 0.0)


def _tp_fp_single(det_boxes: np.ndarray, det_scores: np.ndarray, gt_boxes: np.ndarray,
                  iou_thr: float) -> tuple[np.ndarray, np.ndarray]:
    """Scores (sorted) and true-positive flags of one class on one key-frame."""
    order = np.argsort(det_scores)[::-1]  # the official sort (reversed ascending argsort)
    det_boxes, det_scores = det_boxes[order], det_scores[order]
    tp = np.zeros(len(det_scores), dtype=bool)
    if len(gt_boxes) == 0 or len(det_boxes) == 0:
        return det_scores, tp
    iou = _iou(det_boxes, gt_boxes)
    best = iou.argmax(1)
    taken = np.zeros(len(gt_boxes), dtype=bool)
    for i, g in enumerate(best):
        if iou[i, g] >= iou_thr and not taken[g]:
            tp[i] = True
            taken[g] = True
    return det_scores, tp


def average_precision(scores: np.ndarray, tp: np.ndarray, num_gt: int) -> float:
    """All-point interpolated AP (PASCAL VOC 2010+) of one class. ``nan`` if ``num_gt == 0``."""
    if num_gt == 0:
        return float('nan')
    if len(scores) == 0:
        return 0.0
    if not np.isfinite(scores).all():
        bad = np.flatnonzero(~np.isfinite(scores))
        raise ValueError(f'{len(bad)} of {len(scores)} detection scores are NaN/inf (first: detection {bad[0]}); '
                         f'no mAP computed')
    order = np.argsort(scores)[::-1]
    tp = tp[order].astype(float)
    cum_tp = np.cumsum(tp)
    cum_fp = np.cumsum(1.0 - tp)
    precision = cum_tp / (cum_tp + cum_fp)
    recall = cum_tp / num_gt
    recall = np.concatenate([[0.0], recall, [1.0]])
    precision = np.concatenate([[0.0], precision, [0.0]])
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    idx = np.where(recall[1:] != recall[:-1])[0] + 1
    return float(np.sum((recall[idx] - recall[idx - 1]) * precision[idx]))


def frame_map(gt: tuple[dict, dict, dict], det: tuple[dict, dict, dict], class_ids: Iterable[int],
              excluded: set[str] = frozenset(), iou_thr: float = 0.5) -> dict[int, float]:
    """Per-class AP (keyed by action id) of detections ``det`` against ground truth ``gt`` (``read_csv`` output)."""
    gt_boxes, gt_labels, _ = gt
    det_boxes, det_labels, det_scores = det
    class_ids = sorted(set(class_ids))
    num_gt = defaultdict(int)
    per_class_scores: dict[int, list] = defaultdict(list)
    per_class_tp: dict[int, list] = defaultdict(list)
    for key in gt_boxes:
        if key in excluded:
            continue
        for label in gt_labels[key]:
            num_gt[label] += 1
    for key in det_boxes:
        if key in excluded:
            continue
        boxes = np.asarray(det_boxes[key], dtype=float).reshape(-1, 4)
        labels = np.asarray(det_labels[key])
        scores = np.asarray(det_scores[key], dtype=float)
        g_boxes = np.asarray(gt_boxes.get(key, []), dtype=float).reshape(-1, 4)
        g_labels = np.asarray(gt_labels.get(key, []))
        for c in np.unique(labels):
            sel = labels == c
            s, tp = _tp_fp_single(boxes[sel], scores[sel], g_boxes[g_labels == c], iou_thr)
            per_class_scores[int(c)].append(s)
            per_class_tp[int(c)].append(tp)
    aps = {}
    for c in class_ids:
        s = np.concatenate(per_class_scores[c]) if per_class_scores[c] else np.zeros(0)
        tp = np.concatenate(per_class_tp[c]) if per_class_tp[c] else np.zeros(0, dtype=bool)
        aps[c] = average_precision(s, tp, num_gt[c])
    return aps


def proposal_recalls(gt_boxes: Sequence[np.ndarray], proposals: Sequence[np.ndarray],
                     proposal_nums: Sequence[int], iou_thrs: Sequence[float]) -> np.ndarray:
    """Recall ``(len(proposal_nums), len(iou_thrs))`` of greedy one-to-one matching (mmdet ``eval_recalls``).

    Per image, the top-``num`` proposals (by column 4 when present) are matched to ground truth by
    repeatedly taking the highest remaining IoU pair.
    """
    total = sum(len(g) for g in gt_boxes)
    best = np.zeros((len(proposal_nums), total))
    for k, num in enumerate(proposal_nums):
        matched = []
        for gts, props in zip(gt_boxes, proposals):
            props = np.asarray(props, dtype=float).reshape(-1, np.asarray(props).shape[-1] if len(props) else 4)
            if props.shape[1] >= 5:
                props = props[np.argsort(-props[:, 4], kind='stable')]
            ious = _iou(np.asarray(gts, dtype=float).reshape(-1, 4), props[:num, :4]) if len(gts) else np.zeros((0, 0))
            got = np.zeros(len(gts))
            if ious.size:
                ious = ious.copy()
                for j in range(len(gts)):
                    g, p = np.unravel_index(np.argmax(ious), ious.shape)
                    got[j] = max(ious[g, p], 0.0)
                    ious[g, :] = -1
                    ious[:, p] = -1
            matched.append(got)
        best[k] = np.concatenate(matched) if matched else np.zeros(0)
    thrs = np.asarray(iou_thrs)
    return (best[:, :, None] >= thrs[None, None, :]).sum(1) / max(total, 1)


def ava_eval(result_file: str, result_type: str, label_file: str, ann_file: str, exclude_file: str | None,
             max_dets: int = 50, proposal_nums: Sequence[int] = (100, 300, 1000), verbose: bool = True,
             logger: logging.Logger | None = None) -> dict[str, float]:
    """Evaluate an AVA result CSV against ``ann_file``.

    ``result_type='bbox'`` (or ``'mAP'``) gives ``PascalBoxes_Precision/mAP@0.5IOU`` plus one
    ``PascalBoxes_PerformanceByCategory/AP@0.5IOU/<name>`` per label-map class; ``'proposal'`` gives
    ``Recall@0.5@N`` and ``AR@N`` (IoU 0.5:0.95) for every ``N`` in ``proposal_nums``.
    """
    if result_type not in ('bbox', 'mAP', 'proposal'):
        raise ValueError(f"ava_eval: result_type must be 'bbox', 'mAP' or 'proposal', got {result_type!r}")
    log = logger.info if logger is not None else print
    labelmap, class_ids = read_labelmap(label_file)
    excluded = read_exclusions(exclude_file)
    gt = read_csv(ann_file, class_ids, 0)
    if result_type == 'proposal':
        det = read_csv(result_file, None, 0)
        keys = [k for k in gt[0] if k not in excluded]
        gts, props = [], []
        for key in keys:
            uniq = np.unique(np.asarray(gt[0][key], dtype=float).reshape(-1, 4), axis=0)  # one box per person
            gts.append(uniq)
            if key in det[0]:
                props.append(np.concatenate([np.asarray(det[0][key], dtype=float),
                                             np.asarray(det[2][key], dtype=float)[:, None]], 1))
            else:
                props.append(np.zeros((0, 5)))
        thrs = np.arange(0.5, 0.96, 0.05)
        rec = proposal_recalls(gts, props, proposal_nums, thrs)
        out = {}
        for i, num in enumerate(proposal_nums):
            out[f'Recall@0.5@{num}'] = float(rec[i, 0])
            out[f'AR@{num}'] = float(rec[i].mean())
            if verbose:
                log(f'Recall@0.5@{num}\t= {rec[i, 0]:.4f}')
                log(f'AR@{num}\t= {rec[i].mean():.4f}')
        return out
    det = read_csv(result_file, class_ids, max_dets)
    aps = frame_map(gt, det, class_ids, excluded)
    values = [v for v in aps.values() if not np.isnan(v)]
    out = {MAP_KEY: float(np.mean(values)) if values else float('nan')}
    for entry in labelmap:
        out[PER_CLASS_KEY.format(entry['name'])] = aps[entry['id']]
    if verbose:
        for key, value in out.items():
            log(f'{key}=\t{value:.6f}' if key == MAP_KEY else f'{key}=\t{value}')
    return out


def results2csv(results: Sequence[Sequence[np.ndarray]], keys: Sequence[tuple[str, int, int, int]], path: str,
                action_thr: float = -np.inf) -> None:
    """Write detector results as the AVA detection CSV (atomic).

    Args:
        results: one entry per key-frame: a list of per-class ``(n, 5)`` pixel arrays ``[x1, y1, x2, y2, score]``
            (class ``i`` of the list is action id ``i + 1``).
        keys: per key-frame ``(video_id, timestamp, width, height)`` to normalise the boxes.
    """
    if len(results) != len(keys):
        raise ValueError(f'results2csv: {len(results)} results for {len(keys)} key-frames')
    with atomic_open(path, 'w') as f:
        for per_class, (video_id, timestamp, width, height) in zip(results, keys):
            for cls, dets in enumerate(per_class):
                for x1, y1, x2, y2, score in np.asarray(dets, dtype=float).reshape(-1, 5):
                    if score <= action_thr:
                        continue
                    f.write(f'{video_id},{int(timestamp)},{x1 / width:.3f},{y1 / height:.3f},'
                            f'{x2 / width:.3f},{y2 / height:.3f},{cls + 1},{score:.4f}\n')


def proposals2csv(proposals: dict[str, np.ndarray], path: str) -> None:
    """Write a proposal pickle dict (``key -> (n, 4|5)`` normalised) as a CSV ``ava_eval(..., 'proposal')`` reads."""
    with atomic_open(path, 'w') as f:
        for key, boxes in proposals.items():
            video_id, timestamp = key.rsplit(',', 1)
            for row in np.asarray(boxes, dtype=float).reshape(len(boxes), -1):
                score = row[4] if row.shape[0] > 4 else 1.0
                f.write(f'{video_id},{timestamp},{row[0]:.3f},{row[1]:.3f},{row[2]:.3f},{row[3]:.3f},1,{score:.6f}\n')


def check_file(path: str, what: str) -> str:
    if not os.path.isfile(path):
        raise FileNotFoundError(f'{what} not found: {path}')
    return path
