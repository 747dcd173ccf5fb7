"""BMN: Boundary-Matching Network for temporal action proposal generation (Lin et al., ICCV 2019).

Input: a video's snippet features rescaled to ``temporal_dim`` steps, ``(B, feat_dim, T)``.
Outputs: start/end probabilities ``(B, T)`` and a boundary-matching confidence map ``(B, 2, D, T)`` whose
entry ``[:, :, d, s]`` scores the proposal that starts at step ``s`` and lasts ``d + 1`` steps (channel 0:
IoU regression, channel 1: IoU>0.9 classification). Settings and post-processing as in mmaction2's published
ActivityNet config (400-d features, T = 100, 32 samples per proposal, Soft-NMS 0.4/0.5/0.9, top 100).
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn

from mmaction.ops.segment_iou import segment_iop, segment_iou
from mmaction.ops.temporal_nms import soft_nms
from mmaction.registry import LOCALIZERS

from .losses import binary_logistic_regression_loss, pem_cls_loss, pem_reg_loss


def _interp_bin_mask(xmin: float, xmax: float, tscale: int, num_samples: int, per_bin: int) -> np.ndarray:
    """``(tscale, num_samples)`` weights that linearly interpolate ``num_samples`` bins of ``[xmin, xmax]``.

    Each bin averages ``per_bin`` evenly spaced points; a point x puts ``1 - frac`` on ``trunc(x)`` and
    ``frac`` on ``ceil(x)``. ``trunc``/``frac`` follow ``math.modf`` (towards zero), so a point in (-1, 0)
    lands wholly on step 0; the released BMN weights were trained with this behaviour, so it is kept.
    """
    points = xmin + (xmax - xmin) / (num_samples * per_bin - 1.0) * np.arange(num_samples * per_bin)
    mask = np.zeros((tscale, num_samples))
    for k, x in enumerate(points):
        frac, down = math.modf(x)
        up, down, col = int(math.ceil(x)), int(down), k // per_bin
        if 0 <= down < tscale:
            mask[down, col] += 1 - frac
        if 0 <= up < tscale:
            mask[up, col] += frac
    return mask / per_bin


def boundary_matching_mask(tscale: int, num_samples: int, per_bin: int, boundary_ratio: float) -> torch.Tensor:
    """The BM layer's sampling matrix ``(T, N * D * T)``: features ``(C, T) @ mask -> (C, N, D, T)``.

    Proposal (start s, duration d+1) samples ``N`` points over ``[s - r*len, s + d + r*len]``, len = d + 1
    (the proposal plus ``boundary_ratio`` context on each side); proposals running past the end are zero.
    """
    mask = np.zeros((tscale, num_samples, tscale, tscale), dtype=np.float32)
    for start in range(tscale):
        for dur in range(tscale - start):
            length = dur + 1.0
            mask[:, :, dur, start] = _interp_bin_mask(start - length * boundary_ratio,
                                                      start + dur + length * boundary_ratio,
                                                      tscale, num_samples, per_bin)
    return torch.from_numpy(mask.reshape(tscale, -1))


@LOCALIZERS.register_module()
class BMN(nn.Module):
    """Boundary-Matching Network.

    Args:
        temporal_dim: T, number of feature steps (features are rescaled to it by the dataset).
        boundary_ratio: context added on each side of a proposal when sampling its BM feature.
        num_samples / num_samples_per_bin: N sample points per proposal and sub-points per point.
        feat_dim: C of the input features.
        soft_nms_*: Soft-NMS parameters; post_process_top_k: proposals kept per video.
        feature_extraction_interval: frames per feature step in the original extraction; the usable video
            duration is ``duration_frame // interval * interval`` frames (the last partial window has no feature).
        hidden_dim_1d/2d/3d: widths of the temporal, 2-D map and 3-D sampling convolutions.
    """

    def __init__(self, temporal_dim: int = 100, boundary_ratio: float = 0.5, num_samples: int = 32,
                 num_samples_per_bin: int = 3, feat_dim: int = 400, soft_nms_alpha: float = 0.4,
                 soft_nms_low_threshold: float = 0.5, soft_nms_high_threshold: float = 0.9,
                 post_process_top_k: int = 100, feature_extraction_interval: int = 16,
                 hidden_dim_1d: int = 256, hidden_dim_2d: int = 128, hidden_dim_3d: int = 512,
                 loss_weights: tuple[float, float, float] = (1.0, 10.0, 1.0), train_cfg=None, test_cfg=None):
        super().__init__()
        self.tscale = temporal_dim
        self.num_samples = num_samples
        self.soft_nms = (soft_nms_alpha, soft_nms_low_threshold, soft_nms_high_threshold)
        self.top_k = post_process_top_k
        self.feature_extraction_interval = feature_extraction_interval
        self.loss_weights = loss_weights
        h1, h2, h3 = hidden_dim_1d, hidden_dim_2d, hidden_dim_3d
        # Base module: grouped temporal convs (groups=4 as in the paper's release, for speed).
        self.x_1d_b = nn.Sequential(nn.Conv1d(feat_dim, h1, 3, padding=1, groups=4), nn.ReLU(inplace=True),
                                    nn.Conv1d(h1, h1, 3, padding=1, groups=4), nn.ReLU(inplace=True))
        self.x_1d_s = nn.Sequential(nn.Conv1d(h1, h1, 3, padding=1, groups=4), nn.ReLU(inplace=True),
                                    nn.Conv1d(h1, 1, 1), nn.Sigmoid())
        self.x_1d_e = nn.Sequential(nn.Conv1d(h1, h1, 3, padding=1, groups=4), nn.ReLU(inplace=True),
                                    nn.Conv1d(h1, 1, 1), nn.Sigmoid())
        self.x_1d_p = nn.Sequential(nn.Conv1d(h1, h1, 3, padding=1), nn.ReLU(inplace=True))
        self.x_3d_p = nn.Sequential(nn.Conv3d(h1, h3, (num_samples, 1, 1)), nn.ReLU(inplace=True))
        self.x_2d_p = nn.Sequential(nn.Conv2d(h3, h2, 1), nn.ReLU(inplace=True),
                                    nn.Conv2d(h2, h2, 3, padding=1), nn.ReLU(inplace=True),
                                    nn.Conv2d(h2, h2, 3, padding=1), nn.ReLU(inplace=True),
                                    nn.Conv2d(h2, 2, 1), nn.Sigmoid())
        self.register_buffer('sample_mask', boundary_matching_mask(temporal_dim, num_samples, num_samples_per_bin,
                                                                   boundary_ratio), persistent=False)
        # bm_mask[d, s] = 1 where the proposal (s, d+1) ends inside the video.
        dur, start = np.meshgrid(np.arange(temporal_dim), np.arange(temporal_dim), indexing='ij')
        self.register_buffer('bm_mask', torch.from_numpy((start + dur < temporal_dim).astype(np.float32)),
                             persistent=False)
        gap = 1.0 / temporal_dim
        # match_map[d * T + s] = (s * gap, (s + d + 1) * gap): the normalised segment of each map entry.
        self.match_map = np.stack([start * gap, (start + dur + 1) * gap], axis=-1).reshape(-1, 2)
        self.anchors_tmins = (np.arange(temporal_dim) - 0.5) * gap
        self.anchors_tmaxs = (np.arange(temporal_dim) + 0.5) * gap

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args, **kwargs) -> None:
        # mmaction2 checkpoints also hold the two masks (mmaction2 0.x: sample_mask, 1.x: both). Here they are
        # non-persistent constants computed from the config, so those entries are dropped rather than reported
        # as unexpected; a subclass that keeps them as state loads them as usual.
        for name in ('sample_mask', 'bm_mask'):
            if name in self._non_persistent_buffers_set:
                state_dict.pop(prefix + name, None)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(B, C, T)`` -> confidence map ``(B, 2, D, T)``, start ``(B, T)``, end ``(B, T)``."""
        if x.dim() != 3 or x.shape[2] != self.tscale:
            raise ValueError(f'BMN expects features (B, feat_dim, {self.tscale}), got {tuple(x.shape)}; '
                             f'rescale features to temporal_dim steps (ActivityNetDataset temporal_scale)')
        base = self.x_1d_b(x)
        start = self.x_1d_s(base).squeeze(1)
        end = self.x_1d_e(base).squeeze(1)
        feat = self.x_1d_p(base)
        b, c, _ = feat.shape
        # Boundary-matching layer: one matmul samples N points for every (duration, start) proposal.
        feat = torch.matmul(feat, self.sample_mask).reshape(b, c, self.num_samples, self.tscale, self.tscale)
        conf = self.x_2d_p(self.x_3d_p(feat).squeeze(2))
        return conf, start, end

    def generate_labels(self, gt_bbox: list) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Targets from normalised GT segments (one ``(G, 2)`` array per video).

        Returns IoU map ``(B, D, T)`` (max tIoU of each map entry with any GT), and start/end targets ``(B, T)``:
        the fraction of each step's anchor covered by a GT boundary region of width 3 steps.
        """
        iou_maps, starts, ends = [], [], []
        pad = 3.0 / self.tscale
        for boxes in gt_bbox:
            boxes = np.asarray(boxes.cpu() if torch.is_tensor(boxes) else boxes, dtype=np.float64).reshape(-1, 2)
            if boxes.shape[0] == 0:
                iou_maps.append(np.zeros((self.tscale, self.tscale)))
                starts.append(np.zeros(self.tscale))
                ends.append(np.zeros(self.tscale))
                continue
            ious = segment_iou(self.match_map[:, None, 0], self.match_map[:, None, 1], boxes[None, :, 0],
                               boxes[None, :, 1])
            iou_maps.append(ious.max(axis=1).reshape(self.tscale, self.tscale))
            for centres, out in ((boxes[:, 0], starts), (boxes[:, 1], ends)):
                out.append(segment_iop(self.anchors_tmins[:, None], self.anchors_tmaxs[:, None],
                                        centres[None] - pad / 2, centres[None] + pad / 2).max(axis=1))
        dev = self.bm_mask.device
        return tuple(torch.as_tensor(np.stack(a), dtype=torch.float32, device=dev) for a in (iou_maps, starts, ends))

    def map_losses(self, conf: torch.Tensor, start: torch.Tensor, end: torch.Tensor, gt_iou: torch.Tensor,
                   gt_start: torch.Tensor, gt_end: torch.Tensor) -> dict[str, torch.Tensor]:
        """The weighted TEM, PEM-regression and PEM-classification losses of predicted maps against targets."""
        gt_iou = gt_iou * self.bm_mask
        w_tem, w_reg, w_cls = self.loss_weights
        tem = binary_logistic_regression_loss(start, gt_start) + binary_logistic_regression_loss(end, gt_end)
        reg = pem_reg_loss(conf[:, 0], gt_iou, self.bm_mask)
        cls = pem_cls_loss(conf[:, 1], gt_iou, self.bm_mask)
        return dict(loss_tem=w_tem * tem, loss_pem_reg=w_reg * reg, loss_pem_cls=w_cls * cls)

    def forward(self, raw_feature: torch.Tensor, gt_bbox: list | None = None, img_meta: list | None = None,
                return_loss: bool = True, **kwargs):
        """Training: dict of losses. Testing: one ``dict(video_name, proposal_list)`` per video."""
        if return_loss:
            if gt_bbox is None:
                raise ValueError('BMN training needs gt_bbox (normalised GT segments per video)')
            conf, start, end = self._forward(raw_feature)
            return self.map_losses(conf, start, end, *self.generate_labels(gt_bbox))
        with torch.no_grad():
            conf, start, end = self._forward(raw_feature)
        metas = img_meta if img_meta is not None else [{} for _ in range(raw_feature.shape[0])]
        return [dict(video_name=meta.get('video_name', str(i)),
                     proposal_list=self.post_process(conf[i].cpu().numpy(), start[i].cpu().numpy(),
                                                     end[i].cpu().numpy(), meta))
                for i, meta in enumerate(metas)]

    def candidate_proposals(self, conf: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Proposals between boundary candidates: ``(P, 7)`` rows (tmin, tmax, s_score, e_score, cls, reg, score).

        A step is a start (end) candidate when it is a local peak of the start (end) probability or above
        half its maximum; the first step is always a start and the last always an end.
        """
        t = self.tscale

        def candidates(p: np.ndarray, first: bool) -> np.ndarray:
            keep = np.zeros(t, dtype=bool)
            inner = np.arange(1, t - 1)
            keep[inner] = ((p[inner] > p[inner + 1]) & (p[inner] > p[inner - 1])) | (p[inner] > 0.5 * p.max())
            keep[0 if first else t - 1] = True
            return keep

        is_start, is_end = candidates(start, True), candidates(end, False)
        dur, s = np.meshgrid(np.arange(t), np.arange(t), indexing='ij')
        e = s + dur + 1
        valid = (e < t) & is_start[s] & is_end[np.minimum(e, t - 1)]
        d_idx, s_idx = np.nonzero(valid)
        e_idx = s_idx + d_idx + 1
        cls, reg = conf[1, d_idx, s_idx], conf[0, d_idx, s_idx]
        score = start[s_idx] * end[e_idx] * cls * reg
        return np.stack([s_idx / t, e_idx / t, start[s_idx], end[e_idx], cls, reg, score], axis=1)

    def post_process(self, conf: np.ndarray, start: np.ndarray, end: np.ndarray, meta: dict) -> list[dict]:
        """Soft-NMS the candidates and convert to ``[{'score', 'segment': [s, e] seconds}]`` (top ``top_k``)."""
        props = self.candidate_proposals(conf, start, end)
        if len(props) > 1:
            props = soft_nms(props, *self.soft_nms, self.top_k)
        props = props[np.argsort(props[:, -1], kind='stable')[::-1]]
        duration = video_duration(meta, self.feature_extraction_interval)
        return [dict(score=float(p[-1]), segment=[float(max(0.0, p[0]) * duration), float(min(1.0, p[1]) * duration)])
                for p in props[:self.top_k]]


def video_duration(meta: dict, interval: int) -> float:
    """Seconds covered by the features: ``duration_frame // interval * interval`` frames of the video
    (1.0 when the meta has no duration, i.e. segments stay normalised)."""
    if 'duration_second' not in meta:
        return 1.0
    frames = float(meta.get('duration_frame', 0))
    if frames <= 0 or interval <= 1:
        return float(meta['duration_second'])
    return float(frames // interval * interval) / frames * float(meta['duration_second'])
