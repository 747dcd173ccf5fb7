"""SSN losses (v0 §8): OHEM hinge completeness loss and class-wise boundary regression loss."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def ohem_hinge_loss(scores: torch.Tensor, labels: torch.Tensor, sign: float, ratio: float,
                    group_size: int) -> torch.Tensor:
    """Sum over groups of the ``int(group_size * ratio)`` largest ``max(0, 1 - sign * score[label - 1])``.

    scores ``(G * group_size, K)``, labels ``(G * group_size,)`` 1-based. Only kept entries get gradient.
    """
    picked = scores.gather(1, (labels.long() - 1).clamp(min=0)[:, None]).squeeze(1)
    losses = (1 - sign * picked).clamp(min=0).reshape(-1, group_size)
    keep = int(group_size * ratio)
    if keep <= 0:
        return losses.sum() * 0
    return losses.topk(keep, dim=1).values.sum()


def completeness_loss(scores: torch.Tensor, labels: torch.Tensor, num_pos: int, group_size: int,
                      ohem_ratio: float = 0.17) -> torch.Tensor:
    """OHEM completeness loss over groups of ``group_size`` proposals (one group per video), the first
    ``num_pos`` positive (complete, target +1), the rest incomplete (target -1, only the hardest
    ``int(neg * ohem_ratio)`` per group kept). Normalised by the number of kept entries.
    """
    k = scores.shape[1]
    scores = scores.reshape(-1, group_size, k)
    labels = labels.reshape(-1, group_size)
    neg = group_size - num_pos
    pos_loss = ohem_hinge_loss(scores[:, :num_pos].reshape(-1, k), labels[:, :num_pos].reshape(-1), 1.0, 1.0,
                               num_pos)
    neg_loss = ohem_hinge_loss(scores[:, num_pos:].reshape(-1, k), labels[:, num_pos:].reshape(-1), -1.0,
                               ohem_ratio, neg)
    count = scores.shape[0] * num_pos + int(scores.shape[0] * neg * ohem_ratio)
    return (pos_loss + neg_loss) / max(count, 1)


def classwise_regression_loss(bbox_pred: torch.Tensor, labels: torch.Tensor,
                              targets: torch.Tensor) -> torch.Tensor:
    """``2 * SmoothL1`` between the GT class's ``(center, log-duration)`` outputs ``bbox_pred[i, label_i - 1]``
    (``(N, K, 2)``) and ``targets (N, 2)``."""
    pred = bbox_pred[torch.arange(bbox_pred.shape[0], device=bbox_pred.device), labels.long() - 1]
    return 2 * F.smooth_l1_loss(pred.reshape(-1), targets.reshape(-1).to(pred))
