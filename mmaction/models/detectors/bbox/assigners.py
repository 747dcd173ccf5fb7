"""``MaxIoUAssigner`` (mmdet-v1): each proposal gets the ground truth it overlaps most, or negative/ignored."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from mmaction.registry import BBOX_ASSIGNERS

from .transforms import bbox_overlaps


@dataclass
class AssignResult:
    """``gt_inds``: per box ``-1`` ignored, ``0`` negative, ``i >= 1`` assigned to ground truth ``i - 1``."""
    num_gts: int
    gt_inds: torch.Tensor
    max_overlaps: torch.Tensor
    labels: torch.Tensor | None = None

    def add_gt_(self, gt_labels: torch.Tensor | None) -> None:
        """Prepend the ground-truth boxes themselves (each assigned to itself, overlap 1)."""
        self_inds = torch.arange(1, self.num_gts + 1, dtype=torch.long, device=self.gt_inds.device)
        self.gt_inds = torch.cat([self_inds, self.gt_inds])
        self.max_overlaps = torch.cat([self.max_overlaps.new_ones(self.num_gts), self.max_overlaps])
        if self.labels is not None and gt_labels is not None:
            self.labels = torch.cat([gt_labels, self.labels])


@BBOX_ASSIGNERS.register_module()
class MaxIoUAssigner:
    """Positive if IoU >= ``pos_iou_thr``; negative if ``0 <= IoU < neg_iou_thr`` (or inside a
    ``(lo, hi)`` tuple); then every ground truth whose best IoU >= ``min_pos_iou`` takes its best box(es)
    (``gt_max_assign_all``: all boxes tied at that IoU). Boxes with IoF >= ``ignore_iof_thr`` against
    ``gt_bboxes_ignore`` are ignored when ``ignore_iof_thr > 0``."""

    def __init__(self, pos_iou_thr: float, neg_iou_thr: float | tuple[float, float], min_pos_iou: float = 0.0,
                 gt_max_assign_all: bool = True, ignore_iof_thr: float = -1, ignore_wrt_candidates: bool = True):
        self.pos_iou_thr = pos_iou_thr
        self.neg_iou_thr = neg_iou_thr
        self.min_pos_iou = min_pos_iou
        self.gt_max_assign_all = gt_max_assign_all
        self.ignore_iof_thr = ignore_iof_thr
        self.ignore_wrt_candidates = ignore_wrt_candidates

    def assign(self, bboxes: torch.Tensor, gt_bboxes: torch.Tensor, gt_bboxes_ignore: torch.Tensor | None = None,
               gt_labels: torch.Tensor | None = None) -> AssignResult:
        """``bboxes (n, >=4)``, ``gt_bboxes (k, 4)``, ``gt_labels (k, ...)`` -> :class:`AssignResult`."""
        if bboxes.shape[0] == 0 or gt_bboxes.shape[0] == 0:
            raise ValueError(f'MaxIoUAssigner: no boxes or no ground truth ({bboxes.shape[0]} boxes, '
                             f'{gt_bboxes.shape[0]} ground-truth boxes)')
        bboxes = bboxes[:, :4]
        overlaps = bbox_overlaps(gt_bboxes, bboxes)  # (k, n)
        if self.ignore_iof_thr > 0 and gt_bboxes_ignore is not None and gt_bboxes_ignore.numel() > 0:
            if self.ignore_wrt_candidates:
                iofs = bbox_overlaps(bboxes, gt_bboxes_ignore, mode='iof').max(dim=1)[0]
            else:
                iofs = bbox_overlaps(gt_bboxes_ignore, bboxes, mode='iof').max(dim=0)[0]
            overlaps[:, iofs > self.ignore_iof_thr] = -1
        return self.assign_wrt_overlaps(overlaps, gt_labels)

    def assign_wrt_overlaps(self, overlaps: torch.Tensor, gt_labels: torch.Tensor | None = None) -> AssignResult:
        num_gts, num_bboxes = overlaps.shape
        gt_inds = overlaps.new_full((num_bboxes,), -1, dtype=torch.long)
        max_overlaps, argmax_overlaps = overlaps.max(dim=0)
        gt_max_overlaps, gt_argmax_overlaps = overlaps.max(dim=1)
        if isinstance(self.neg_iou_thr, (int, float)):
            gt_inds[(max_overlaps >= 0) & (max_overlaps < self.neg_iou_thr)] = 0
        else:
            lo, hi = self.neg_iou_thr
            gt_inds[(max_overlaps >= lo) & (max_overlaps < hi)] = 0
        pos = max_overlaps >= self.pos_iou_thr
        gt_inds[pos] = argmax_overlaps[pos] + 1
        for i in range(num_gts):  # loop over ground truth (a handful per key-frame), not boxes
            if gt_max_overlaps[i] >= self.min_pos_iou:
                if self.gt_max_assign_all:
                    gt_inds[overlaps[i] == gt_max_overlaps[i]] = i + 1
                else:
                    gt_inds[gt_argmax_overlaps[i]] = i + 1
        labels = None
        if gt_labels is not None:
            labels = gt_labels.new_zeros((num_bboxes,) + tuple(gt_labels.shape[1:]))
            if gt_labels.dim() > 1 and not gt_labels.is_floating_point():
                labels.fill_(-1)  # padded action-id lists: -1 = no action
            assigned = gt_inds > 0
            labels[assigned] = gt_labels[gt_inds[assigned] - 1]
        return AssignResult(num_gts, gt_inds, max_overlaps, labels)
