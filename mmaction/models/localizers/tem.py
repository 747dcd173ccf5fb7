"""BSN stage 1, the Temporal Evaluation Module (Lin et al., "BSN", ECCV 2018).

Input: snippet features rescaled to ``temporal_dim`` steps, ``(B, feat_dim, T)``. Three 1-D convolutions give,
per step, the probabilities that the step is inside an action, an action start, an action end:
``(B, 3, T)``. Step ``i`` spans ``[i / T, (i + 1) / T]`` of the normalised sequence.
Settings as mmaction2's published ActivityNet config (400-d features, T = 100, hidden 512, boundary ratio 0.1).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from mmaction.ops.segment_iou import segment_iop
from mmaction.registry import LOCALIZERS

from .losses import binary_logistic_regression_loss


@LOCALIZERS.register_module()
class TEM(nn.Module):
    """Temporal Evaluation Module.

    Args:
        temporal_dim: T, steps of the (rescaled) feature sequence.
        boundary_ratio: a GT boundary region is ``max(1 / T, boundary_ratio * GT length)`` wide.
        tem_feat_dim / tem_hidden_dim: input channels and width of the two hidden convolutions.
        tem_match_threshold: targets above it are positives in the class-balanced logistic loss.
        loss_weights: weights of the action, start and end losses.
        conv1_ratio / conv2_ratio / conv3_ratio: scales of each convolution's output before its activation (the
            BSN release's 1, 1, 0.01; its weights depend on them); output_dim: channels of the last convolution.
    """

    def __init__(self, temporal_dim: int = 100, boundary_ratio: float = 0.1, tem_feat_dim: int = 400,
                 tem_hidden_dim: int = 512, tem_match_threshold: float = 0.5,
                 loss_weights: tuple[float, float, float] = (1.0, 1.0, 1.0), train_cfg=None, test_cfg=None,
                 conv1_ratio: float = 1.0, conv2_ratio: float = 1.0, conv3_ratio: float = 0.01, output_dim: int = 3):
        super().__init__()
        self.tscale = temporal_dim
        self.boundary_ratio = boundary_ratio
        self.match_threshold = tem_match_threshold
        self.loss_weights = loss_weights
        self.conv_ratios = (conv1_ratio, conv2_ratio, conv3_ratio)
        self.conv1 = nn.Conv1d(tem_feat_dim, tem_hidden_dim, 3, padding=1)
        self.conv2 = nn.Conv1d(tem_hidden_dim, tem_hidden_dim, 3, padding=1)
        self.conv3 = nn.Conv1d(tem_hidden_dim, output_dim, 1)
        gap = 1.0 / temporal_dim
        self.anchors_tmins = np.arange(temporal_dim) * gap
        self.anchors_tmaxs = (np.arange(temporal_dim) + 1) * gap

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, T)`` -> ``(B, output_dim, T)`` probabilities (action, start, end)."""
        if x.dim() != 3 or x.shape[2] != self.tscale:
            raise ValueError(f'TEM expects features (B, feat_dim, {self.tscale}), got {tuple(x.shape)}; '
                             f'rescale features to temporal_dim steps (ActivityNetDataset temporal_scale)')
        r1, r2, r3 = self.conv_ratios
        x = torch.relu(r1 * self.conv1(x))
        x = torch.relu(r2 * self.conv2(x))
        # The 0.01 logit scale of the BSN release keeps initial outputs near 0.5 (its weights depend on it).
        return torch.sigmoid(r3 * self.conv3(x))

    def generate_labels(self, gt_bbox: list) -> torch.Tensor:
        """Targets ``(B, 3, T)``: the fraction of each step covered by a GT action / start region / end region."""
        out = []
        gap = 1.0 / self.tscale
        for boxes in gt_bbox:
            boxes = np.asarray(boxes.cpu() if torch.is_tensor(boxes) else boxes, dtype=np.float64).reshape(-1, 2)
            if boxes.shape[0] == 0:
                out.append(np.zeros((3, self.tscale)))
                continue
            pad = np.maximum(gap, self.boundary_ratio * (boxes[:, 1] - boxes[:, 0]))[None]
            lo, hi = self.anchors_tmins[:, None], self.anchors_tmaxs[:, None]
            action = segment_iop(lo, hi, boxes[None, :, 0], boxes[None, :, 1]).max(axis=1)
            start = segment_iop(lo, hi, boxes[None, :, 0] - pad / 2, boxes[None, :, 0] + pad / 2).max(axis=1)
            end = segment_iop(lo, hi, boxes[None, :, 1] - pad / 2, boxes[None, :, 1] + pad / 2).max(axis=1)
            out.append(np.stack([action, start, end]))
        return torch.as_tensor(np.stack(out), dtype=torch.float32, device=self.conv3.weight.device)

    def score_losses(self, pred: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """The weighted action/start/end losses of ``pred`` against ``generate_labels``' targets."""
        names = ('loss_action', 'loss_start', 'loss_end')
        return {n: w * binary_logistic_regression_loss(pred[:, k], target[:, k], self.match_threshold)
                for k, (n, w) in enumerate(zip(names, self.loss_weights))}

    def forward(self, raw_feature: torch.Tensor, gt_bbox: list | None = None, img_meta: list | None = None,
                return_loss: bool = True, **kwargs):
        """Training: dict of losses. Testing: one ``dict(video_name, tem_output)`` per video, ``tem_output``
        ``(T, 5)`` float32 columns ``action, start, end, tmin, tmax`` (the TEM result CSV of BSN)."""
        if return_loss:
            if gt_bbox is None:
                raise ValueError('TEM training needs gt_bbox (normalised GT segments per video)')
            return self.score_losses(self._forward(raw_feature), self.generate_labels(gt_bbox))
        with torch.no_grad():
            pred = self._forward(raw_feature).cpu().numpy()
        metas = img_meta if img_meta is not None else [{} for _ in range(raw_feature.shape[0])]
        return [dict(video_name=meta.get('video_name', str(i)), tem_output=np.concatenate(
                    [pred[i].T, self.anchors_tmins[:, None], self.anchors_tmaxs[:, None]], axis=1).astype(np.float32))
                for i, meta in enumerate(metas)]
