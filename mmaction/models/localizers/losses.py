"""Losses of the feature-based proposal generators (BSN TEM/PEM, BMN), as in their papers and mmaction2.

All take probabilities (after sigmoid), not logits; ``eps`` keeps ``log`` finite.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def _balance_coefs(num_entries: torch.Tensor, num_positive: torch.Tensor,
                   ratio_range: tuple[float, float]) -> tuple[torch.Tensor, torch.Tensor]:
    # Weights positives by r/2 and negatives by r/(2(r-1)), r = entries/positives, so that both sides weigh
    # the same in expectation; r is clamped so a video with one positive does not explode the loss.
    ratio = torch.clamp(num_entries / num_positive, ratio_range[0], ratio_range[1])
    return 0.5 * ratio / (ratio - 1), 0.5 * ratio


def binary_logistic_regression_loss(score: torch.Tensor, label: torch.Tensor, threshold: float = 0.5,
                                    ratio_range: tuple[float, float] = (1.05, 21), eps: float = 1e-5) -> torch.Tensor:
    """Class-balanced BCE over all entries of ``score`` (any shape); positives are ``label > threshold``."""
    score = score.reshape(-1)
    label = label.reshape(-1).to(score.device)
    pmask = (label > threshold).float()
    num_positive = torch.clamp(pmask.sum(), min=1)
    coef_0, coef_1 = _balance_coefs(torch.tensor(float(label.numel()), device=score.device), num_positive,
                                    ratio_range)
    loss = coef_1 * pmask * torch.log(score + eps) + coef_0 * (1.0 - pmask) * torch.log(1.0 - score + eps)
    return -loss.mean()


def pem_reg_loss(pred: torch.Tensor, gt_iou: torch.Tensor, mask: torch.Tensor, high: float = 0.7,
                 low: float = 0.3) -> torch.Tensor:
    """L2 regression of the IoU map, sampling as many middle/low-IoU entries as high-IoU ones (at random)."""
    hmask = (gt_iou > high).float()
    mmask = ((gt_iou <= high) & (gt_iou > low)).float()
    lmask = ((gt_iou <= low) & (gt_iou > 0.0)).float() * mask
    num_h, num_m, num_l = hmask.sum(), mmask.sum(), lmask.sum()
    # Keep each middle (low) entry with probability num_h / num_m (num_h / num_l).
    keep_m = (mmask * torch.rand_like(gt_iou) > 1.0 - num_h / num_m.clamp(min=1)).float()
    keep_l = (lmask * torch.rand_like(gt_iou) > 1.0 - num_h / num_l.clamp(min=1)).float()
    weights = hmask + keep_m + keep_l
    loss = F.mse_loss(pred * weights, gt_iou * weights, reduction='sum')
    return 0.5 * loss / weights.sum().clamp(min=1)


def pem_cls_loss(pred: torch.Tensor, gt_iou: torch.Tensor, mask: torch.Tensor, threshold: float = 0.9,
                 ratio_range: tuple[float, float] = (1.05, 21), eps: float = 1e-5) -> torch.Tensor:
    """Class-balanced BCE of the IoU map against ``gt_iou > threshold`` over the valid (``mask``) entries."""
    pmask = (gt_iou > threshold).float()
    nmask = (gt_iou <= threshold).float() * mask
    num_positive = torch.clamp(pmask.sum(), min=1)
    num_entries = num_positive + nmask.sum()
    coef_0, coef_1 = _balance_coefs(num_entries, num_positive, ratio_range)
    loss = coef_1 * torch.log(pred + eps) * pmask + coef_0 * torch.log(1.0 - pred + eps) * nmask
    return -loss.sum() / num_entries
