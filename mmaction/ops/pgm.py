"""BSN stage 2, Proposal Generation Module (numpy): boundary candidates -> proposals -> boundary-sensitive features.

Input is a TEM result ``(T, 5)`` with columns ``action, start, end, tmin, tmax`` (see ``tem.py``).

* :func:`generate_candidate_proposals`: a step is a start (end) candidate when its start (end) probability is a
  local peak or above ``peak_threshold`` x the video's maximum; the first and last steps always are. Every
  (start candidate, later end candidate) pair is a proposal ``[tmin, tmax]`` scored ``p_start * p_end``.
* :func:`generate_bsp_feature`: the Boundary-Sensitive Proposal feature of each proposal: the actionness curve
  sampled at ``num_sample_start`` points over the start region, ``num_sample_action`` points over the proposal
  and ``num_sample_end`` points over the end region (regions ``bsp_boundary_ratio`` x length wide, centred on
  the boundaries). Each point averages ``num_sample_interp + 1`` linearly interpolated sub-points; actionness
  is zero outside the video. Dimension ``start + action + end`` (32 with the published settings).
"""
from __future__ import annotations

import numpy as np

from .segment_iou import segment_iop, segment_iou

PROPOSAL_COLUMNS = ('tmin', 'tmax', 'tmin_score', 'tmax_score', 'score', 'match_iou', 'match_ioa')


def boundary_candidates(prob: np.ndarray, peak_threshold: float) -> np.ndarray:
    """Boolean mask of candidate steps of a start or end probability curve ``(T,)``."""
    prob = np.asarray(prob, dtype=np.float64)
    keep = np.zeros(prob.shape[0], dtype=bool)
    keep[[0, -1]] = True
    inner = np.arange(1, prob.shape[0] - 1)
    keep[inner] = ((prob[inner] > prob[inner - 1]) & (prob[inner] > prob[inner + 1])) | \
        (prob[inner] > peak_threshold * prob.max())
    return keep


def generate_candidate_proposals(tem_output: np.ndarray, peak_threshold: float = 0.5,
                                 gt_segments: np.ndarray | None = None) -> np.ndarray:
    """Proposals ``(P, 7)`` (columns :data:`PROPOSAL_COLUMNS`) sorted by score, best first.

    ``gt_segments``: normalised ``(G, 2)`` GT; ``match_iou``/``match_ioa`` are the best tIoU / intersection over
    proposal with any GT (the PEM regression targets; zero without GT).
    """
    tem = np.asarray(tem_output, dtype=np.float64)
    if tem.ndim != 2 or tem.shape[1] != 5:
        raise ValueError(f'TEM output must be (T, 5) [action, start, end, tmin, tmax], got {tem.shape}')
    starts = np.flatnonzero(boundary_candidates(tem[:, 1], peak_threshold))
    ends = np.flatnonzero(boundary_candidates(tem[:, 2], peak_threshold))
    s, e = np.meshgrid(starts, ends, indexing='ij')
    s, e = s.ravel(), e.ravel()
    tmin, tmax = tem[s, 3], tem[e, 4]
    valid = tmin < tmax
    s, e, tmin, tmax = s[valid], e[valid], tmin[valid], tmax[valid]
    s_score, e_score = tem[s, 1], tem[e, 2]
    iou = np.zeros_like(tmin)
    ioa = np.zeros_like(tmin)
    gt = np.asarray(gt_segments, dtype=np.float64).reshape(-1, 2) if gt_segments is not None else np.zeros((0, 2))
    if gt.shape[0]:
        iou = segment_iou(tmin[:, None], tmax[:, None], gt[None, :, 0], gt[None, :, 1]).max(axis=1)
        ioa = segment_iop(tmin[:, None], tmax[:, None], gt[None, :, 0], gt[None, :, 1]).max(axis=1)
    props = np.stack([tmin, tmax, s_score, e_score, s_score * e_score, iou, ioa], axis=1)
    return props[np.argsort(-props[:, 4], kind='stable')]


def _region_samples(curve_x: np.ndarray, curve_y: np.ndarray, lo: np.ndarray, hi: np.ndarray, num: int,
                    interp: int) -> np.ndarray:
    """``(P, num)``: mean of ``interp + 1`` interpolated sub-points per sample over each ``[lo, hi]``."""
    frac = np.arange(num * interp + 1) / float(num * interp)
    points = lo[:, None] + (hi - lo)[:, None] * frac[None]
    values = np.interp(points, curve_x, curve_y)
    idx = np.arange(num)[:, None] * interp + np.arange(interp + 1)[None]   # overlapping windows of sub-points
    return values[:, idx].mean(axis=2)


def generate_bsp_feature(tem_output: np.ndarray, proposals: np.ndarray, top_k: int = 1000,
                         bsp_boundary_ratio: float = 0.2, num_sample_start: int = 8, num_sample_end: int = 8,
                         num_sample_action: int = 16, num_sample_interp: int = 3) -> np.ndarray:
    """BSP features ``(min(P, top_k), start + action + end)`` float32 of the first ``top_k`` proposals."""
    tem = np.asarray(tem_output, dtype=np.float64)
    props = np.asarray(proposals, dtype=np.float64)[:top_k]
    if props.shape[0] == 0:
        return np.zeros((0, num_sample_start + num_sample_action + num_sample_end), dtype=np.float32)
    gap = tem[0, 4] - tem[0, 3]
    t = tem.shape[0]
    # actionness at step centres, extended with zeros a quarter video (+10 steps) on each side as BSN does
    pad = t // 4 + 10
    centres = (np.arange(-pad, t + pad) + 0.5) * gap + tem[0, 3]
    action = np.concatenate([np.zeros(pad), tem[:, 0], np.zeros(pad)])
    tmin, tmax = props[:, 0], props[:, 1]
    half = (tmax - tmin) * bsp_boundary_ratio / 2.0
    start = _region_samples(centres, action, tmin - half, tmin + half, num_sample_start, num_sample_interp)
    inside = _region_samples(centres, action, tmin, tmax, num_sample_action, num_sample_interp)
    end = _region_samples(centres, action, tmax - half, tmax + half, num_sample_end, num_sample_interp)
    return np.concatenate([start, inside, end], axis=1).astype(np.float32)


def pgm_for_video(tem_output: np.ndarray, pgm_proposals_cfg: dict, pgm_features_cfg: dict,
                  gt_segments: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """PGM of one video: proposals ``(P, 7)`` (top ``top_k``) and their BSP features ``(P, D)``."""
    props = generate_candidate_proposals(tem_output, pgm_proposals_cfg.get('peak_threshold', 0.5), gt_segments)
    feat_cfg = {k: v for k, v in pgm_features_cfg.items() if k != 'pgm_features_thread'}
    feats = generate_bsp_feature(tem_output, props, **feat_cfg)
    return props[:feats.shape[0]], feats
