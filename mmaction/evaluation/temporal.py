"""Temporal action detection metrics: tIoU, interpolated AP, detection mAP tables, AR@AN / AUC.

The AP and AR@AN computations follow the semantics of the official ActivityNet evaluation toolkit
(``Evaluation/eval_detection.py`` and ``eval_proposal.py``), which MMAction v0 shipped as third-party code
and mmaction2 re-implemented, so that numbers are comparable with published tables:

* a prediction is matched to the unmatched ground truth of its video with the highest tIoU, as long as that
  tIoU reaches the threshold; a prediction whose best still-free candidate is below the threshold is a false
  positive (the toolkit stops at the first candidate below the threshold);
* AP is the VOC-style *interpolated* area: precision is made monotonically non-increasing from the right and
  integrated over the recall steps;
* AR@AN counts, for every video, the top ``ratio * n_proposals`` proposals and reports recall averaged over
  tIoU 0.5:0.05:0.95; AUC is the trapezoidal area under the AR-AN curve normalised by the largest AN, in %.

Segments are ``(start, end)`` pairs in any unit (seconds, frames, fractions) as long as GT and predictions agree.
"""
from __future__ import annotations

from collections import OrderedDict, defaultdict
from typing import Iterable, Mapping, Sequence

import numpy as np

from mmaction.ops.segment_iou import temporal_iou  # noqa: F401  (public here too)
from mmaction.utils.io import read_json_object

THUMOS14_SSN_IOUS = np.round(np.arange(0.1, 1.0, 0.1), 2)      # the original SSN table: 0.1 ... 0.9
THUMOS14_IOUS = np.array([0.3, 0.4, 0.5, 0.6, 0.7])             # the modern THUMOS14 table
ACTIVITYNET_IOUS = np.linspace(0.5, 0.95, 10)                   # ActivityNet-1.3: 0.5:0.05:0.95

_trapezoid = getattr(np, 'trapezoid', None) or np.trapz  # numpy 2 renamed trapz


