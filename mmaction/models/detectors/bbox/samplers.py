"""``RandomSampler`` (mmdet-v1): a random subset of positive and negative boxes for the RoI head."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from mmaction.registry import BBOX_SAMPLERS

from .assigners import AssignResult


@dataclass
class SamplingResult:
    """Sampled positives first, then negatives: ``bboxes`` ``(n_pos + n_neg, 4)``; ``pos_assigned_gt_inds``
    index the image's ground truth; ``pos_is_gt`` flags ground-truth boxes added as proposals."""
    pos_inds: torch.Tensor
    neg_inds: torch.Tensor
    pos_bboxes: torch.Tensor
    neg_bboxes: torch.Tensor
    pos_assigned_gt_inds: torch.Tensor
    pos_is_gt: torch.Tensor

    @property
    def bboxes(self) -> torch.Tensor:
        return torch.cat([self.pos_bboxes, self.neg_bboxes])


@BBOX_SAMPLERS.register_module()
class RandomSampler:
    """Sample ``num`` boxes, at most ``num * pos_fraction`` positives; negatives fill the rest, capped at
    ``neg_pos_ub * max(1, n_pos)`` when ``neg_pos_ub >= 0``; ground truth joins the candidates when
    ``add_gt_as_proposals``."""

    def __init__(self, num: int, pos_fraction: float, neg_pos_ub: int = -1, add_gt_as_proposals: bool = True,
                 generator: torch.Generator | None = None):
        self.num = num
        self.pos_fraction = pos_fraction
        self.neg_pos_ub = neg_pos_ub
        self.add_gt_as_proposals = add_gt_as_proposals
        self.generator = generator

    def _choice(self, inds: torch.Tensor, num: int) -> torch.Tensor:
        if inds.numel() <= num:
            return inds
        perm = torch.randperm(inds.numel(), generator=self.generator)[:num].to(inds.device)
        return inds[perm]

    def sample(self, assign_result: AssignResult, bboxes: torch.Tensor, gt_bboxes: torch.Tensor,
               gt_labels: torch.Tensor | None = None) -> SamplingResult:
        bboxes = bboxes[:, :4]
        gt_flags = torch.zeros(bboxes.shape[0], dtype=torch.bool, device=bboxes.device)
        if self.add_gt_as_proposals and gt_bboxes.numel() > 0:
            bboxes = torch.cat([gt_bboxes[:, :4].to(bboxes.dtype), bboxes])
            assign_result.add_gt_(gt_labels)
            gt_flags = torch.cat([torch.ones(gt_bboxes.shape[0], dtype=torch.bool, device=bboxes.device), gt_flags])
        num_pos = int(self.num * self.pos_fraction)
        pos_inds = self._choice((assign_result.gt_inds > 0).nonzero(as_tuple=True)[0], num_pos).unique()
        num_neg = self.num - pos_inds.numel()
        if self.neg_pos_ub >= 0:
            num_neg = min(num_neg, int(self.neg_pos_ub * max(1, pos_inds.numel())))
        neg_inds = self._choice((assign_result.gt_inds == 0).nonzero(as_tuple=True)[0], num_neg).unique()
        return SamplingResult(pos_inds, neg_inds, bboxes[pos_inds], bboxes[neg_inds],
                              assign_result.gt_inds[pos_inds] - 1, gt_flags[pos_inds])
