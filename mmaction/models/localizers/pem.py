"""BSN stage 3, the Proposal Evaluation Module: an MLP scoring each proposal's BSP feature with its tIoU.

Input: BSP features ``(N, pem_feat_dim)`` (``pgm.generate_bsp_feature``). Output: confidence ``(N,)`` in (0, 1),
trained to regress the proposal's best tIoU with the GT. Final score = ``p_start * p_end * confidence``,
then Soft-NMS. Settings as mmaction2's published ActivityNet config (32-d, hidden 256, Soft-NMS 0.75/0.65/0.9).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmaction.ops.temporal_nms import soft_nms
from mmaction.registry import LOCALIZERS

from .bmn import video_duration


def pem_iou_loss(pred: torch.Tensor, iou: torch.Tensor, high: float, low: float, ratio_m: float,
                 ratio_l: float) -> torch.Tensor:
    """Smooth-L1 regression of ``iou`` over all high-IoU proposals plus random middle/low ones: on average
    ``ratio_m`` (``ratio_l``) times as many middle (low) as high ones, so background does not dominate."""
    hmask = (iou > high).float()
    mmask = ((iou <= high) & (iou > low)).float()
    lmask = (iou <= low).float()
    num_h = hmask.sum().clamp(min=1)
    keep_m = mmask * (torch.rand_like(iou) < ratio_m * num_h / mmask.sum().clamp(min=1)).float()
    keep_l = lmask * (torch.rand_like(iou) < ratio_l * num_h / lmask.sum().clamp(min=1)).float()
    weights = hmask + keep_m + keep_l
    loss = F.smooth_l1_loss(pred, iou, reduction='none')
    return (loss * weights).sum() / weights.sum().clamp(min=1)


def _flatten(x, dims: int) -> torch.Tensor:
    """Proposals of several videos as one tensor: a ``dims``-d tensor is kept, a ``dims + 1``-d batch or a
    list of per-video tensors is concatenated along the proposal axis."""
    if isinstance(x, (list, tuple)):
        return torch.cat([torch.as_tensor(v) for v in x], 0)
    x = torch.as_tensor(x)
    return x.flatten(0, 1) if x.dim() == dims + 1 else x


@LOCALIZERS.register_module()
class PEM(nn.Module):
    """Proposal Evaluation Module.

    Args:
        pem_feat_dim / pem_hidden_dim: BSP feature size and hidden width.
        pem_u_ratio_m / pem_u_ratio_l: middle/low-IoU samples per high-IoU sample in the loss.
        pem_high/low_temporal_iou_threshold: the high/middle/low IoU bands.
        soft_nms_*, post_process_top_k: post-processing; feature_extraction_interval: as in BMN.
        fc1_ratio / fc2_ratio: the BSN release scales both layers' outputs by 0.1 (its weights depend on it).
    """

    def __init__(self, pem_feat_dim: int = 32, pem_hidden_dim: int = 256, pem_u_ratio_m: float = 1,
                 pem_u_ratio_l: float = 2, pem_high_temporal_iou_threshold: float = 0.6,
                 pem_low_temporal_iou_threshold: float = 0.2, soft_nms_alpha: float = 0.75,
                 soft_nms_low_threshold: float = 0.65, soft_nms_high_threshold: float = 0.9,
                 post_process_top_k: int = 100, feature_extraction_interval: int = 16, fc1_ratio: float = 0.1,
                 fc2_ratio: float = 0.1, train_cfg=None, test_cfg=None):
        super().__init__()
        self.feat_dim = pem_feat_dim
        self.u_ratio = (pem_u_ratio_m, pem_u_ratio_l)
        self.iou_band = (pem_high_temporal_iou_threshold, pem_low_temporal_iou_threshold)
        self.soft_nms = (soft_nms_alpha, soft_nms_low_threshold, soft_nms_high_threshold)
        self.top_k = post_process_top_k
        self.feature_extraction_interval = feature_extraction_interval
        self.fc_ratio = (fc1_ratio, fc2_ratio)
        self.fc1 = nn.Linear(pem_feat_dim, pem_hidden_dim)
        self.fc2 = nn.Linear(pem_hidden_dim, 1)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, feat_dim)`` -> ``(N,)`` confidence."""
        if x.dim() != 2 or x.shape[1] != self.feat_dim:
            raise ValueError(f'PEM expects BSP features (N, {self.feat_dim}), got {tuple(x.shape)}')
        x = torch.relu(self.fc_ratio[0] * self.fc1(x))
        return torch.sigmoid(self.fc_ratio[1] * self.fc2(x)).squeeze(1)

    def forward(self, bsp_feature, reference_temporal_iou=None, tmin=None, tmax=None, tmin_score=None,
                tmax_score=None, img_meta: list | None = None, return_loss: bool = True, **kwargs):
        """Training: ``bsp_feature`` ``(N, D)``, a batch ``(B, N, D)`` or a list of per-video ``(N_i, D)`` (what the
        collate gives for ``BSNProposalDataset``), with ``reference_temporal_iou`` shaped alike -> ``dict(loss_pem)``.

        Testing: one list entry per video (``bsp_feature`` etc. are per-video arrays, or ``(1, N, D)`` from
        ``tools/test_localizer.py``) -> ``[dict(video_name, proposal_list=[{score, segment}])]``. Without
        ``tmin``/``tmax``/scores, each ``img_meta`` must carry ``pgm_proposals`` ``(N, 4)`` = tmin, tmax,
        tmin_score, tmax_score (``BSNProposalDataset`` in test mode puts them there, since the feature-localizer
        test loop passes only the features and the metas)."""
        if return_loss:
            if reference_temporal_iou is None:
                raise ValueError('PEM training needs reference_temporal_iou (best tIoU of each proposal)')
            feats = _flatten(bsp_feature, 2)
            pred = self._forward(feats)
            iou = _flatten(reference_temporal_iou, 1).to(pred)
            if iou.shape[0] != pred.shape[0]:
                raise ValueError(f'PEM: {pred.shape[0]} BSP features but {iou.shape[0]} reference_temporal_iou values')
            return dict(loss_pem=pem_iou_loss(pred, iou, *self.iou_band, *self.u_ratio))
        metas = img_meta if img_meta is not None else [{} for _ in bsp_feature]
        if tmin is None:
            try:
                cols = [np.asarray(m['pgm_proposals'], dtype=np.float64).reshape(-1, 4) for m in metas]
            except KeyError:
                raise ValueError("PEM testing needs tmin/tmax/tmin_score/tmax_score or img_meta['pgm_proposals'] "
                                 "(use BSNProposalDataset with test_mode=True)") from None
            tmin, tmax, tmin_score, tmax_score = ([c[:, k] for c in cols] for k in range(4))
        results = []
        for i, meta in enumerate(metas):
            with torch.no_grad():
                conf = self._forward(torch.as_tensor(bsp_feature[i], dtype=torch.float32,
                                                     device=self.fc1.weight.device)).cpu().numpy()
            props = np.stack([np.asarray(tmin[i]), np.asarray(tmax[i]),
                              np.asarray(tmin_score[i]) * np.asarray(tmax_score[i]) * conf], axis=1)
            results.append(dict(video_name=meta.get('video_name', str(i)),
                                proposal_list=self.post_process(props, meta)))
        return results

    def post_process(self, props: np.ndarray, meta: dict) -> list[dict]:
        """Soft-NMS ``(P, 3)`` normalised ``(tmin, tmax, score)`` -> ``[{'score', 'segment': seconds}]``."""
        if len(props) > 1:
            props = soft_nms(props, *self.soft_nms, self.top_k)
        props = props[np.argsort(-props[:, -1], kind='stable')][:self.top_k]
        duration = video_duration(meta, self.feature_extraction_interval)
        return [dict(score=float(p[2]), segment=[float(max(0.0, p[0]) * duration), float(min(1.0, p[1]) * duration)])
                for p in props]
