"""TriDet: temporal action detection with relative boundary modeling (Shi et al., CVPR 2023).

Input: per-snippet features ``(B, C, T)`` as for ActionFormer. The backbone replaces self-attention by
Scalable-Granularity Perception (SGP) layers: an instant-level branch (per-channel gate from the video-level mean)
plus a window-level branch (two depthwise convs of different widths, gated by a third), each followed by a
GroupNorm + MLP. The Trident head predicts each boundary as the *expected* distance over ``num_bins + 1`` bins: the
softmax of (boundary-head logits of the neighbouring points, per class) + (centre-offset logits of the point).
Training: focal loss whose positives are weighted by ``IoU^iou_weight_power`` of the decoded segment, DIoU loss.
Default hyper-parameters are the paper's THUMOS14 ones (69.3 average mAP at tIoU 0.3:0.1:0.7).

Deviation from the release: the video-level mean and the GroupNorm statistics are taken over valid (unpadded)
steps only, so outputs do not depend on how much padding a batch adds.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmaction.registry import LOCALIZERS

from .one_stage_tad import (ChannelLayerNorm, ConvEmbedding, ConvHead, Scale, assign_targets, check_pyramid_args,
                            decode_batch, diou_loss_1d, offsets_iou, pad_batch, pyramid_features, pyramid_points,
                            residual_branch, set_training_state, sigmoid_focal_loss)


class MaskedGroupNorm(nn.GroupNorm):
    """GroupNorm of ``(B, C, T)`` whose statistics ignore masked (padding) steps."""

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, c, t = x.shape
        m = mask.to(x.dtype)[:, None]                                                  # (B, 1, 1, T)
        g = x.reshape(b, self.num_groups, c // self.num_groups, t)
        count = (m.sum(-1, keepdim=True) * (c // self.num_groups)).clamp(min=1)
        mean = (g * m).sum((-2, -1), keepdim=True) / count
        var = (((g - mean) ** 2) * m).sum((-2, -1), keepdim=True) / count
        g = (g - mean) / torch.sqrt(var + self.eps)
        return g.reshape(b, c, t) * self.weight[:, None] + self.bias[:, None]


class SGPBlock(nn.Module):
    """Scalable-Granularity Perception layer; with ``stride`` 2 the input is max-pooled first (one pyramid level).
    ``(B, C, T), (B, 1, T) -> (B, C, T / stride), (B, 1, T / stride)``.

    Window branch: depthwise convs of width ``kernel_size`` and ``w = round((kernel_size + 1) * k)`` (made odd),
    summed and gated by a depthwise ``psi`` conv; instant branch: a per-channel scale times
    ``ReLU(fc(mean over time))``.
    """

    def __init__(self, channels: int, kernel_size: int = 1, stride: int = 1, k: float = 5.0, mlp_dim: int = 768,
                 drop_path: float = 0.0, init_std: float = 0.0, num_groups: int = 16):
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f'SGP kernel_size must be odd, got {kernel_size}')
        wide = round((kernel_size + 1) * k)
        wide += 1 - wide % 2
        self.stride = stride
        self.downsample = nn.MaxPool1d(stride + 1, stride, padding=(stride + 1) // 2) if stride > 1 else nn.Identity()
        self.ln = ChannelLayerNorm(channels)
        self.gn = MaskedGroupNorm(num_groups, channels)
        self.psi = nn.Conv1d(channels, channels, kernel_size, padding=kernel_size // 2, groups=channels)
        self.fc = nn.Conv1d(channels, channels, 1, groups=channels)
        self.conv_w = nn.Conv1d(channels, channels, kernel_size, padding=kernel_size // 2, groups=channels)
        self.conv_kw = nn.Conv1d(channels, channels, wide, padding=wide // 2, groups=channels)
        self.global_fc = nn.Conv1d(channels, channels, 1, groups=channels)
        for conv in (self.psi, self.fc, self.conv_w, self.conv_kw, self.global_fc):
            # std 0 (the release's THUMOS14 setting) starts every SGP branch at exactly zero: the block is identity
            nn.init.normal_(conv.weight, 0, init_std)
            nn.init.zeros_(conv.bias)
        self.mlp = nn.Sequential(nn.Conv1d(channels, mlp_dim, 1), nn.GELU(), nn.Conv1d(mlp_dim, channels, 1))
        self.drop_out = residual_branch(channels, drop_path)
        self.drop_mlp = residual_branch(channels, drop_path)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.downsample(x)
        out_mask = mask[:, :, ::self.stride]
        m = out_mask.to(x.dtype)
        # the pooled padding next to the sequence end holds the last valid values, and LayerNorm maps padding to
        # its bias: zero both so the depthwise convs see the same border as an unpadded input
        x = x * m
        out = self.ln(x) * m
        mean = (out * m).sum(-1, keepdim=True) / m.sum(-1, keepdim=True).clamp(min=1)
        phi = F.relu(self.global_fc(mean))
        out = self.fc(out) * phi + (self.conv_w(out) + self.conv_kw(out)) * self.psi(out) + out
        out = (x + self.drop_out(out)) * m
        out = out + self.drop_mlp(self.mlp(self.gn(out, out_mask))) * m
        return out, out_mask


def neighbour_logits(logits: torch.Tensor, num_bins: int, side: str) -> torch.Tensor:
    """``(B, K, T)`` boundary logits -> ``(B, T, K, num_bins + 1)``: for point ``t`` the logits of points
    ``t - num_bins ... t`` (``side='start'``) or ``t ... t + num_bins`` (``'end'``), zero beyond the sequence."""
    pad = (num_bins, 0) if side == 'start' else (0, num_bins)
    return F.pad(logits, pad).unfold(-1, num_bins + 1, 1).permute(0, 2, 1, 3)


def trident_offsets(centre: torch.Tensor, start_nb: torch.Tensor, end_nb: torch.Tensor) -> torch.Tensor:
    """Expected boundary distances ``(B, T, K, 2)`` (in points of the level) from centre-offset logits
    ``(B, T, 2 * (num_bins + 1))`` and neighbour boundary logits ``(B, T, K, num_bins + 1)``."""
    bins = start_nb.shape[-1]
    centre = centre.reshape(*centre.shape[:2], 2, bins)
    left = torch.softmax(start_nb + centre[:, :, None, 0], -1)
    right = torch.softmax(end_nb + centre[:, :, None, 1], -1)
    # bin j of the start side is the point t - (num_bins - j); of the end side the point t + j
    dist = torch.arange(bins, dtype=left.dtype, device=left.device)
    return torch.stack([left @ dist.flip(0), right @ dist], -1)


@LOCALIZERS.register_module()
class TriDet(nn.Module):
    """TriDet one-stage temporal action detector.

    Args:
        feat_dim, num_classes, max_seq_len, embed_dim, num_embed_convs, num_stem_layers, num_branch_layers,
            head_dim, head_layers, regression_ranges, center_sample_radius, focal_alpha, focal_gamma,
            label_smoothing, reg_loss_weight, init_loss_norm, loss_norm_momentum, use_abs_pe, class_names,
            test_cfg: as :class:`ActionFormer`.
        sgp_kernel_size: width of the SGP window branch (an int or one per level; the paper's THUMOS14 uses 1).
        sgp_k: the window-branch width multiplier ``k``. sgp_mlp_dim: SGP MLP width. sgp_init_std: SGP conv init.
        num_bins: Trident-head bins per side (a boundary lies at most ``num_bins`` points from its point).
        boundary_kernel_size: conv width of the start/end heads.
        iou_weight_power: positives of the focal loss are weighted by ``IoU ** iou_weight_power``.
        input_noise: std of Gaussian noise added to the padded training input.
    """

    def __init__(self, feat_dim: int = 2048, num_classes: int = 20, max_seq_len: int = 2304, embed_dim: int = 512,
                 num_embed_convs: int = 2, num_stem_layers: int = 2, num_branch_layers: int = 5,
                 sgp_kernel_size: int | Sequence[int] = 1, sgp_k: float = 5.0, sgp_mlp_dim: int = 768,
                 sgp_init_std: float = 0.0, drop_path: float = 0.1, use_abs_pe: bool = False, head_dim: int = 512,
                 head_layers: int = 3, boundary_kernel_size: int = 3, num_bins: int = 16,
                 iou_weight_power: float = 0.2, input_noise: float = 0.0005,
                 regression_ranges: Sequence[Sequence[float]] = ((0, 4), (4, 8), (8, 16), (16, 32), (32, 64),
                                                                 (64, 10000)),
                 center_sample_radius: float = 1.5, focal_alpha: float = 0.25, focal_gamma: float = 2.0,
                 label_smoothing: float = 0.0, reg_loss_weight: float = 1.0, init_loss_norm: float = 100.0,
                 loss_norm_momentum: float = 0.9, class_names: Sequence[str] | None = None,
                 train_cfg=None, test_cfg: dict | None = None):
        super().__init__()
        kernels = check_pyramid_args('TriDet', num_branch_layers, 'sgp_kernel_size', sgp_kernel_size, regression_ranges,
                                     max_seq_len, num_classes, class_names)
        levels = len(kernels)
        set_training_state(self, num_classes, max_seq_len, num_branch_layers, regression_ranges, center_sample_radius,
                           focal_alpha, focal_gamma, label_smoothing, reg_loss_weight, init_loss_norm,
                           loss_norm_momentum, class_names, test_cfg)
        self.num_bins = num_bins
        self.iou_weight_power = iou_weight_power
        self.input_noise = input_noise

        self.embed = ConvEmbedding(feat_dim, embed_dim, num_embed_convs, use_abs_pe, max_seq_len)
        self.stem = nn.ModuleList(SGPBlock(embed_dim, 1, 1, sgp_k, sgp_mlp_dim, 0.0, sgp_init_std)
                                  for _ in range(num_stem_layers))
        self.branch = nn.ModuleList(SGPBlock(embed_dim, kernels[i + 1], 2, sgp_k, sgp_mlp_dim, drop_path, sgp_init_std)
                                    for i in range(num_branch_layers))
        self.neck_norms = nn.ModuleList(ChannelLayerNorm(embed_dim) for _ in range(levels))
        self.cls_head = ConvHead(embed_dim, head_dim, num_classes, head_layers, prior_prob=0.01)
        self.start_head = ConvHead(embed_dim, head_dim, num_classes, head_layers, boundary_kernel_size,
                                   prior_prob=0.01)
        self.end_head = ConvHead(embed_dim, head_dim, num_classes, head_layers, boundary_kernel_size,
                                 prior_prob=0.01)
        self.reg_head = ConvHead(embed_dim, head_dim, 2 * (num_bins + 1), head_layers)
        self.reg_scales = nn.ModuleList(Scale() for _ in range(levels))

    def _forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                                                     torch.Tensor, list[int]]:
        """-> points ``(N, 4)``, class logits ``(B, N, K)``, per-class offsets ``(B, N, K, 2)`` (in strides),
        point mask ``(B, N)``, points per level."""
        feats, masks = pyramid_features(self.embed, self.stem, self.branch, self.neck_norms, x, mask)
        logits, offsets = [], []
        for scale, f, m in zip(self.reg_scales, feats, masks):
            logits.append(self.cls_head(f, m).transpose(1, 2))
            # the boundary heads see detached features: they refine boundaries without reshaping the pyramid
            start = neighbour_logits(self.start_head(f.detach(), m), self.num_bins, 'start')
            end = neighbour_logits(self.end_head(f.detach(), m), self.num_bins, 'end')
            centre = F.relu(scale(self.reg_head(f, m))).transpose(1, 2)
            offsets.append(trident_offsets(centre, start, end))
        sizes = [f.shape[-1] for f in feats]
        points = pyramid_points(sizes, self.regression_ranges, x.device)
        pmask = torch.cat([m[:, 0] for m in masks], 1)
        return points, torch.cat(logits, 1), torch.cat(offsets, 1), pmask, sizes

    def losses(self, points: torch.Tensor, logits: torch.Tensor, offsets: torch.Tensor, mask: torch.Tensor,
               gt_segments: Sequence[torch.Tensor], gt_labels: Sequence[torch.Tensor]) -> dict[str, torch.Tensor]:
        """IoU-weighted focal loss + DIoU loss over the positive (point, class) pairs."""
        targets = [assign_targets(points, s.to(points), lab.to(points.device), self.num_classes,
                                  self.center_sample_radius) for s, lab in zip(gt_segments, gt_labels)]
        cls_t = torch.stack([t[0] for t in targets])                        # (B, N, K)
        off_t = torch.stack([t[1] for t in targets])                        # (B, N, 2)
        positive = (cls_t.sum(-1) > 0) & mask
        norm = self.loss_normalizer.update(int(positive.sum()))
        pairs = cls_t.bool() & positive[..., None]                          # (B, N, K) positive (point, class)
        pred = offsets[pairs]                                               # (P, 2)
        target = off_t[..., None, :].expand_as(offsets)[pairs]
        target_cls = cls_t[mask]
        if self.label_smoothing > 0:
            target_cls = target_cls * (1 - self.label_smoothing) + self.label_smoothing / (self.num_classes + 1)
        loss_cls = sigmoid_focal_loss(logits[mask], target_cls, *self.focal, reduction='none')
        # row-major order of pairs[mask] equals that of pred: weight each positive entry by its decoded IoU
        weight = torch.ones_like(loss_cls)
        iou = offsets_iou(pred, target).clamp(min=1e-6)
        weight[pairs[mask]] = iou ** self.iou_weight_power
        loss_cls = (loss_cls * weight).sum() / norm
        loss_reg = diou_loss_1d(pred, target) / norm
        return dict(loss_cls=loss_cls, loss_reg=self.reg_loss_weight * loss_reg)

    def forward(self, raw_feature: torch.Tensor | Sequence[torch.Tensor], gt_segments: Sequence | None = None,
                gt_labels: Sequence | None = None, valid_len: torch.Tensor | None = None,
                img_meta: Sequence[dict] | None = None, return_loss: bool = True, **kwargs):
        """Training: ``dict(loss_cls, loss_reg)``. Testing: ``[dict(video_name, proposal_list=[{label, score,
        segment}])]`` per video, segments in seconds (see ``one_stage_tad.steps_to_seconds``)."""
        if return_loss:
            if gt_segments is None or gt_labels is None:
                raise ValueError('TriDet training needs gt_segments and gt_labels (TADFeatureDataset)')
            x, mask = pad_batch(raw_feature, valid_len, self.max_stride, self.max_seq_len)
            if self.input_noise > 0:
                x = x + torch.randn_like(x) * self.input_noise
            points, logits, offsets, pmask, _ = self._forward(x, mask)
            return self.losses(points, logits, offsets, pmask, gt_segments, gt_labels)
        x, mask = pad_batch(raw_feature, valid_len, self.max_stride)
        with torch.no_grad():
            return decode_batch(*self._forward(x, mask), mask, img_meta, self.test_cfg, self.class_names)
