"""Pieces shared by the one-stage temporal action detectors (ActionFormer, TriDet).

Conventions: features are ``(B, C, T)`` with a boolean validity mask ``(B, 1, T)`` (padding is False). Time is
measured in *feature steps* of the input sequence: point ``t`` of pyramid level ``l`` (stride ``s = 2**l``)
sits at step ``t * s``. A segment ``(start, end)`` in steps maps to seconds as
``(step * feat_stride + num_frames / 2) / fps`` (feature ``t`` is centred on frame ``t * feat_stride +
num_frames / 2``), the convention of the public THUMOS14 / ActivityNet feature releases.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmaction.ops.soft_nms_1d import batched_soft_nms, segment_voting


class MaskedConv1d(nn.Conv1d):
    """``Conv1d`` whose output is zeroed outside the (strided) mask: ``(B, C, T), (B, 1, T) -> (B, C', T/s)``."""

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        stride = self.stride[0]
        if x.shape[-1] % stride:
            raise ValueError(f'sequence length {x.shape[-1]} is not divisible by the conv stride {stride}')
        out_mask = mask[:, :, ::stride]
        return super().forward(x) * out_mask.to(x.dtype), out_mask


class ChannelLayerNorm(nn.LayerNorm):
    """LayerNorm over the channels of ``(B, C, T)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


class LayerScaleDropPath(nn.Module):
    """Stochastic depth on a residual branch with a learnable per-channel scale (initialised small, so deep
    pyramids start close to identity): ``(B, C, T) -> (B, C, T)``."""

    def __init__(self, channels: int, drop_prob: float, init_scale: float = 1e-4):
        super().__init__()
        self.scale = nn.Parameter(init_scale * torch.ones(1, channels, 1))
        self.drop_prob = drop_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.scale * x
        if not self.training or self.drop_prob == 0:
            return x
        keep = 1.0 - self.drop_prob
        return x * x.new_empty(x.shape[0], 1, 1).bernoulli_(keep) / keep


def residual_branch(channels: int, drop_path: float) -> nn.Module:
    return LayerScaleDropPath(channels, drop_path) if drop_path > 0 else nn.Identity()


class Scale(nn.Module):
    """A learnable scalar (one per pyramid level) on the regression output."""

    def __init__(self, init: float = 1.0):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(float(init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


class ConvHead(nn.Module):
    """Conv head shared by all pyramid levels: ``(num_layers - 1)`` x [masked conv k3, LN, ReLU], then a
    masked conv to ``out_channels``. ``prior_prob`` sets the output bias so sigmoid starts at it (focal loss)."""

    def __init__(self, in_channels: int, hidden: int, out_channels: int, num_layers: int = 3, kernel_size: int = 3,
                 prior_prob: float | None = None):
        super().__init__()
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        for k in range(num_layers - 1):
            self.convs.append(MaskedConv1d(in_channels if k == 0 else hidden, hidden, kernel_size,
                                           padding=kernel_size // 2, bias=False))
            self.norms.append(ChannelLayerNorm(hidden))
        self.out = MaskedConv1d(hidden if num_layers > 1 else in_channels, out_channels, kernel_size,
                                padding=kernel_size // 2)
        if prior_prob is not None:
            nn.init.constant_(self.out.bias, -torch.log(torch.tensor((1 - prior_prob) / prior_prob)).item())

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # LayerNorm maps padding to its bias; zero it so the k3 convs see the same border as an unpadded input
        m = mask.to(x.dtype)
        x = x * m
        for conv, norm in zip(self.convs, self.norms):
            x = F.relu(norm(conv(x, mask)[0])) * m
        return self.out(x, mask)[0]


def sinusoid_encoding(length: int, channels: int) -> torch.Tensor:
    """Transformer sine/cosine position table ``(1, C, length)``: channel ``2i`` is
    ``sin(t / 10000^(2i / C))``, channel ``2i + 1`` the cosine of the same angle."""
    pos = torch.arange(length, dtype=torch.float64)[:, None]
    freq = torch.pow(10000.0, 2 * (torch.arange(channels) // 2) / channels)[None]
    angle = pos / freq
    table = torch.where(torch.arange(channels)[None] % 2 == 0, torch.sin(angle), torch.cos(angle))
    return table.T[None].float()


class ConvEmbedding(nn.Module):
    """Input projection: ``num_convs`` x [masked conv k3 (no bias), LN, ReLU] ``(B, C, T) -> (B, E, T)``, then
    optionally a sinusoid position table scaled by ``1 / sqrt(E)`` (resampled when the sequence is longer than
    ``max_len``, i.e. at test time)."""

    def __init__(self, in_channels: int, channels: int, num_convs: int = 2, use_abs_pe: bool = False,
                 max_len: int = 2304):
        super().__init__()
        self.convs = nn.ModuleList(MaskedConv1d(in_channels if i == 0 else channels, channels, 3, padding=1,
                                                bias=False) for i in range(num_convs))
        self.norms = nn.ModuleList(ChannelLayerNorm(channels) for _ in range(num_convs))
        self.use_abs_pe = use_abs_pe
        if use_abs_pe:
            self.register_buffer('pos_embed', sinusoid_encoding(max_len, channels) / channels ** 0.5,
                                 persistent=False)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        for conv, norm in zip(self.convs, self.norms):
            x, mask = conv(x, mask)
            x = F.relu(norm(x)) * mask.to(x.dtype)
        if self.use_abs_pe:
            t = x.shape[-1]
            pe = self.pos_embed
            if t > pe.shape[-1]:
                pe = F.interpolate(pe, t, mode='linear', align_corners=False)
            x = x + pe[:, :, :t] * mask.to(x.dtype)
        return x, mask


def pyramid_points(lengths: Sequence[int], regression_ranges: Sequence[Sequence[float]],
                   device: torch.device | None = None) -> torch.Tensor:
    """``(sum(lengths), 4)`` rows ``(position in steps, min range, max range, stride)``; level ``l`` has stride
    ``2**l`` and its points regress segments whose longer side (from the point) lies in range ``l``."""
    if len(lengths) != len(regression_ranges):
        raise ValueError(f'{len(lengths)} pyramid levels but {len(regression_ranges)} regression ranges')
    rows = []
    for level, (n, (lo, hi)) in enumerate(zip(lengths, regression_ranges)):
        stride = 2 ** level
        pos = torch.arange(n, dtype=torch.float32, device=device) * stride
        rows.append(torch.stack([pos, torch.full_like(pos, lo), torch.full_like(pos, hi),
                                 torch.full_like(pos, stride)], 1))
    return torch.cat(rows)


@torch.no_grad()
def assign_targets(points: torch.Tensor, gt_segments: torch.Tensor, gt_labels: torch.Tensor, num_classes: int,
                   center_sample_radius: float = 1.5) -> tuple[torch.Tensor, torch.Tensor]:
    """Center-sampling label assignment for one video.

    A point is positive for a GT segment when it lies within ``radius * stride`` of the segment centre (and
    inside the segment) and the segment's longer distance from it falls in the point's regression range.
    Among several, the shortest segment wins (ties: every tied class is positive).

    Args:
        points: ``(N, 4)`` from :func:`pyramid_points`. gt_segments: ``(G, 2)`` in steps. gt_labels: ``(G,)``.
    Returns:
        class targets ``(N, num_classes)`` in {0, 1}; offset targets ``(N, 2)`` (distances to start and end in
        units of the point's stride; meaningful only where a class target is 1).
    """
    n = points.shape[0]
    if gt_segments.numel() == 0:
        return points.new_zeros(n, num_classes), points.new_zeros(n, 2)
    pos, lo, hi, stride = points[:, 0:1], points[:, 1:2], points[:, 2:3], points[:, 3:4]
    start, end = gt_segments[None, :, 0], gt_segments[None, :, 1]
    left, right = pos - start, end - pos                                     # (N, G)
    if center_sample_radius > 0:
        centre = 0.5 * (start + end)
        inside = torch.minimum(pos - torch.maximum(centre - stride * center_sample_radius, start),
                               torch.minimum(centre + stride * center_sample_radius, end) - pos) > 0
    else:
        inside = torch.minimum(left, right) > 0
    longest = torch.maximum(left, right)
    inside &= (longest >= lo) & (longest <= hi)
    lengths = (end - start).expand(n, -1)
    lengths = torch.where(inside, lengths, torch.full_like(lengths, float('inf')))
    min_len, best = lengths.min(1)
    chosen = inside & (lengths <= min_len[:, None] + 1e-3)
    cls_targets = (chosen.float() @ F.one_hot(gt_labels.long(), num_classes).float()).clamp(max=1.0)
    rows = torch.arange(n, device=points.device)
    offsets = torch.stack([left[rows, best], right[rows, best]], 1) / stride
    return cls_targets, offsets


def sigmoid_focal_loss(logits: torch.Tensor, targets: torch.Tensor, alpha: float = 0.25, gamma: float = 2.0,
                       reduction: str = 'sum') -> torch.Tensor:
    """Focal loss (Lin et al. 2017): ``alpha_t * (1 - p_t)^gamma * BCE``, summed or (``'none'``) per entry."""
    p = torch.sigmoid(logits)
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction='none')
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * (1 - p_t) ** gamma
    if alpha >= 0:
        loss = loss * (alpha * targets + (1 - alpha) * (1 - targets))
    return loss if reduction == 'none' else loss.sum()


def offsets_iou(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """tIoU ``(N,)`` of segments given as offsets ``(N, 2)`` (distances to start and end) from a shared point."""
    inter = torch.minimum(pred[:, 0], target[:, 0]) + torch.minimum(pred[:, 1], target[:, 1])
    union = pred.sum(1) + target.sum(1) - inter
    return inter / union.clamp(min=eps)


def diou_loss_1d(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Summed 1-D Distance-IoU loss of offsets ``(N, 2)`` (distances from a shared point to start and end):
    ``1 - IoU + (centre distance / enclosing length)^2``."""
    pl, pr = pred[:, 0], pred[:, 1]
    tl, tr = target[:, 0], target[:, 1]
    iou = offsets_iou(pred, target, eps)
    enclosing = torch.maximum(pl, tl) + torch.maximum(pr, tr)
    centre_dist = 0.5 * (pr - pl - tr + tl)
    return (1 - iou + centre_dist.square() / enclosing.square().clamp(min=eps)).sum()


class LossNormalizer:
    """Exponential moving average of the number of positive points (the detectors divide both losses by it, so
    the loss scale does not jump with the number of actions in a batch)."""

    def __init__(self, init: float = 100.0, momentum: float = 0.9):
        self.value = init
        self.momentum = momentum

    def update(self, num_pos: int) -> float:
        self.value = self.momentum * self.value + (1 - self.momentum) * max(num_pos, 1)
        return self.value


def pad_batch(raw_feature: torch.Tensor | Sequence[torch.Tensor], valid_len: torch.Tensor | None,
              divisor: int, min_len: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-pad to a length divisible by ``divisor`` (at least ``min_len``) and build the validity mask.

    ``raw_feature``: ``(B, C, T)`` or a list of ``(C, T_i)``; ``valid_len``: ``(B,)`` valid steps per video
    (``None``: every step of each input is valid). Returns ``(B, C, T')`` and mask ``(B, 1, T')``.
    """
    feats = list(raw_feature) if not torch.is_tensor(raw_feature) else list(raw_feature.unbind(0))
    if not feats or any(f.dim() != 2 for f in feats):
        raise ValueError('raw_feature must be (B, C, T) or a list of (C, T) tensors')
    lengths = [f.shape[1] for f in feats] if valid_len is None else [int(v) for v in valid_len]
    target = max(max(f.shape[1] for f in feats), min_len)
    target = -(-target // divisor) * divisor
    x = feats[0].new_zeros(len(feats), feats[0].shape[0], target)
    mask = torch.zeros(len(feats), 1, target, dtype=torch.bool, device=x.device)
    for i, (f, n) in enumerate(zip(feats, lengths)):
        x[i, :, :n] = f[:, :n]
        mask[i, 0, :n] = True
    return x, mask


def detection_losses(points: torch.Tensor, cls_logits: torch.Tensor, offsets: torch.Tensor, mask: torch.Tensor,
                     gt_segments: Sequence[torch.Tensor], gt_labels: Sequence[torch.Tensor],
                     normalizer: LossNormalizer, center_sample_radius: float, focal_alpha: float,
                     focal_gamma: float, label_smoothing: float, reg_loss_weight: float) -> dict[str, torch.Tensor]:
    """Focal classification + DIoU regression over every valid point of the batch.

    ``cls_logits`` ``(B, N, K)``, ``offsets`` ``(B, N, 2)`` (in strides), ``mask`` ``(B, N)`` over the
    concatenated pyramid points ``(N, 4)``.
    """
    num_classes = cls_logits.shape[-1]
    targets = [assign_targets(points, s.to(points), l.to(points.device), num_classes, center_sample_radius)
               for s, l in zip(gt_segments, gt_labels)]
    cls_t = torch.stack([t[0] for t in targets])
    off_t = torch.stack([t[1] for t in targets])
    positive = (cls_t.sum(-1) > 0) & mask
    norm = normalizer.update(int(positive.sum()))
    cls_t = cls_t[mask]
    if label_smoothing > 0:
        cls_t = cls_t * (1 - label_smoothing) + label_smoothing / (num_classes + 1)
    loss_cls = sigmoid_focal_loss(cls_logits[mask], cls_t, focal_alpha, focal_gamma) / norm
    loss_reg = diou_loss_1d(offsets[positive], off_t[positive]) / norm
    return dict(loss_cls=loss_cls, loss_reg=reg_loss_weight * loss_reg)


def steps_to_seconds(segments: torch.Tensor, meta: dict) -> torch.Tensor:
    """Segments in feature steps -> seconds, clipped to the video (see module doc). Without ``fps`` in the meta
    (a bare feature sequence) the result is the fraction ``(step + 0.5) / num_steps`` of the sequence, which
    ``mmaction.apis.inference_localizer.segment_times`` maps to seconds."""
    if 'fps' not in meta or 'feat_stride' not in meta:
        return ((segments + 0.5) / float(meta['num_steps'])).clamp(0.0, 1.0)
    frames = (segments + float(meta.get('window_start', 0))) * float(meta['feat_stride']) \
        + 0.5 * float(meta['feat_num_frames'])
    return (frames / float(meta['fps'])).clamp(0.0, float(meta['duration']))


def check_pyramid_args(name: str, num_branch_layers: int, per_level_key: str, per_level: int | Sequence,
                       regression_ranges: Sequence, max_seq_len: int, num_classes: int,
                       class_names: Sequence[str] | None) -> list:
    """Validate the arguments the one-stage detectors share and return ``per_level`` with one entry per pyramid
    level (``num_branch_layers + 1``; an int is repeated). Errors name the detector and the argument."""
    levels = num_branch_layers + 1
    values = [per_level] * levels if isinstance(per_level, int) else list(per_level)
    if len(values) != levels or len(regression_ranges) != levels:
        raise ValueError(f'{name}: {levels} pyramid levels (num_branch_layers + 1) need as many {per_level_key} '
                         f'entries ({len(values)}) and regression_ranges ({len(regression_ranges)})')
    if class_names is not None and len(class_names) != num_classes:
        raise ValueError(f'{name}: {len(class_names)} class_names for num_classes={num_classes}')
    if max_seq_len % 2 ** num_branch_layers:
        raise ValueError(f'{name}: max_seq_len {max_seq_len} must be divisible by the coarsest stride '
                         f'{2 ** num_branch_layers} (2 ** num_branch_layers)')
    return values


def pyramid_features(embed: nn.Module, stem: Sequence[nn.Module], branch: Sequence[nn.Module],
                     neck_norms: Sequence[nn.Module], x: torch.Tensor, mask: torch.Tensor
                     ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """The one-stage detectors' pyramid: ``(B, C, T), (B, 1, T)`` -> per level ``l``: features ``(B, E, T / 2**l)``
    (embedding, stem blocks, then one stride-2 ``branch`` block per further level, each level normalised and
    masked) and masks ``(B, 1, T / 2**l)``."""
    x, mask = embed(x, mask)
    for block in stem:
        x, mask = block(x, mask)
    feats, masks = [x], [mask]
    for block in branch:
        x, mask = block(x, mask)
        feats.append(x)
        masks.append(mask)
    return [norm(f) * m.to(f.dtype) for norm, f, m in zip(neck_norms, feats, masks)], masks


def decode_batch(points: torch.Tensor, logits: torch.Tensor, offsets: torch.Tensor, point_mask: torch.Tensor,
                 level_sizes: Sequence[int], step_mask: torch.Tensor, img_meta: Sequence[dict] | None, cfg: dict,
                 class_names: Sequence[str] | None = None) -> list[dict]:
    """Test output of a batch: ``[dict(video_name, proposal_list)]``, one per video, from the class logits
    ``(B, N, K)``, offsets, point mask ``(B, N)`` and the padded input's step mask ``(B, 1, T)``."""
    metas = img_meta if img_meta is not None else [{} for _ in range(logits.shape[0])]
    results = []
    for i, meta in enumerate(metas):
        meta = dict(meta, num_steps=int(step_mask[i].sum()))
        dets = decode_detections(points, logits[i].sigmoid(), offsets[i], point_mask[i], level_sizes, meta, cfg,
                                 class_names)
        results.append(dict(video_name=meta.get('video_name', str(i)), proposal_list=dets))
    return results


@torch.no_grad()
def decode_detections(points: torch.Tensor, cls_scores: torch.Tensor, offsets: torch.Tensor, mask: torch.Tensor,
                      level_sizes: Sequence[int], meta: dict, cfg: dict,
                      class_names: Sequence[str] | None = None) -> list[dict]:
    """One video's detections: per level keep the ``pre_nms_topk`` (point, class) pairs scoring above
    ``pre_nms_thresh``, decode, drop segments shorter than ``duration_thresh`` steps, soft-NMS (per class with
    ``multiclass_nms``; otherwise across classes, followed by score voting when ``voting_thresh`` > 0, as the
    ActionFormer release does), convert to seconds.

    ``cls_scores`` ``(N, K)`` probabilities, ``offsets`` ``(N, 2)`` in strides (or ``(N, K, 2)``: one pair per
    class, TriDet's boundary heads), ``mask`` ``(N,)``.
    Returns ``[{'label', 'score', 'segment': [start_s, end_s]}]`` best first.
    """
    segs, scores, labels = [], [], []
    begin = 0
    num_classes = cls_scores.shape[1]
    for size in level_sizes:
        sl = slice(begin, begin + size)
        begin += size
        probs = (cls_scores[sl] * mask[sl, None]).flatten()
        keep = torch.nonzero(probs > cfg['pre_nms_thresh']).squeeze(1)
        if keep.numel() > cfg['pre_nms_topk']:
            keep = keep[probs[keep].topk(cfg['pre_nms_topk']).indices]
        pt_idx, cls_idx = keep // num_classes, keep % num_classes
        pts = points[sl][pt_idx]
        off = offsets[sl][pt_idx, cls_idx] if offsets.dim() == 3 else offsets[sl][pt_idx]
        seg = torch.stack([pts[:, 0] - off[:, 0] * pts[:, 3], pts[:, 0] + off[:, 1] * pts[:, 3]], 1)
        long_enough = (seg[:, 1] - seg[:, 0]) > cfg['duration_thresh']
        segs.append(seg[long_enough])
        scores.append(probs[keep][long_enough])
        labels.append(cls_idx[long_enough])
    # NMS is a sequential loop over a few thousand candidates: on the CPU it avoids a device sync per step
    segs, scores, labels = torch.cat(segs).cpu(), torch.cat(scores).cpu(), torch.cat(labels).cpu()
    groups = labels if cfg['multiclass_nms'] else torch.zeros_like(labels)
    kept_idx, kept_scores = batched_soft_nms(segs, scores, groups, cfg['iou_threshold'], cfg['nms_sigma'],
                                             cfg['min_score'], cfg['max_seg_num'], cfg['nms_method'])
    kept, kept_labels = segs[kept_idx], labels[kept_idx]
    if not cfg['multiclass_nms'] and cfg['voting_thresh'] > 0:
        kept = segment_voting(kept, torch.zeros_like(kept_labels), segs, scores, torch.zeros_like(labels),
                              cfg['voting_thresh'])
    seconds = steps_to_seconds(kept, meta).tolist()
    out = []
    for (s, e), score, label in zip(seconds, kept_scores.tolist(), kept_labels.tolist()):
        name = class_names[label] if class_names else label
        out.append(dict(label=name, score=float(score), segment=[float(s), float(e)]))
    return out


DEFAULT_TEST_CFG = dict(pre_nms_thresh=0.001, pre_nms_topk=2000, duration_thresh=0.05, nms_method='gaussian',
                        iou_threshold=0.1, nms_sigma=0.5, min_score=0.001, max_seg_num=200, multiclass_nms=True,
                        voting_thresh=0.7)


def set_training_state(model: nn.Module, num_classes: int, max_seq_len: int, num_branch_layers: int,
                       regression_ranges: Sequence[Sequence[float]], center_sample_radius: float, focal_alpha: float,
                       focal_gamma: float, label_smoothing: float, reg_loss_weight: float, init_loss_norm: float,
                       loss_norm_momentum: float, class_names: Sequence[str] | None, test_cfg: dict | None) -> None:
    """The target-assignment, loss and decoding settings both one-stage detectors keep (no parameters)."""
    model.num_classes = num_classes
    model.max_seq_len = max_seq_len
    model.max_stride = 2 ** num_branch_layers
    model.regression_ranges = [tuple(r) for r in regression_ranges]
    model.center_sample_radius = center_sample_radius
    model.focal = (focal_alpha, focal_gamma)
    model.label_smoothing = label_smoothing
    model.reg_loss_weight = reg_loss_weight
    model.loss_normalizer = LossNormalizer(init_loss_norm, loss_norm_momentum)
    model.class_names = list(class_names) if class_names is not None else None
    model.test_cfg = merge_test_cfg(test_cfg)


def merge_test_cfg(overrides: dict | None) -> dict:
    """The ActionFormer THUMOS14 test settings, with ``overrides`` (config ``model.test_cfg``) applied."""
    cfg = dict(DEFAULT_TEST_CFG)
    for key, value in (overrides or {}).items():
        if key not in cfg:
            raise ValueError(f"model.test_cfg: unknown key '{key}'; expected one of {sorted(cfg)}")
        cfg[key] = value
    return cfg
