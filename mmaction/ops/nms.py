"""Box NMS and multiclass NMS in pure PyTorch.

Boxes are ``[x1, y1, x2, y2]``. ``offset=1`` reproduces the mmdet-v1 pixel convention the original used
(``area = (x2 - x1 + 1) * (y2 - y1 + 1)``); ``offset=0`` is the continuous convention (torchvision). A box
is suppressed when its IoU with a kept, higher-scoring box is strictly greater than ``iou_thr`` (so
``iou_thr=1.0`` — the shipped AVA test config — keeps every box).
"""
from __future__ import annotations

import numpy as np
import torch


def box_iou(a: torch.Tensor, b: torch.Tensor, offset: int = 0) -> torch.Tensor:
    """``(N, M)`` IoU of ``a (N, 4)`` against ``b (M, 4)``."""
    area_a = (a[:, 2] - a[:, 0] + offset).clamp(min=0) * (a[:, 3] - a[:, 1] + offset).clamp(min=0)
    area_b = (b[:, 2] - b[:, 0] + offset).clamp(min=0) * (b[:, 3] - b[:, 1] + offset).clamp(min=0)
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = (rb - lt + offset).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = area_a[:, None] + area_b[None, :] - inter
    return inter / union.clamp(min=torch.finfo(inter.dtype).eps)


def nms_indices(boxes: torch.Tensor, scores: torch.Tensor, iou_thr: float, offset: int = 0) -> torch.Tensor:
    """Indices of kept boxes, by decreasing score (greedy NMS)."""
    if boxes.numel() == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    # Stable sort so that equal scores keep input order, as the C kernels do.
    order = torch.sort(scores, descending=True, stable=True)[1]
    iou = box_iou(boxes[order].double(), boxes[order].double(), offset).cpu().numpy()
    n = len(order)
    suppressed = np.zeros(n, dtype=bool)
    keep = []
    for i in range(n):  # O(n) vector steps; the IoU matrix is computed once above
        if suppressed[i]:
            continue
        keep.append(i)
        suppressed |= iou[i] > iou_thr
    return order[torch.as_tensor(keep, dtype=torch.long, device=order.device)]


def nms(dets: torch.Tensor | np.ndarray, iou_thr: float, offset: int = 1):
    """Original signature: ``dets (N, 5)`` ``[x1, y1, x2, y2, score]`` -> ``(kept dets, kept indices)``.

    Accepts numpy or torch and answers in the same type.
    """
    is_numpy = isinstance(dets, np.ndarray)
    t = torch.from_numpy(dets) if is_numpy else dets
    if t.dim() != 2 or t.shape[1] != 5:
        raise ValueError(f'nms: dets must be (N, 5) [x1, y1, x2, y2, score], got {tuple(t.shape)}')
    keep = nms_indices(t[:, :4], t[:, 4], iou_thr, offset)
    if is_numpy:
        return dets[keep.numpy()], keep.numpy()
    return t[keep], keep


def batched_nms_indices(boxes: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor, iou_thr: float,
                        offset: int = 0) -> torch.Tensor:
    """NMS within each label at once: boxes of different labels are moved apart so they never overlap."""
    if boxes.numel() == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    span = boxes.max() - boxes.min() + offset + 1
    shifted = boxes + (labels.to(boxes.dtype) * span)[:, None]
    return nms_indices(shifted, scores, iou_thr, offset)


def multiclass_nms(multi_bboxes: torch.Tensor, multi_scores: torch.Tensor, score_thr: float, nms_cfg: dict,
                   max_num: int = -1, score_factors: torch.Tensor | None = None):
    """mmdet-v1 ``multiclass_nms``: NMS per class (column 0 is background and skipped).

    Args:
        multi_bboxes: ``(N, 4)`` shared or ``(N, 4 * num_classes)`` class-specific boxes.
        multi_scores: ``(N, num_classes)``; nms_cfg: ``dict(type='nms', iou_thr=...)``.

    Returns:
        ``dets (k, 5)`` and ``labels (k,)`` (0-based over the foreground classes), best first, ``k <= max_num``.
    """
    num_classes = multi_scores.shape[1]
    cfg = dict(nms_cfg)
    nms_type = cfg.pop('type', 'nms')
    if nms_type != 'nms':
        raise ValueError(f"multiclass_nms: nms type '{nms_type}' is not supported (expected 'nms')")
    iou_thr = float(cfg.pop('iou_thr', 0.5))
    offset = int(cfg.pop('offset', 1))
    if multi_bboxes.shape[1] == 4:
        boxes = multi_bboxes[:, None, :].expand(-1, num_classes - 1, 4)
    else:
        boxes = multi_bboxes.view(multi_bboxes.shape[0], -1, 4)[:, 1:]
    scores = multi_scores[:, 1:]
    if score_factors is not None:
        scores = scores * score_factors[:, None]
    mask = scores > score_thr
    box_sel = boxes[mask]
    score_sel = scores[mask]
    label_sel = mask.nonzero(as_tuple=True)[1]
    keep = batched_nms_indices(box_sel, score_sel, label_sel, iou_thr, offset)
    if max_num > 0:
        keep = keep[:max_num]  # already sorted by score
    dets = torch.cat([box_sel[keep], score_sel[keep, None]], dim=1)
    return dets, label_sel[keep]


def singleclass_nms(multi_bboxes: torch.Tensor, multi_scores: torch.Tensor, score_thr: float, nms_cfg: dict,
                    max_num: int = -1):
    """Class-agnostic NMS on the person column 0 used by the AVA head (multi-label scores ride along).

    Returns ``dets (k, 5)`` with the column-0 score and ``scores (k, num_classes)`` of the kept boxes.
    """
    cfg = dict(nms_cfg)
    cfg.pop('type', None)
    iou_thr = float(cfg.pop('iou_thr', 0.5))
    offset = int(cfg.pop('offset', 1))
    inds = (multi_scores[:, 0] > score_thr).nonzero(as_tuple=True)[0]
    boxes = multi_bboxes[inds, :4]
    keep = nms_indices(boxes, multi_scores[inds, 0], iou_thr, offset)
    if max_num > 0:
        keep = keep[:max_num]
    dets = torch.cat([boxes[keep], multi_scores[inds[keep], :1]], dim=1)
    return dets, multi_scores[inds[keep]]
