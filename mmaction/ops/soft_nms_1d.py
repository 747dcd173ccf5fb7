"""Class-aware Soft-NMS and score voting for 1-D segments in pure PyTorch (ActionFormer / TriDet post-processing).

The numpy ``temporal_nms.soft_nms`` serves BSN/BMN (class-agnostic proposals, width-adaptive threshold); the
one-stage detectors need the plain Gaussian/linear/hard variants run per class on GPU or CPU tensors.
"""
from __future__ import annotations

import torch


def segment_iou_matrix(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``(N, M)`` tIoU of segments ``a (N, 2)`` and ``b (M, 2)``; union = sum of lengths - intersection."""
    inter = (torch.minimum(a[:, None, 1], b[None, :, 1]) - torch.maximum(a[:, None, 0], b[None, :, 0])).clamp(min=0)
    union = (a[:, 1] - a[:, 0])[:, None] + (b[:, 1] - b[:, 0])[None] - inter
    return inter / union.clamp(min=torch.finfo(inter.dtype).eps)


def batched_soft_nms(segments: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor, iou_threshold: float,
                     sigma: float, min_score: float, max_num: int,
                     method: str = 'gaussian') -> tuple[torch.Tensor, torch.Tensor]:
    """Soft-NMS run independently per label, results merged by decayed score.

    Repeatedly select the highest remaining score; every remaining segment *of the same label* is decayed by
    ``exp(-iou^2 / sigma)`` (``gaussian``, all overlaps), ``1 - iou`` (``linear``, iou >= ``iou_threshold``) or
    removed (``hard``, iou >= ``iou_threshold``); segments whose score falls below ``min_score`` are dropped.
    A selected score never decays again and the remaining ones only decrease, so selection order is
    non-increasing in final score and stopping after ``max_num`` selections equals "run to the end, keep the
    top ``max_num``" (what the per-class loops of the reference implementations do).

    Args:
        segments: ``(N, 2)`` start, end. scores: ``(N,)``. labels: ``(N,)`` integer classes.
    Returns:
        indices ``(K,)`` of the kept segments and their decayed scores ``(K,)``, best first, ``K <= max_num``.
    """
    if method not in ('gaussian', 'linear', 'hard'):
        raise ValueError(f"soft-NMS method must be 'gaussian', 'linear' or 'hard', got {method!r}")
    if segments.dim() != 2 or segments.shape[-1] != 2 or scores.shape != segments.shape[:1] \
            or labels.shape != scores.shape:
        raise ValueError(f'batched_soft_nms expects segments (N, 2), scores (N,), labels (N,); got '
                         f'{tuple(segments.shape)}, {tuple(scores.shape)}, {tuple(labels.shape)}')
    scores = scores.clone().float()
    alive = scores >= min_score
    keep = []
    while len(keep) < max_num and bool(alive.any()):
        best = int(torch.where(alive, scores, scores.new_tensor(-1.0)).argmax())
        keep.append(best)
        alive[best] = False
        others = alive & (labels == labels[best])
        if not bool(others.any()):
            continue
        iou = segment_iou_matrix(segments[best:best + 1].float(), segments.float())[0]
        if method == 'gaussian':
            decay = torch.exp(-iou.square() / sigma)
        elif method == 'linear':
            decay = torch.where(iou >= iou_threshold, 1.0 - iou, torch.ones_like(iou))
        else:
            decay = torch.where(iou >= iou_threshold, torch.zeros_like(iou), torch.ones_like(iou))
        scores = torch.where(others, scores * decay, scores)
        alive &= scores >= min_score
    idx = torch.tensor(keep, dtype=torch.long, device=segments.device)
    return idx, scores[idx]


def segment_voting(kept: torch.Tensor, kept_labels: torch.Tensor, candidates: torch.Tensor,
                   candidate_scores: torch.Tensor, candidate_labels: torch.Tensor,
                   iou_threshold: float) -> torch.Tensor:
    """Refine each kept segment to the mean of the same-label candidates (pre-NMS) that overlap it by tIoU >=
    ``iou_threshold``, weighted by ``score * tIoU`` (the kept segment's own candidate is among them, so the mean
    is defined). Pass equal labels for class-agnostic voting."""
    if kept.numel() == 0:
        return kept
    iou = segment_iou_matrix(kept.float(), candidates.float())
    weights = (iou >= iou_threshold) & (kept_labels[:, None] == candidate_labels[None])
    weights = weights.float() * candidate_scores.float()[None] * iou
    norm = weights.sum(1, keepdim=True)
    refined = weights @ candidates.float() / norm.clamp(min=1e-12)
    return torch.where(norm > 0, refined, kept.float()).to(kept.dtype)