def pairwise_temporal_iou(candidates: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """tIoU matrix ``(M, N)`` between ``targets`` ``(M, 2)`` (rows) and ``candidates`` ``(N, 2)`` (columns).

    The (targets x candidates) orientation is the one AR@AN uses (one row per ground-truth instance).
    """
    candidates = np.asarray(candidates, dtype=np.float64).reshape(-1, 2)
    targets = np.asarray(targets, dtype=np.float64).reshape(-1, 2)
    if targets.shape[0] == 0 or candidates.shape[0] == 0:
        return np.zeros((targets.shape[0], candidates.shape[0]))
    return np.stack([temporal_iou(t, candidates) for t in targets])


def interpolated_precision_recall(precision: np.ndarray, recall: np.ndarray) -> float:
    """VOC-style interpolated AP: area under the right-to-left running max of precision over recall."""
    mprec = np.concatenate([[0.0], np.asarray(precision, dtype=np.float64), [0.0]])
    mrec = np.concatenate([[0.0], np.asarray(recall, dtype=np.float64), [1.0]])
    mprec = np.maximum.accumulate(mprec[::-1])[::-1]
    steps = np.where(mrec[1:] != mrec[:-1])[0] + 1
    return float(np.sum((mrec[steps] - mrec[steps - 1]) * mprec[steps]))


def _descending(scores: np.ndarray) -> np.ndarray:
    if not np.isfinite(scores).all():
        bad = np.flatnonzero(~np.isfinite(scores))
        raise ValueError(f'{len(bad)} of {len(scores)} detection/proposal scores are NaN/inf (first: number '
                         f'{bad[0]}); no mAP/AR computed')
    # The toolkit sorts with ``argsort()[::-1]``; numpy's default sort is stable for the short arrays of the
    # tests, so reversing a *stable* ascending sort reproduces its order of tied scores deterministically.
    return np.argsort(scores, kind='stable')[::-1]


def average_precision_at_temporal_iou(ground_truth: Mapping[str, np.ndarray], prediction: np.ndarray,
                                      prediction_videos: Sequence[str],
                                      temporal_iou_thresholds: Iterable[float] = ACTIVITYNET_IOUS) -> np.ndarray:
    """AP of one class at each threshold (official ``compute_average_precision_detection``).

    Args:
        ground_truth: ``{video_id: (G, 2) segments}`` of this class.
        prediction: ``(P, 3)`` rows ``(start, end, score)``.
        prediction_videos: the video id of each prediction row.
        temporal_iou_thresholds: ``(T,)``.
    Returns:
        ``(T,)`` float64 AP per threshold (0 where there is no ground truth or no prediction).
    """
    thresholds = np.asarray(list(temporal_iou_thresholds), dtype=np.float64)
    ap = np.zeros(len(thresholds))
    num_pos = sum(len(np.asarray(v).reshape(-1, 2)) for v in ground_truth.values())
    prediction = np.asarray(prediction, dtype=np.float64).reshape(-1, 3)
    if num_pos == 0 or prediction.shape[0] == 0:
        return ap
    if len(prediction_videos) != prediction.shape[0]:
        raise ValueError(f'{len(prediction_videos)} video ids for {prediction.shape[0]} predictions')
    order = _descending(prediction[:, 2])
    prediction = prediction[order]
    videos = [prediction_videos[i] for i in order]
    gts = {k: np.asarray(v, dtype=np.float64).reshape(-1, 2) for k, v in ground_truth.items()}
    locked = {k: np.full((len(thresholds), len(v)), False) for k, v in gts.items()}
    tp = np.zeros((len(thresholds), prediction.shape[0]))
    fp = np.zeros((len(thresholds), prediction.shape[0]))
    for idx, (row, vid) in enumerate(zip(prediction, videos)):
        gt = gts.get(vid)
        if gt is None or len(gt) == 0:
            fp[:, idx] = 1
            continue
        ious = temporal_iou(row[:2], gt)
        by_iou = _descending(ious)
        for t, thr in enumerate(thresholds):
            for j in by_iou:
                if ious[j] < thr:
                    break  # every further candidate is worse: a false positive
                if locked[vid][t, j]:
                    continue
                locked[vid][t, j] = True
                tp[t, idx] = 1
                break
            if tp[t, idx] == 0:
                fp[t, idx] = 1
    tp_cum = np.cumsum(tp, axis=1)
    fp_cum = np.cumsum(fp, axis=1)
    recall = tp_cum / num_pos
    precision = tp_cum / (tp_cum + fp_cum)
    for t in range(len(thresholds)):
        ap[t] = interpolated_precision_recall(precision[t], recall[t])
    return ap


def detection_map(ground_truths: Mapping, detections: Mapping,
                  temporal_iou_thresholds: Iterable[float] = ACTIVITYNET_IOUS) -> tuple[np.ndarray, np.ndarray]:
    """Per-class AP and mAP at each tIoU threshold.

    Args:
        ground_truths: ``{class: [(video_id, start, end), ...]}``.
        detections: ``{class: [(video_id, start, end, score), ...]}``; classes absent here get AP 0
            (the toolkit's "no predictions of label" case).
    Returns:
        ``(ap, mAP)``: ``ap`` is ``(num_gt_classes, T)`` in the order of ``ground_truths``; ``mAP`` is ``(T,)``.
    """
    thresholds = np.asarray(list(temporal_iou_thresholds), dtype=np.float64)
    ap = np.zeros((len(ground_truths), len(thresholds)))
    for c, (cls, gt_rows) in enumerate(ground_truths.items()):
        gt_by_video: dict[str, list] = defaultdict(list)
        for vid, start, end in gt_rows:
            gt_by_video[vid].append((start, end))
        det_rows = list(detections.get(cls, []))
        if not det_rows:
            continue
        pred = np.array([[r[1], r[2], r[3]] for r in det_rows], dtype=np.float64)
        ap[c] = average_precision_at_temporal_iou(gt_by_video, pred, [r[0] for r in det_rows], thresholds)
    mean_ap = ap.mean(axis=0) if len(ground_truths) else np.zeros(len(thresholds))
    return ap, mean_ap


def _strip_v(video_id: str) -> str:
    # ActivityNet ids appear with the 'v_' prefix in annotation files and without it in result files.
    return video_id[2:] if video_id.startswith('v_') else video_id


def load_activitynet_gt(path_or_dict, subset: str | None = None) -> tuple[dict, list[str]]:
    """Read ActivityNet-format GT (either ``{'database': {...}}`` or mmaction2's flat dict of videos).

    Returns ``({label: [(video, start, end)]}, label order of first appearance)``. ``subset`` keeps only the
    videos whose ``subset`` field equals it (videos without the field are always kept).
    """
    data = _load_json(path_or_dict)
    database = data.get('database', data)
    where = path_or_dict if isinstance(path_or_dict, str) else '<ground truth>'
    if not isinstance(database, Mapping):
        raise ValueError(f"{where}: 'database' must map video ids to videos, got {type(database).__name__}")
    gt: dict[str, list] = OrderedDict()
    for vid, video in database.items():
        if not isinstance(video, dict) or 'annotations' not in video:
            raise ValueError(f"{where}: video '{vid}' has no 'annotations' list")
        if subset is not None and video.get('subset', subset) != subset:
            continue
        for k, ann in enumerate(video['annotations']):
            try:
                start, end = float(ann['segment'][0]), float(ann['segment'][1])
                label = ann['label']
            except (KeyError, IndexError, TypeError, ValueError) as err:
                raise ValueError(f"{where}: video '{vid}' annotation {k} must have 'segment': [start, end] "
                                 f"and 'label', got {ann!r}") from err
            gt.setdefault(label, []).append((_strip_v(vid), start, end))
    return gt, list(gt)


def load_activitynet_results(path_or_dict) -> dict:
    """Read ``{'results': {video: [{label, score, segment}]}}`` -> ``{label: [(video, start, end, score)]}``."""
    data = _load_json(path_or_dict)
    where = path_or_dict if isinstance(path_or_dict, str) else '<results>'
    if 'results' not in data:
        raise ValueError(f"{where}: expected a top-level 'results' key, got keys {sorted(data)[:5]}")
    dets: dict[str, list] = defaultdict(list)
    if not isinstance(data['results'], Mapping):
        raise ValueError(f"{where}: 'results' must map video ids to lists, got {type(data['results']).__name__}")
    for vid, items in data['results'].items():
        if not isinstance(items, list):
            raise ValueError(f"{where}: results['{vid}'] must be a list, got {type(items).__name__}")
        for k, item in enumerate(items):
            try:
                dets[item['label']].append((_strip_v(vid), float(item['segment'][0]), float(item['segment'][1]),
                                            float(item['score'])))
            except (KeyError, IndexError, TypeError, ValueError) as err:
                raise ValueError(f"{where}: results['{vid}'][{k}] must have 'label', 'score' and "
                                 f"'segment': [start, end], got {item!r}") from err
    return dets


def _load_json(path_or_dict):
    return path_or_dict if isinstance(path_or_dict, Mapping) else read_json_object(path_or_dict)


class ActivityNetLocalization:
    """mAP of ActivityNet-format detections against ActivityNet-format GT at several tIoU thresholds.

    ``evaluate()`` returns ``(mAP (T,), average mAP)``; per-class AP is kept in ``self.ap`` ``(C, T)``.
    Predictions of labels that are not in the GT are ignored (they cannot be true positives of any scored class).
    """

    def __init__(self, ground_truth, prediction, tiou_thresholds: Iterable[float] = ACTIVITYNET_IOUS,
                 subset: str | None = None):
        self.tiou_thresholds = np.asarray(list(tiou_thresholds), dtype=np.float64)
        self.ground_truth, self.labels = load_activitynet_gt(ground_truth, subset)
        self.prediction = load_activitynet_results(prediction)
        self.ap = None

    def evaluate(self) -> tuple[np.ndarray, float]:
        self.ap, mean_ap = detection_map(self.ground_truth, self.prediction, self.tiou_thresholds)
        return mean_ap, float(mean_ap.mean())


def average_recall_at_avg_proposals(ground_truth: Mapping[str, np.ndarray], proposals: Mapping[str, np.ndarray],
                                    total_num_proposals: int, max_avg_proposals: float | None = None,
                                    temporal_iou_thresholds: Iterable[float] = ACTIVITYNET_IOUS):
    """AR-AN curve as in the ActivityNet proposal toolkit.

    Args:
        ground_truth: ``{video: (G, 2)}``.
        proposals: ``{video: (P, 3)}`` rows ``(start, end, score)``; videos missing here count as no proposals.
        total_num_proposals: number of proposals over all videos.
        max_avg_proposals: the largest AN on the curve (default: the average number of proposals per video).
    Returns:
        ``recall (T, 100)``, ``avg_recall (100,)``, ``proposals_per_video (100,)``, ``auc`` (in %).
    """
    thresholds = np.asarray(list(temporal_iou_thresholds), dtype=np.float64)
    num_videos = len(ground_truth)
    if num_videos == 0:
        raise ValueError('average_recall_at_avg_proposals: empty ground truth')
    if not max_avg_proposals:
        max_avg_proposals = float(total_num_proposals) / num_videos
    ratio = max_avg_proposals * num_videos / total_num_proposals
    ious = []
    retrieved = 0
    for vid, gt in ground_truth.items():
        gt = np.asarray(gt, dtype=np.float64).reshape(-1, 2)
        props = np.asarray(proposals.get(vid, np.zeros((0, 3))), dtype=np.float64).reshape(-1, 3)
        if props.shape[0] == 0:
            ious.append(np.zeros((gt.shape[0], 1)))
            continue
        props = props[_descending(props[:, 2]), :2]
        n = min(int(props.shape[0] * ratio), props.shape[0])
        retrieved += n
        ious.append(pairwise_temporal_iou(props[:n], gt))
    # AN is a fraction of the retrieved proposals of each video, so long and short videos weigh alike.
    pcn = np.arange(1, 101) / 100.0 * (max_avg_proposals * num_videos / retrieved)
    positives = np.array([iou.shape[0] for iou in ious], dtype=np.float64)
    recall = np.empty((len(thresholds), len(pcn)))
    for r, thr in enumerate(thresholds):
        matches = np.zeros((num_videos, len(pcn)))
        for i, iou in enumerate(ious):
            hit = iou >= thr
            counts = np.minimum((iou.shape[1] * pcn).astype(np.int32), iou.shape[1])
            for j, n in enumerate(counts):
                matches[i, j] = np.count_nonzero(hit[:, :n].sum(axis=1))
        recall[r] = matches.sum(axis=0) / positives.sum()
    avg_recall = recall.mean(axis=0)
    proposals_per_video = pcn * (float(retrieved) / num_videos)
    auc = 100.0 * float(_trapezoid(avg_recall, proposals_per_video)) / proposals_per_video[-1]
    return recall, avg_recall, proposals_per_video, auc


def ar_an_metrics(ground_truth: Mapping[str, np.ndarray], proposals: Mapping[str, np.ndarray],
                  max_avg_proposals: int = 100, topk: Sequence[int] = (1, 5, 10, 100)) -> dict[str, float]:
    """``{'auc', 'AR@1', 'AR@5', 'AR@10', 'AR@100'}`` (mmaction2's ANetMetric convention: AR@k is the mean
    recall over tIoU thresholds at the k-th point of a 100-point curve up to ``max_avg_proposals`` AN)."""
    total = sum(np.asarray(p).reshape(-1, 3).shape[0] for p in proposals.values())
    recall, _, _, auc = average_recall_at_avg_proposals(ground_truth, proposals, total, max_avg_proposals)
    out = {'auc': float(auc)}
    for k in topk:
        index = int(round(k * 100 / max_avg_proposals)) - 1
        out[f'AR@{k}'] = float(np.mean(recall[:, index]))
    return out


def format_table(rows: Sequence[Sequence], title: str | None = None) -> str:
    """A plain ASCII table in the style of ``terminaltables.AsciiTable`` (first row is the header)."""
    rows = [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    border = '+' + '+'.join('-' * (w + 2) for w in widths) + '+'
    lines = []
    for k, r in enumerate(rows):
        lines.append('| ' + ' | '.join(c.ljust(w) for c, w in zip(r, widths)) + ' |')
        if k == 0:
            lines.append(border)
    top = border
    if title:
        top = '+' + title.center(len(border) - 2, '-') + '+'
    return '\n'.join([top] + lines + [border])


def detection_table(mean_ap: np.ndarray, thresholds: Sequence[float], dataset: str = 'thumos14') -> str:
    """The original ``test_localizer.py`` table: rows ``IoU thresh`` and ``mean AP`` (4 decimals), plus the
    average over thresholds as a last column."""
    header = ['IoU thresh'] + [f'{t:.2f}' for t in thresholds] + ['Average']
    values = ['mean AP'] + [f'{v:.4f}' for v in mean_ap] + [f'{float(np.mean(mean_ap)):.4f}']
    return format_table([header, values], title=f'Temporal detection performance ({dataset})')


DETECTION_PROTOCOLS = {'thumos14': THUMOS14_IOUS, 'activitynet': ACTIVITYNET_IOUS}


def detection_metrics(ground_truths: Mapping, detections: Mapping, protocol: str = 'thumos14') -> dict:
    """mAP at each tIoU of ``protocol`` (``thumos14``: 0.3:0.1:0.7, ``activitynet``: 0.5:0.05:0.95), their mean
    (``average_mAP``, the number the one-stage detector papers report) and the printed table.

    ``ground_truths`` / ``detections`` as in :func:`detection_map`.
    """
    if protocol not in DETECTION_PROTOCOLS:
        raise ValueError(f'detection metric must be one of {sorted(DETECTION_PROTOCOLS)}, got {protocol!r}')
    thresholds = DETECTION_PROTOCOLS[protocol]
    _, mean_ap = detection_map(ground_truths, detections, thresholds)
    out = {f'mAP@{t:.2f}': float(m) for t, m in zip(thresholds, mean_ap)}
    out['average_mAP'] = float(mean_ap.mean())
    out['table'] = detection_table(mean_ap, thresholds, protocol)
    return out


def evaluate_localization(dataset, results: Sequence[dict], metric: str = 'AR@AN',
                          max_avg_proposals: int = 100) -> dict:
    """Metrics of localizer ``results`` (one ``dict(video_name, proposal_list=[{score, segment(, label)}])`` per
    video) against the annotations of ``dataset``.

    A dataset with ``label_detections`` (``TADFeatureDataset``) gives detection mAP: ``metric`` ``'thumos14'``
    (tIoU 0.3:0.1:0.7) or ``'activitynet'`` (0.5:0.05:0.95), with its per-class ``ground_truth()``. Otherwise
    (``ActivityNetDataset``, ``BSNProposalDataset``) ``metric='AR@AN'``: proposals against the per-video
    ``ground_truth()`` in seconds.
    """
    if hasattr(dataset, 'label_detections'):
        return detection_metrics(dataset.ground_truth(), dataset.label_detections(results), metric)
    if metric != 'AR@AN':
        raise ValueError(f"{type(dataset).__name__}: unsupported metric {metric!r} for proposals; expected 'AR@AN'")
    proposals = {r['video_name']: np.array([[p['segment'][0], p['segment'][1], p['score']]
                                            for p in r['proposal_list']]).reshape(-1, 3) for r in results}
    return ar_an_metrics(dataset.ground_truth(), proposals, max_avg_proposals)
