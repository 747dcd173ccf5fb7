"""Box transforms. Pixel boxes follow the mmdet-v1 convention of the original (inclusive corners: width
``x2 - x1 + 1``; a horizontal flip in an image of width ``W`` maps ``x`` to ``W - x - 1``)."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from mmaction.ops.nms import box_iou


def bbox_overlaps(bboxes1: torch.Tensor, bboxes2: torch.Tensor, mode: str = 'iou', offset: int = 1) -> torch.Tensor:
    """``(N, M)`` IoU (or IoF: intersection over the area of ``bboxes1``) with the legacy ``+1`` areas."""
    if mode == 'iou':
        return box_iou(bboxes1[:, :4], bboxes2[:, :4], offset)
    if mode != 'iof':
        raise ValueError(f"bbox_overlaps: mode must be 'iou' or 'iof', got {mode!r}")
    lt = torch.maximum(bboxes1[:, None, :2], bboxes2[None, :, :2])
    rb = torch.minimum(bboxes1[:, None, 2:4], bboxes2[None, :, 2:4])
    wh = (rb - lt + offset).clamp(min=0)
    area1 = (bboxes1[:, 2] - bboxes1[:, 0] + offset) * (bboxes1[:, 3] - bboxes1[:, 1] + offset)
    return wh[..., 0] * wh[..., 1] / area1[:, None].clamp(min=1e-6)


def bbox_flip(bboxes: torch.Tensor, img_width: int) -> torch.Tensor:
    """Flip ``(N, 4k)`` boxes horizontally in an image ``img_width`` pixels wide (an involution)."""
    flipped = bboxes.clone()
    flipped[..., 0::4] = img_width - bboxes[..., 2::4] - 1
    flipped[..., 2::4] = img_width - bboxes[..., 0::4] - 1
    return flipped


def bbox2roi(bbox_list: Sequence[torch.Tensor]) -> torch.Tensor:
    """Per-image ``(n_i, >=4)`` boxes -> ``(sum n_i, 5)`` rois ``[image_index, x1, y1, x2, y2]``."""
    rois = []
    for img_id, bboxes in enumerate(bbox_list):
        idx = bboxes.new_full((bboxes.shape[0], 1), img_id)
        rois.append(torch.cat([idx, bboxes[:, :4]], dim=1))
    return torch.cat(rois, 0) if rois else torch.zeros(0, 5)


def labels_to_multihot(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``(k, L)`` action-id lists padded with -1 (or an already multi-hot ``(k, num_classes)`` float) ->
    ``(k, num_classes)`` float multi-hot. Column 0 (person) is 1 for every ground-truth box."""
    if labels.is_floating_point():
        return labels
    if labels.dim() == 1:
        labels = labels[:, None]
    out = torch.zeros(labels.shape[0], num_classes, device=labels.device)
    valid = labels >= 1
    if (labels[valid] >= num_classes).any():
        raise ValueError(f'labels_to_multihot: action id {int(labels[valid].max())} >= num_classes {num_classes}')
    rows = torch.arange(labels.shape[0], device=labels.device)[:, None].expand_as(labels)
    out[rows[valid], labels[valid]] = 1.0
    out[:, 0] = 1.0
    return out


def bbox2result_multilabel(bboxes: torch.Tensor, scores: torch.Tensor, num_classes: int,
                           thr: float = 0.0) -> list[np.ndarray]:
    """Split ``bboxes (k, >=4)`` with multi-label ``scores (k, num_classes)`` into ``num_classes - 1`` arrays
    ``(n, 5)`` ``[x1, y1, x2, y2, score]`` (class ``i`` of the list is column ``i + 1``), keeping ``score > thr``."""
    boxes = bboxes[:, :4].detach().cpu().float().numpy()
    sc = scores.detach().cpu().float().numpy()
    out = []
    for c in range(1, num_classes):
        keep = sc[:, c] > thr
        out.append(np.concatenate([boxes[keep], sc[keep, c:c + 1]], axis=1).astype(np.float32))
    return out
