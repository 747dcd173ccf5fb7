"""ActionFormer: localizing moments of actions with transformers (Zhang, Wu and Li, ECCV 2022).

Input: per-snippet features ``(B, C, T)`` of untrimmed videos (THUMOS14: 2048-d I3D two-stream, stride 4 at
30 fps, windows of 2304 steps). A conv embedding and a stack of local-attention transformer blocks build a
feature pyramid (each branch block halves T); shared conv heads classify every pyramid point into the
``num_classes`` actions and regress its distances to the action's start and end. Training: center sampling,
sigmoid focal loss + DIoU loss. Testing: class-wise Gaussian Soft-NMS (+ score voting).
Default hyper-parameters are the paper's THUMOS14 ones (66.8 average mAP at tIoU 0.3:0.1:0.7).
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmaction.registry import LOCALIZERS

from .one_stage_tad import (ChannelLayerNorm, ConvEmbedding, ConvHead, MaskedConv1d, Scale, check_pyramid_args,
                            decode_batch, detection_losses, pad_batch, pyramid_features, pyramid_points,
                            residual_branch, set_training_state)


def local_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, key_valid: torch.Tensor,
                    half_window: int) -> torch.Tensor:
    """Each query ``i`` attends to the valid keys ``j`` with ``|i - j| <= half_window``.

    The sequence is cut into blocks of ``half_window + 1`` queries; a block only needs the keys of itself and
    ``half_window`` steps either side, so cost is ``O(T * window)`` instead of ``O(T^2)``. Each block is one
    masked ``scaled_dot_product_attention`` call (batched over blocks).

    Args:
        q, k, v: ``(B, H, T, D)``. key_valid: ``(B, T)`` bool.
    Returns:
        ``(B, H, T, D)``. A query with no valid key in its window attends to itself (its output is masked later).
    """
    b, h, t, d = q.shape
    block = half_window + 1
    nb = -(-t // block)
    pad_t = nb * block - t
    if pad_t:
        q, k, v = (F.pad(x, (0, 0, 0, pad_t)) for x in (q, k, v))
        key_valid = F.pad(key_valid, (0, pad_t))
    span = block + 2 * half_window
    # (B, H, nb, span, D): keys from block_start - half to block_end + half.
    k_blocks = F.pad(k, (0, 0, half_window, half_window)).unfold(2, span, block).transpose(-1, -2)
    v_blocks = F.pad(v, (0, 0, half_window, half_window)).unfold(2, span, block).transpose(-1, -2)
    valid_blocks = F.pad(key_valid, (half_window, half_window)).unfold(1, span, block)       # (B, nb, span)
    qi = torch.arange(block, device=q.device)[:, None]
    kj = torch.arange(span, device=q.device)[None]
    rel = kj - half_window - qi                                                                 # key - query
    in_window = rel.abs() <= half_window
    attend = (in_window & valid_blocks[:, :, None, :]) | (rel == 0)                            # (B, nb, blk, span)
    out = F.scaled_dot_product_attention(q.reshape(b, h, nb, block, d), k_blocks, v_blocks,
                                         attn_mask=attend[:, None])
    return out.reshape(b, h, nb * block, d)[:, :, :t]


class LocalMaskedMHCA(nn.Module):
    """Multi-head *convolutional* attention over a local window: queries, keys and values are first filtered
    by a depthwise conv (which also downsamples when ``stride`` > 1) and a LayerNorm, then projected.
    ``(B, C, T), (B, 1, T) -> (B, C, T / stride), (B, 1, T / stride)``."""

    def __init__(self, channels: int, num_heads: int, window_size: int, stride: int = 1):
        super().__init__()
        if channels % num_heads:
            raise ValueError(f'embed dim {channels} must be divisible by num_heads {num_heads}')
        self.num_heads = num_heads
        self.half_window = window_size // 2 if window_size > 0 else -1  # -1: global attention
        kernel = stride + 1 if stride > 1 else 3
        self.q_conv, self.k_conv, self.v_conv = (
            MaskedConv1d(channels, channels, kernel, stride, padding=kernel // 2, groups=channels, bias=False)
            for _ in range(3))
        self.q_norm, self.k_norm, self.v_norm = (ChannelLayerNorm(channels) for _ in range(3))
        self.query, self.key, self.value, self.proj = (nn.Conv1d(channels, channels, 1) for _ in range(4))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        q, out_mask = self.q_conv(x, mask)
        k = self.k_conv(x, mask)[0]
        v = self.v_conv(x, mask)[0]
        q, k, v = self.query(self.q_norm(q)), self.key(self.k_norm(k)), self.value(self.v_norm(v))
        b, c, t = q.shape
        q, k, v = (y.reshape(b, self.num_heads, c // self.num_heads, t).transpose(2, 3) for y in (q, k, v))
        valid = out_mask[:, 0]
        half = self.half_window if 0 <= self.half_window < t else t
        out = local_attention(q, k, v, valid, half)
        out = out.transpose(2, 3).reshape(b, c, t)
        return self.proj(out) * out_mask.to(out.dtype), out_mask


class TransformerBlock(nn.Module):
    """Pre-LN transformer block with local attention; with ``stride`` 2 the residual path is max-pooled so
    the block halves the sequence (one pyramid level)."""

    def __init__(self, channels: int, num_heads: int, window_size: int, stride: int = 1, mlp_ratio: int = 4,
                 drop_path: float = 0.0):
        super().__init__()
        self.ln1, self.ln2 = ChannelLayerNorm(channels), ChannelLayerNorm(channels)
        self.attn = LocalMaskedMHCA(channels, num_heads, window_size, stride)
        self.skip = (nn.MaxPool1d(stride + 1, stride, padding=(stride + 1) // 2) if stride > 1 else nn.Identity())
        self.mlp = nn.Sequential(nn.Conv1d(channels, mlp_ratio * channels, 1), nn.GELU(),
                                 nn.Conv1d(mlp_ratio * channels, channels, 1))
        self.drop_attn = residual_branch(channels, drop_path)
        self.drop_mlp = residual_branch(channels, drop_path)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out, out_mask = self.attn(self.ln1(x) * mask.to(x.dtype), mask)
        m = out_mask.to(x.dtype)
        out = self.skip(x) * m + self.drop_attn(out)
        out = out + self.drop_mlp(self.mlp(self.ln2(out)) * m)
        return out, out_mask


@LOCALIZERS.register_module()
class ActionFormer(nn.Module):
    """ActionFormer one-stage temporal action detector.

    Args:
        feat_dim: C of the input features. num_classes: action classes (1 for class-agnostic ActivityNet
            training, combined with external video-level scores at evaluation).
        max_seq_len: training window (steps); test sequences of any length are padded to a multiple of the
            coarsest stride.
        embed_dim: transformer width (also the pyramid and head input width).
        num_embed_convs / num_stem_layers / num_branch_layers: the paper's ``arch = (2, 2, 5)``: conv embedding,
            full-resolution transformer blocks, downsampling blocks (pyramid levels = branch layers + 1).
        num_heads, window_size: attention heads and local window (steps, odd; ``-1`` for global attention);
            an int or one per pyramid level.
        mlp_ratio, drop_path: MLP width ratio and stochastic depth of the transformer blocks.
        use_abs_pe: add a sinusoid position table (scaled by ``1 / sqrt(embed_dim)``) after the embedding; the
            ActivityNet setting, where every video is resized to ``max_seq_len`` (longer test sequences get the
            table linearly resampled).
        head_dim, head_layers: width and depth of the shared classification / regression heads.
        regression_ranges: per level ``(min, max)`` of the longer point-to-boundary distance (steps).
        center_sample_radius, focal_alpha, focal_gamma, label_smoothing, reg_loss_weight, init_loss_norm,
            loss_norm_momentum: training (paper defaults).
        class_names: labels of the output segments (default: class indices).
        test_cfg: post-processing, see ``one_stage_tad.DEFAULT_TEST_CFG``.
    """

    def __init__(self, feat_dim: int = 2048, num_classes: int = 20, max_seq_len: int = 2304, embed_dim: int = 512,
                 num_embed_convs: int = 2, num_stem_layers: int = 2, num_branch_layers: int = 5,
                 num_heads: int = 4, window_size: int | Sequence[int] = 19, mlp_ratio: int = 4,
                 drop_path: float = 0.1, use_abs_pe: bool = False, head_dim: int = 512, head_layers: int = 3,
                 regression_ranges: Sequence[Sequence[float]] = ((0, 4), (4, 8), (8, 16), (16, 32), (32, 64),
                                                                 (64, 10000)),
                 center_sample_radius: float = 1.5, focal_alpha: float = 0.25, focal_gamma: float = 2.0,
                 label_smoothing: float = 0.0, reg_loss_weight: float = 1.0, init_loss_norm: float = 100.0,
                 loss_norm_momentum: float = 0.9, class_names: Sequence[str] | None = None,
                 train_cfg=None, test_cfg: dict | None = None):
        super().__init__()
        windows = check_pyramid_args('ActionFormer', num_branch_layers, 'window_size', window_size, regression_ranges,
                                     max_seq_len, num_classes, class_names)
        levels = len(windows)
        set_training_state(self, num_classes, max_seq_len, num_branch_layers, regression_ranges, center_sample_radius,
                           focal_alpha, focal_gamma, label_smoothing, reg_loss_weight, init_loss_norm,
                           loss_norm_momentum, class_names, test_cfg)

        self.embed = ConvEmbedding(feat_dim, embed_dim, num_embed_convs, use_abs_pe, max_seq_len)
        self.stem = nn.ModuleList(TransformerBlock(embed_dim, num_heads, windows[0], 1, mlp_ratio, drop_path)
                                  for _ in range(num_stem_layers))
        self.branch = nn.ModuleList(TransformerBlock(embed_dim, num_heads, windows[i + 1], 2, mlp_ratio, drop_path)
                                    for i in range(num_branch_layers))
        self.neck_norms = nn.ModuleList(ChannelLayerNorm(embed_dim) for _ in range(levels))
        self.cls_head = ConvHead(embed_dim, head_dim, num_classes, head_layers, prior_prob=0.01)
        self.reg_head = ConvHead(embed_dim, head_dim, 2, head_layers)
        self.reg_scales = nn.ModuleList(Scale() for _ in range(levels))

    def _forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                                                     torch.Tensor, list[int]]:
        """-> points ``(N, 4)``, class logits ``(B, N, K)``, offsets ``(B, N, 2)`` (strides, >= 0), point mask
        ``(B, N)``, points per level."""
        feats, masks = pyramid_features(self.embed, self.stem, self.branch, self.neck_norms, x, mask)
        logits = [self.cls_head(f, m) for f, m in zip(feats, masks)]
        offsets = [F.relu(scale(self.reg_head(f, m))) for scale, f, m in zip(self.reg_scales, feats, masks)]
        sizes = [f.shape[-1] for f in feats]
        points = pyramid_points(sizes, self.regression_ranges, x.device)
        cat = lambda ys: torch.cat([y.transpose(1, 2) for y in ys], 1)  # noqa: E731
        return points, cat(logits), cat(offsets), cat(masks)[..., 0], sizes

    def forward(self, raw_feature: torch.Tensor | Sequence[torch.Tensor], gt_segments: Sequence | None = None,
                gt_labels: Sequence | None = None, valid_len: torch.Tensor | None = None,
                img_meta: Sequence[dict] | None = None, return_loss: bool = True, **kwargs):
        """Training: ``dict(loss_cls, loss_reg)``. Testing: ``[dict(video_name, proposal_list=[{label, score,
        segment}])]`` per video, segments in seconds (see ``one_stage_tad.steps_to_seconds``)."""
        if return_loss:
            if gt_segments is None or gt_labels is None:
                raise ValueError('ActionFormer training needs gt_segments and gt_labels (TADFeatureDataset)')
            x, mask = pad_batch(raw_feature, valid_len, self.max_stride, self.max_seq_len)
            points, logits, offsets, pmask, _ = self._forward(x, mask)
            return detection_losses(points, logits, offsets, pmask, gt_segments, gt_labels, self.loss_normalizer,
                                    self.center_sample_radius, *self.focal, self.label_smoothing,
                                    self.reg_loss_weight)
        x, mask = pad_batch(raw_feature, valid_len, self.max_stride)
        with torch.no_grad():
            return decode_batch(*self._forward(x, mask), mask, img_meta, self.test_cfg, self.class_names)

