"""Pieces shared by the video transformers (key layouts as mmaction2/mmcv name them).

Attention runs through ``torch.nn.functional.scaled_dot_product_attention``: flash / memory-efficient kernels on a
GPU, a fused kernel on the CPU, and the same numbers as softmax(q k^T / sqrt(d)) v up to float rounding.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmaction.models.backbones._common import maybe_checkpoint


class DropPath(nn.Module):
    """Stochastic depth: zero a sample's residual branch with probability ``drop_prob`` in training."""

    def __init__(self, drop_prob: float = 0.0):
        super().__init__()
        self.drop_prob = float(drop_prob)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1.0 - self.drop_prob
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        return x * mask / keep


def drop_path_or_identity(drop_prob: float) -> nn.Module:
    return DropPath(drop_prob) if drop_prob > 0 else nn.Identity()


class FeedForward(nn.Module):
    """Linear -> activation -> dropout -> Linear -> dropout, with mmcv ``FFN``'s keys (``layers.0.0``, ``layers.1``).

    (N, L, C) -> (N, L, C).
    """

    def __init__(self, embed_dims: int, hidden_dims: int, drop: float = 0.0, act: type[nn.Module] = nn.GELU):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Sequential(nn.Linear(embed_dims, hidden_dims), act(), nn.Dropout(drop)),
            nn.Linear(hidden_dims, embed_dims), nn.Dropout(drop))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


def multihead_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, num_heads: int,
                        dropout_p: float = 0.0) -> torch.Tensor:
    """(N, L, C) queries and (N, S, C) keys, values -> (N, L, C) attention output, heads split along C."""
    n, length, channels = q.shape
    q, k, v = (t.reshape(n, t.shape[1], num_heads, channels // num_heads).transpose(1, 2) for t in (q, k, v))
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p)
    return out.transpose(1, 2).reshape(n, length, channels)


class MultiheadSelfAttention(nn.Module):
    """Attention with ``torch.nn.MultiheadAttention``'s parameter layout (``in_proj_weight``, ``in_proj_bias``,
    ``out_proj``), batch first: (N, L, C) -> (N, L, C). Self-attention, or cross-attention to ``context``
    (N, S, C) when given (keys and values from the context)."""

    def __init__(self, embed_dims: int, num_heads: int, attn_drop: float = 0.0):
        super().__init__()
        self.num_heads = num_heads
        self.attn_drop = attn_drop
        self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dims, embed_dims))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * embed_dims))
        self.out_proj = nn.Linear(embed_dims, embed_dims)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        if context is None:
            q, k, v = F.linear(x, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1)
        else:
            w_q, w_kv = self.in_proj_weight.split([x.shape[-1], 2 * x.shape[-1]])
            b_q, b_kv = self.in_proj_bias.split([x.shape[-1], 2 * x.shape[-1]])
            q = F.linear(x, w_q, b_q)
            k, v = F.linear(context, w_kv, b_kv).chunk(2, dim=-1)
        out = multihead_attention(q, k, v, self.num_heads, self.attn_drop if self.training else 0.0)
        return self.out_proj(out)


def sinusoid_encoding(num_positions: int, embed_dims: int) -> torch.Tensor:
    """The fixed sine/cosine table of "Attention is all you need": (1, num_positions, embed_dims), float32."""
    dims = torch.arange(embed_dims, dtype=torch.float64)
    inv_freq = torch.pow(10000, -(dims - dims % 2) / embed_dims).view(1, -1)
    table = torch.arange(num_positions).view(-1, 1) * inv_freq
    table[:, 0::2].sin_()
    table[:, 1::2].cos_()
    return table.to(torch.float32).unsqueeze(0)


def run_blocks(blocks: Sequence[Callable[[torch.Tensor], torch.Tensor]], x: torch.Tensor, with_cp: bool,
               training: bool) -> torch.Tensor:
    """Apply ``blocks`` in order; with ``with_cp`` in training, recompute each block's activations in the backward
    pass instead of storing them (activation checkpointing: less memory, one more forward)."""
    for block in blocks:
        x = maybe_checkpoint(block, x, with_cp and training)
    return x


def load_pretrained(module: nn.Module, source: str, inflate_2d: bool) -> None:
    """Load ``source`` (path or URL) into ``module`` non-strictly, mismatches reported. With ``inflate_2d``, a 2D
    kernel whose 3D counterpart has a time axis is placed in the centre frame, the other frames zero (the
    ImageNet/CLIP inflation of UniFormer v1/v2: the inflated network computes what the 2D one did per frame)."""
    import logging

    from mmaction.utils.checkpoint import get_state_dict, load_file, load_state_dict
    state = dict(get_state_dict(load_file(source), source))
    if inflate_2d:
        own = module.state_dict()
        for key, value in list(state.items()):
            if key in own and value.shape != own[key].shape and own[key].dim() > 2:
                inflated = value.new_zeros(own[key].shape)
                inflated[:, :, own[key].shape[2] // 2] = value
                state[key] = inflated
    load_state_dict(module, state, strict=False, logger=logging.getLogger('mmaction'))
