"""Recognition metrics and softmax on numpy arrays (original ``core/evaluation/accuracy.py``; no sklearn needed):
the one place the test tools, the analysis tools and the APIs compute them.

``scores`` are ``(N, num_classes)`` arrays (one row per video), ``labels`` are ``N`` integer class indices.
Metric keys: ``top1_acc``, ``top5_acc``, ``mean_class_accuracy`` (fractions; mmaction2's names).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from mmaction.utils.results import check_finite_scores

# the test tool's printed lines (v0 reference section 2.3) and the metric each one shows
METRIC_LINES = (('Mean Class Accuracy', 'mean_class_accuracy'), ('Top-1 Accuracy', 'top1_acc'),
                ('Top-5 Accuracy', 'top5_acc'))


def softmax(x: np.ndarray, dim: int = 1) -> np.ndarray:
    """Numerically stable softmax along ``dim`` (max subtracted first, so large logits do not overflow)."""
    x = np.asarray(x, dtype=np.float64)
    shifted = x - np.max(x, axis=dim, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=dim, keepdims=True)


def _check(scores: np.ndarray, labels: Sequence[int], source: str = 'scores') -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores)
    labels = np.asarray(labels).reshape(-1)
    if scores.ndim != 2:
        raise ValueError(f'scores must be a 2-D (num_videos, num_classes) array, got shape {scores.shape}')
    if scores.shape[0] != labels.shape[0]:
        raise ValueError(f'{scores.shape[0]} score rows but {labels.shape[0]} labels')
    if scores.shape[0] == 0:
        raise ValueError('no scores to evaluate (empty dataset?)')
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f'labels must be integers, got dtype {labels.dtype}')
    check_finite_scores(scores, source)
    if labels.min() < 0 or labels.max() >= scores.shape[1]:
        raise ValueError(f'labels must lie in [0, {scores.shape[1] - 1}] (num_classes={scores.shape[1]}), '
                         f'got range [{labels.min()}, {labels.max()}]')
    return scores, labels


def top_k_accuracy(scores: np.ndarray, labels: Sequence[int], k: Sequence[int] = (1,),
                   source: str = 'scores') -> list[float]:
    """Fraction of videos whose label is among the ``k`` highest scores, for each ``k``.

    Ties are broken as the original did, by ``np.argsort`` order (the later index of equal scores ranks higher).
    Non-finite scores raise ``ValueError`` naming ``source``.
    """
    scores, labels = _check(scores, labels, source)
    order = np.argsort(scores, axis=1)  # ascending; the last k columns are the top k
    result = []
    for kk in k:
        if kk < 1:
            raise ValueError(f'k must be >= 1, got {kk}')
        top = order[:, -kk:]
        hit = np.any(top == labels[:, None], axis=1)
        result.append(float(hit.mean()))
    return result


def confusion_matrix(pred: Sequence[int], labels: Sequence[int], num_classes: int | None = None) -> np.ndarray:
    """``cm[i, j]`` = number of videos with true class ``i`` predicted as ``j`` (rows: truth)."""
    pred = np.asarray(pred, dtype=np.int64).reshape(-1)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if num_classes is None:
        num_classes = int(max(pred.max(initial=-1), labels.max(initial=-1))) + 1
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (labels, pred), 1)
    return cm


def mean_class_accuracy(scores: np.ndarray, labels: Sequence[int], source: str = 'scores') -> float:
    """Mean over classes of (correct predictions of the class / videos of the class).

    Classes with no ground-truth video are left out. (The original divided by sklearn's confusion-matrix row sums,
    so a class that was only ever *predicted* gave 0/0 and the printed value became ``nan``.)
    """
    scores, labels = _check(scores, labels, source)
    cm = confusion_matrix(np.argmax(scores, axis=1), labels, scores.shape[1])
    count = cm.sum(axis=1)
    present = count > 0
    return float(np.mean(np.diag(cm)[present] / count[present]))


def mean_average_precision(scores: np.ndarray, targets: np.ndarray) -> float:
    """Multi-label recognition mAP (mmaction2's ``mean_average_precision``, i.e. sklearn's average precision per
    class, averaged over the classes that have at least one positive).

    ``scores`` (N, C); ``targets`` (N, C) many-hot 0/1. Per class, with videos sorted by decreasing score and tied
    scores forming one threshold: AP = sum over thresholds of (recall_k - recall_{k-1}) * precision_k.
    """
    scores, targets = np.asarray(scores, dtype=np.float64), np.asarray(targets)
    if scores.ndim != 2 or scores.shape != targets.shape:
        raise ValueError(f'scores {scores.shape} and targets {targets.shape} must both be (num_videos, num_classes)')
    if scores.shape[0] == 0:
        raise ValueError('no scores to evaluate (empty dataset?)')
    aps = []
    for score, target in zip(scores.T, targets.T == 1):
        if not target.any():
            continue
        order = np.argsort(-score, kind='mergesort')
        score, target = score[order], target[order]
        last_of_tie = np.r_[np.flatnonzero(np.diff(score)), score.size - 1]
        true_pos = np.cumsum(target)[last_of_tie]
        precision = true_pos / (last_of_tie + 1)
        recall = true_pos / true_pos[-1]
        aps.append(float(np.sum(np.diff(np.r_[0.0, recall]) * precision)))
    return float(np.mean(aps)) if aps else float('nan')


def average_views(outputs: Sequence[np.ndarray] | np.ndarray, use_softmax: bool = False) -> np.ndarray:
    """``(N, num_classes)`` float64: each video's score rows (views, clips) averaged, after a softmax if asked.
    ``outputs``: one ``(rows, num_classes)`` (or ``(num_classes,)``) array per video, or an ``(N, C)`` array."""
    rows = [np.asarray(res, dtype=np.float64).reshape(-1, np.shape(res)[-1]) for res in outputs]
    if use_softmax:
        rows = [softmax(r, dim=1) for r in rows]
    return np.stack([r.mean(axis=0) for r in rows])


def recognition_metrics(outputs: Sequence[np.ndarray] | np.ndarray, labels: Sequence[int], use_softmax: bool = False,
                        verbose: bool = False, views: int | None = None, source: str = 'scores',
                        names: Sequence[str] | None = None) -> dict[str, float]:
    """Mean-class, top-1 and top-5 accuracy (top-k capped at the class count) of per-video scores.

    ``outputs``: ``(N, C)`` scores or one ``(rows, C)`` array per video (rows averaged, after a softmax if
    ``use_softmax``). NaN/inf scores raise ``ValueError`` naming ``source`` (count and first video, by ``names``).
    ``verbose`` prints the test tool's lines; ``views`` (views per video the model averaged into each row) only
    words the first of them.
    """
    if len(outputs) != len(labels):
        raise ValueError(f'{source}: {len(outputs)} results but {len(labels)} labels')
    check_finite_scores(average_views(outputs), source, names)
    scores = average_views(outputs, use_softmax)
    top1, top5 = top_k_accuracy(scores, labels, (1, min(5, scores.shape[1])), source)
    metrics = {'mean_class_accuracy': mean_class_accuracy(scores, labels, source), 'top1_acc': top1,
               'top5_acc': top5}
    if verbose:
        rows = np.shape(outputs[0])[0] if np.ndim(outputs[0]) == 2 else 1
        averaged = f'{views} views per video' if views is not None and rows == 1 else f'{rows} score rows per video'
        print(f"Averaging score over {averaged} {'with' if use_softmax else 'without'} softmax")
        print('\n'.join(format_metrics(metrics)))
    return metrics


def format_metrics(metrics: dict[str, float]) -> list[str]:
    """Lines in the test tool's format (percent, two decimals)."""
    return [f'{title} = {100 * metrics[key]:.2f}' for title, key in METRIC_LINES]


def fuse_scores(scores: Sequence[np.ndarray], weights: Sequence[float] | None = None,
                apply_softmax: bool = False) -> np.ndarray:
    """Weighted sum ``sum_i w_i * s_i`` of ``(N, C)`` score arrays (softmax per array first if asked).

    Weights default to 1 each (the original two-stream fusion, e.g. RGB 1 : Flow 1.5, is a plain weighted sum).
    """
    if not scores:
        raise ValueError('no score arrays to fuse')
    weights = [1.0] * len(scores) if weights is None else list(weights)
    if len(weights) != len(scores):
        raise ValueError(f'{len(weights)} weights given for {len(scores)} score files')
    shape = np.shape(scores[0])
    fused = np.zeros(shape, dtype=np.float64)
    for i, (s, w) in enumerate(zip(scores, weights)):
        s = np.asarray(s, dtype=np.float64)
        if s.shape != shape:
            raise ValueError(f'score file {i} has shape {s.shape}, the first has {shape}: '
                             f'they must come from the same test list')
        fused += w * (softmax(s, dim=1) if apply_softmax else s)
    return fused
