"""VideoMAE's Vision Transformer (mmaction2 ``VisionTransformer``): tubelet patches, global self-attention.

Tong et al., "VideoMAE: Masked Autoencoders are Data-Efficient Learners for Self-Supervised Video Pre-Training"
(NeurIPS 2022); the V2 ViT-g settings are the same class with other widths. Keys as mmaction2 1.2.0.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmaction.registry import MODELS

from ._transformer import FeedForward, drop_path_or_identity, multihead_attention, run_blocks, sinusoid_encoding


def _layer_norm(norm_cfg: dict, dims: int) -> nn.LayerNorm:
    if norm_cfg.get('type', 'LN') not in ('LN', 'LayerNorm'):
        raise ValueError(f"VisionTransformer: norm_cfg type must be 'LN', got {norm_cfg!r}")
    return nn.LayerNorm(dims, eps=norm_cfg.get('eps', 1e-5))


class Attention(nn.Module):
    """Self-attention with a q and v bias but no k bias (BEiT/VideoMAE): (N, L, C) -> (N, L, C)."""

    def __init__(self, embed_dims: int, num_heads: int, qkv_bias: bool = True, qk_scale: float | None = None,
                 attn_drop_rate: float = 0.0, drop_rate: float = 0.0):
        super().__init__()
        self.num_heads = num_heads
        self.embed_dims = embed_dims
        head_dims = embed_dims // num_heads
        # SDPA scales by head_dims ** -0.5; a custom qk_scale is folded into q.
        self.q_rescale = (qk_scale * head_dims ** 0.5) if qk_scale else None
        if qkv_bias:
            self.q_bias = nn.Parameter(torch.zeros(embed_dims))
            self.v_bias = nn.Parameter(torch.zeros(embed_dims))
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=False)
        self.attn_drop_rate = attn_drop_rate
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(drop_rate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = None
        if hasattr(self, 'q_bias'):
            bias = torch.cat((self.q_bias, torch.zeros_like(self.v_bias), self.v_bias))
        q, k, v = F.linear(x, self.qkv.weight, bias).chunk(3, dim=-1)
        if self.q_rescale is not None:
            q = q * self.q_rescale
        out = multihead_attention(q, k, v, self.num_heads, self.attn_drop_rate if self.training else 0.0)
        return self.proj_drop(self.proj(out))


class Block(nn.Module):
    """Pre-norm transformer block with optional layer scale (``init_values`` > 0): (N, L, C) -> (N, L, C)."""

    def __init__(self, embed_dims: int, num_heads: int, mlp_ratio: float = 4.0, qkv_bias: bool = True,
                 qk_scale: float | None = None, drop_rate: float = 0.0, attn_drop_rate: float = 0.0,
                 drop_path_rate: float = 0.0, init_values: float = 0.0, norm_cfg: dict | None = None):
        super().__init__()
        norm_cfg = norm_cfg or dict(type='LN', eps=1e-6)
        if init_values > 0:
            self.gamma_1 = nn.Parameter(init_values * torch.ones(embed_dims))
            self.gamma_2 = nn.Parameter(init_values * torch.ones(embed_dims))
        self.norm1 = _layer_norm(norm_cfg, embed_dims)
        self.attn = Attention(embed_dims, num_heads, qkv_bias, qk_scale, attn_drop_rate, drop_rate)
        self.drop_path = drop_path_or_identity(drop_path_rate)
        self.norm2 = _layer_norm(norm_cfg, embed_dims)
        self.mlp = FeedForward(embed_dims, int(embed_dims * mlp_ratio), drop_rate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        attn = self.attn(self.norm1(x))
        if hasattr(self, 'gamma_1'):
            x = x + self.drop_path(self.gamma_1 * attn)
            return x + self.drop_path(self.gamma_2 * self.mlp(self.norm2(x)))
        x = x + self.drop_path(attn)
        return x + self.drop_path(self.mlp(self.norm2(x)))


class PatchEmbed3d(nn.Module):
    """(N, C, T, H, W) -> (N, T/t * H/p * W/p, D) with one Conv3d of kernel = stride = (t, p, p)."""

    def __init__(self, in_channels: int, embed_dims: int, tubelet_size: int, patch_size: int):
        super().__init__()
        kernel = (tubelet_size, patch_size, patch_size)
        self.projection = nn.Conv3d(in_channels, embed_dims, kernel, stride=kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.projection(x).flatten(2).transpose(1, 2)


@MODELS.register_module()
class VisionTransformer(nn.Module):
    """ViT over space-time tubelets.

    Input (N, C, T, H, W); output (N, D) — the mean over tokens after ``fc_norm`` when ``use_mean_pooling``, else
    the first token after ``norm`` — or (N, D, T/t, H/p, W/p) with ``return_feat_map``. An input size other than
    ``img_size`` interpolates the position table bicubically (as mmaction2). ``with_cp``: activation checkpointing
    of every block in training.
    """

    def __init__(self, img_size: int = 224, patch_size: int = 16, in_channels: int = 3, embed_dims: int = 768,
                 depth: int = 12, num_heads: int = 12, mlp_ratio: float = 4.0, qkv_bias: bool = True,
                 qk_scale: float | None = None, drop_rate: float = 0.0, attn_drop_rate: float = 0.0,
                 drop_path_rate: float = 0.0, norm_cfg: dict | None = None, init_values: float = 0.0,
                 use_learnable_pos_emb: bool = False, num_frames: int = 16, tubelet_size: int = 2,
                 use_mean_pooling: bool = True, pretrained: str | None = None, return_feat_map: bool = False,
                 with_cp: bool = False, init_cfg: object = None):
        super().__init__()
        norm_cfg = norm_cfg or dict(type='LN', eps=1e-6)
        self.embed_dims = embed_dims
        self.patch_size = patch_size
        self.pretrained = pretrained
        self.with_cp = with_cp
        self.return_feat_map = return_feat_map
        self.patch_embed = PatchEmbed3d(in_channels, embed_dims, tubelet_size, patch_size)
        grid = img_size // patch_size
        self.grid_size = (grid, grid)
        num_patches = grid * grid * (num_frames // tubelet_size)
        if use_learnable_pos_emb:
            self.pos_embed = nn.Parameter(torch.zeros(1, num_patches, embed_dims))
            nn.init.trunc_normal_(self.pos_embed, std=0.02)
        else:
            self.register_buffer('pos_embed', sinusoid_encoding(num_patches, embed_dims))
        self.pos_drop = nn.Dropout(drop_rate)
        rates = torch.linspace(0, drop_path_rate, depth).tolist()
        self.blocks = nn.ModuleList([
            Block(embed_dims, num_heads, mlp_ratio, qkv_bias, qk_scale, drop_rate, attn_drop_rate, rates[i],
                  init_values, norm_cfg) for i in range(depth)])
        self.norm = nn.Identity() if use_mean_pooling else _layer_norm(norm_cfg, embed_dims)
        self.fc_norm = _layer_norm(norm_cfg, embed_dims) if use_mean_pooling else None
        self.init_weights()

    def init_weights(self) -> None:
        """mmaction2's init: truncated-normal(0.02) Linear weights with zero bias, LayerNorm 1/0; then
        ``pretrained`` (a path or URL) loaded non-strictly when set."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if self.pretrained:
            import logging
            from mmaction.utils.checkpoint import load_checkpoint
            load_checkpoint(self, self.pretrained, strict=False, logger=logging.getLogger('mmaction'))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, _, h, w = x.shape
        h, w = h // self.patch_size, w // self.patch_size
        x = self.patch_embed(x)
        pos_embed = self.pos_embed
        if (h, w) != self.grid_size:
            table = pos_embed.reshape(-1, *self.grid_size, self.embed_dims).permute(0, 3, 1, 2)
            table = F.interpolate(table, size=(h, w), mode='bicubic', align_corners=False)
            pos_embed = table.permute(0, 2, 3, 1).reshape(1, -1, self.embed_dims)
        x = self.pos_drop(x + pos_embed)
        x = run_blocks(self.blocks, x, self.with_cp, self.training)
        x = self.norm(x)
        if self.return_feat_map:
            return x.reshape(n, -1, h, w, self.embed_dims).permute(0, 4, 1, 2, 3)
        if self.fc_norm is not None:
            return self.fc_norm(x.mean(1))
        return x[:, 0]
