"""MViTv2 (mmaction2 ``MViT``): multiscale pooling attention with decomposed relative positions and residual
pooling; tiny/small/base/large.

Li et al., "MViTv2: Improved Multiscale Vision Transformers for Classification and Detection" (CVPR 2022).
Keys as mmaction2 1.2.0.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from mmaction.registry import MODELS

from ._transformer import drop_path_or_identity

ARCHS = {
    'tiny': dict(embed_dims=96, num_layers=10, num_heads=1, downscale_indices=[1, 3, 8]),
    'small': dict(embed_dims=96, num_layers=16, num_heads=1, downscale_indices=[1, 3, 14]),
    'base': dict(embed_dims=96, num_layers=24, num_heads=1, downscale_indices=[2, 5, 21]),
    'large': dict(embed_dims=144, num_layers=48, num_heads=2, downscale_indices=[2, 8, 44]),
}


def _triple(value: int | Sequence[int]) -> tuple[int, int, int]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * 3


def resize_pos_embed(pos_embed: torch.Tensor, src: Sequence[int], dst: Sequence[int], mode: str = 'trilinear',
                     num_extra_tokens: int = 1) -> torch.Tensor:
    """(1, extra + t*h*w, C) table resized from grid ``src`` to ``dst``; extra tokens kept."""
    if tuple(src) == tuple(dst):
        return pos_embed
    extra, grid = pos_embed[:, :num_extra_tokens], pos_embed[:, num_extra_tokens:]
    grid = grid.reshape(1, *src, -1).permute(0, 4, 1, 2, 3)
    grid = F.interpolate(grid, size=tuple(dst), align_corners=False, mode=mode)
    return torch.cat((extra, grid.flatten(2).transpose(1, 2)), dim=1)


def _rel_pos_table(rel_pos: torch.Tensor, q_size: int, k_size: int) -> torch.Tensor:
    """(q_size, k_size, C) embeddings of the scaled relative distance between query and key positions."""
    max_dist = 2 * max(q_size, k_size) - 1
    if rel_pos.shape[0] != max_dist:
        rel_pos = F.interpolate(rel_pos.t().unsqueeze(0), size=max_dist, mode='linear').squeeze(0).t()
    q_ratio, k_ratio = max(k_size / q_size, 1.0), max(q_size / k_size, 1.0)
    coords = (torch.arange(q_size)[:, None] * q_ratio - torch.arange(k_size)[None, :] * k_ratio
              + (k_size - 1) * k_ratio)
    return rel_pos[coords.long()]


def decomposed_rel_pos_bias(q: torch.Tensor, q_shape: Sequence[int], k_shape: Sequence[int],
                            rel_pos_h: torch.Tensor, rel_pos_w: torch.Tensor, rel_pos_t: torch.Tensor,
                            skip: int) -> torch.Tensor:
    """The additive bias q . (R_t + R_h + R_w) for the patch tokens of (B, heads, skip + Nq, C) queries:
    (B, heads, skip + Nq, skip + Nk), zero on the rows/columns of the ``skip`` cls token(s)."""
    b, heads, _, c = q.shape
    rt = _rel_pos_table(rel_pos_t, q_shape[0], k_shape[0])
    rh = _rel_pos_table(rel_pos_h, q_shape[1], k_shape[1])
    rw = _rel_pos_table(rel_pos_w, q_shape[2], k_shape[2])
    r_q = q[:, :, skip:].reshape(b, heads, *q_shape, c)
    bias_t = torch.einsum('bythwc,tkc->bythwk', r_q, rt)[..., :, None, None]
    bias_h = torch.einsum('bythwc,hkc->bythwk', r_q, rh)[..., None, :, None]
    bias_w = torch.einsum('bythwc,wkc->bythwk', r_q, rw)[..., None, None, :]
    patch_bias = (bias_t + bias_h + bias_w).reshape(b, heads, math.prod(q_shape), math.prod(k_shape))
    return F.pad(patch_bias, (skip, 0, skip, 0))


def attention_pool(x: torch.Tensor, pool: nn.Module, in_size: Sequence[int], with_cls_token: bool,
                   norm: nn.Module | None = None) -> tuple[torch.Tensor, tuple[int, int, int]]:
    """Pool the patch tokens of (B, heads, [1 +] T*H*W, C) (or (B, L, C)) over space-time with ``pool``;
    the cls token is passed through. Returns the pooled tokens and their (T', H', W')."""
    squeeze = x.dim() == 3
    if squeeze:
        x = x.unsqueeze(1)
    b, heads, _, c = x.shape
    cls_token, x = (x[:, :, :1], x[:, :, 1:]) if with_cls_token else (None, x)
    x = pool(x.reshape(b * heads, *in_size, c).permute(0, 4, 1, 2, 3))
    out_size = tuple(x.shape[2:])
    x = x.reshape(b, heads, c, -1).transpose(2, 3)
    if cls_token is not None:
        x = torch.cat((cls_token, x), dim=2)
    if norm is not None:
        x = norm(x)
    return (x.squeeze(1) if squeeze else x), out_size


class MultiScaleAttention(nn.Module):
    """Pooling attention: q, k, v each pooled by a depthwise Conv3d + LayerNorm per head, relative-position bias,
    residual pooling (x += q). (B, [1 +] T*H*W, C_in) -> (B, [1 +] T'*H'*W', C_out)."""

    def __init__(self, in_dims: int, out_dims: int, num_heads: int, qkv_bias: bool, norm_eps: float,
                 pool_kernel: Sequence[int], stride_q: Sequence[int], stride_kv: Sequence[int], rel_pos_embed: bool,
                 residual_pooling: bool, input_size: Sequence[int], rel_pos_zero_init: bool, with_cls_token: bool):
        super().__init__()
        self.num_heads, self.out_dims, self.with_cls_token = num_heads, out_dims, with_cls_token
        head_dims = out_dims // num_heads
        self.qkv = nn.Linear(in_dims, out_dims * 3, bias=qkv_bias)
        self.proj = nn.Linear(out_dims, out_dims)
        padding = [k // 2 for k in pool_kernel]

        def pooling(stride: Sequence[int]) -> tuple[nn.Module, nn.Module]:
            conv = nn.Conv3d(head_dims, head_dims, tuple(pool_kernel), stride=tuple(stride), padding=padding,
                             groups=head_dims, bias=False)
            return conv, nn.LayerNorm(head_dims, eps=norm_eps)

        self.pool_q, self.norm_q = pooling(stride_q)
        self.pool_k, self.norm_k = pooling(stride_kv)
        self.pool_v, self.norm_v = pooling(stride_kv)
        self.residual_pooling = residual_pooling
        self.rel_pos_embed = rel_pos_embed
        if rel_pos_embed:
            if input_size[1] != input_size[2]:
                raise ValueError(f'MViT: relative positions need a square token grid, got {tuple(input_size)}')
            size = input_size[1]
            rel_dim = 2 * max(size // stride_q[1], size // stride_kv[1]) - 1
            self.rel_pos_h = nn.Parameter(torch.zeros(rel_dim, head_dims))
            self.rel_pos_w = nn.Parameter(torch.zeros(rel_dim, head_dims))
            self.rel_pos_t = nn.Parameter(torch.zeros(2 * input_size[0] - 1, head_dims))
            if not rel_pos_zero_init:
                for table in (self.rel_pos_h, self.rel_pos_w, self.rel_pos_t):
                    nn.init.trunc_normal_(table, std=0.02)

    def forward(self, x: torch.Tensor, in_size: Sequence[int]) -> tuple[torch.Tensor, tuple[int, int, int]]:
        b, n, _ = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
        q, q_shape = attention_pool(q, self.pool_q, in_size, self.with_cls_token, self.norm_q)
        k, k_shape = attention_pool(k, self.pool_k, in_size, self.with_cls_token, self.norm_k)
        v, _ = attention_pool(v, self.pool_v, in_size, self.with_cls_token, self.norm_v)
        bias = None
        if self.rel_pos_embed:
            bias = decomposed_rel_pos_bias(q, q_shape, k_shape, self.rel_pos_h, self.rel_pos_w, self.rel_pos_t,
                                           int(self.with_cls_token))
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
        if self.residual_pooling:
            skip = int(self.with_cls_token)
            out = torch.cat((out[:, :, :skip], out[:, :, skip:] + q[:, :, skip:]), dim=2)
        return self.proj(out.transpose(1, 2).reshape(b, -1, self.out_dims)), q_shape


class Mlp(nn.Module):
    def __init__(self, in_channels: int, hidden_channels: int, out_channels: int):
        super().__init__()
        self.fc1 = nn.Linear(in_channels, hidden_channels)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class MultiScaleBlock(nn.Module):
    """Pooling attention and MLP with residuals; the skip path is max-pooled when queries are strided and
    projected when the width changes. (B, L, C_in) + grid -> (B, L', C_out) + grid'."""

    def __init__(self, in_dims: int, out_dims: int, num_heads: int, mlp_ratio: float, qkv_bias: bool,
                 drop_path: float, norm_eps: float, qkv_pool_kernel: Sequence[int], stride_q: Sequence[int],
                 stride_kv: Sequence[int], rel_pos_embed: bool, residual_pooling: bool, with_cls_token: bool,
                 dim_mul_in_attention: bool, input_size: Sequence[int], rel_pos_zero_init: bool):
        super().__init__()
        self.with_cls_token, self.dim_mul_in_attention = with_cls_token, dim_mul_in_attention
        attn_dims = out_dims if dim_mul_in_attention else in_dims
        self.norm1 = nn.LayerNorm(in_dims, eps=norm_eps)
        self.attn = MultiScaleAttention(in_dims, attn_dims, num_heads, qkv_bias, norm_eps, qkv_pool_kernel,
                                        stride_q, stride_kv, rel_pos_embed, residual_pooling, input_size,
                                        rel_pos_zero_init, with_cls_token)
        self.drop_path = drop_path_or_identity(drop_path)
        self.norm2 = nn.LayerNorm(attn_dims, eps=norm_eps)
        self.mlp = Mlp(attn_dims, int(attn_dims * mlp_ratio), out_dims)
        self.proj = nn.Linear(in_dims, out_dims) if in_dims != out_dims else None
        if math.prod(stride_q) > 1:
            kernel = [s + 1 if s > 1 else s for s in stride_q]
            self.pool_skip = nn.MaxPool3d(kernel, tuple(stride_q), [k // 2 for k in kernel], ceil_mode=False)
            self.out_size = tuple(size // s for size, s in zip(input_size, stride_q))
        else:
            self.pool_skip = None
            self.out_size = tuple(input_size)

    def forward(self, x: torch.Tensor, in_size: Sequence[int]) -> tuple[torch.Tensor, tuple[int, int, int]]:
        x_norm = self.norm1(x)
        x_attn, out_size = self.attn(x_norm, in_size)
        skip = self.proj(x_norm) if self.dim_mul_in_attention and self.proj is not None else x
        if self.pool_skip is not None:
            skip, _ = attention_pool(skip, self.pool_skip, in_size, self.with_cls_token)
        x = skip + self.drop_path(x_attn)
        x_norm = self.norm2(x)
        skip = self.proj(x_norm) if not self.dim_mul_in_attention and self.proj is not None else x
        return skip + self.drop_path(self.mlp(x_norm)), out_size


class PatchEmbed3D(nn.Module):
    """(B, C, T, H, W) -> (B, T'*H'*W', D) and (T', H', W'), with one Conv3d (``padding='corner'`` pads the end of
    each dimension so that every input position is covered)."""

    def __init__(self, in_channels: int, embed_dims: int, kernel_size: Sequence[int], stride: Sequence[int],
                 padding: str | Sequence[int], input_size: Sequence[int]):
        super().__init__()
        self.kernel, self.stride = _triple(kernel_size), _triple(stride or kernel_size)
        if isinstance(padding, str):
            if padding != 'corner':
                raise ValueError(f"MViT: patch_cfg padding must be 'corner' or numbers, got '{padding}'")
            self.corner = True
            pad = (0, 0, 0)
        else:
            self.corner, pad = False, _triple(padding)
        self.projection = nn.Conv3d(in_channels, embed_dims, self.kernel, stride=self.stride, padding=pad)
        size = [s + p for s, p in zip(input_size, self._corner_pads(input_size))]
        self.init_out_size = tuple((s + 2 * p - k) // st + 1 for s, p, k, st in zip(size, pad, self.kernel, self.stride))

    def _corner_pads(self, size: Sequence[int]) -> list[int]:
        if not self.corner:
            return [0, 0, 0]
        return [max((math.ceil(s / st) - 1) * st + k - s, 0) for s, k, st in zip(size, self.kernel, self.stride)]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int, int]]:
        pads = self._corner_pads(x.shape[2:])
        if any(pads):
            x = F.pad(x, (0, pads[2], 0, pads[1], 0, pads[0]))
        x = self.projection(x)
        return x.flatten(2).transpose(1, 2), tuple(x.shape[2:])


@MODELS.register_module()
class MViT(nn.Module):
    """Input (B, C, T, H, W). Output: a tuple with one entry per ``out_scales`` stage, each ``[patch_tokens
    (B, C', T', H', W'), cls_token (B, C')]`` when ``output_cls_token`` else the patch tokens alone (mmaction2's
    layout, which its ``MViTHead`` expects). ``with_cp``: activation checkpointing of every block in training."""

    num_extra_tokens = 1

    def __init__(self, arch: str | dict = 'base', spatial_size: int = 224, temporal_size: int = 16,
                 in_channels: int = 3, pretrained: str | None = None, pretrained_type: str | None = None,
                 out_scales: int | Sequence[int] = -1, drop_path_rate: float = 0.0, use_abs_pos_embed: bool = False,
                 interpolate_mode: str = 'trilinear', pool_kernel: Sequence[int] = (3, 3, 3), dim_mul: int = 2,
                 head_mul: int = 2, adaptive_kv_stride: Sequence[int] = (1, 8, 8), rel_pos_embed: bool = True,
                 residual_pooling: bool = True, dim_mul_in_attention: bool = True, with_cls_token: bool = True,
                 output_cls_token: bool = True, rel_pos_zero_init: bool = False, mlp_ratio: float = 4.0,
                 qkv_bias: bool = True, norm_cfg: dict | None = None, patch_cfg: dict | None = None,
                 with_cp: bool = False, init_cfg: object = None):
        super().__init__()
        if isinstance(arch, str):
            if arch.lower() not in ARCHS:
                raise ValueError(f"MViT: arch '{arch}' is not one of {sorted(ARCHS)}")
            settings = ARCHS[arch.lower()]
        else:
            needed = {'embed_dims', 'num_layers', 'num_heads', 'downscale_indices'}
            if not isinstance(arch, dict) or not needed <= set(arch):
                raise ValueError(f'MViT: a custom arch is a dict with {sorted(needed)}; got {arch!r}')
            settings = arch
        if output_cls_token and not with_cls_token:
            raise ValueError('MViT: output_cls_token=True needs with_cls_token=True')
        norm_eps = (norm_cfg or dict(eps=1e-6)).get('eps', 1e-5)
        patch_cfg = dict(dict(kernel_size=(3, 7, 7), stride=(2, 4, 4), padding=(1, 3, 3)), **(patch_cfg or {}))
        self.pretrained, self.pretrained_type, self.with_cp = pretrained, pretrained_type, with_cp
        embed_dims, num_layers = settings['embed_dims'], settings['num_layers']
        downscale = list(settings['downscale_indices'])
        dim_mul_indices = list(settings.get('dim_mul_indices', downscale))
        num_scales = len(downscale) + 1
        self.stage_indices = {index - 1: i for i, index in enumerate(downscale)}
        self.stage_indices[num_layers - 1] = num_scales - 1
        out_scales = [out_scales] if isinstance(out_scales, int) else list(out_scales)
        out_scales = [s + num_scales if s < 0 else s for s in out_scales]
        if not all(0 <= s <= num_scales for s in out_scales):
            raise ValueError(f'MViT: out_scales {out_scales} must lie in [-{num_scales}, {num_scales}]')
        self.out_scales = sorted(out_scales)
        self.use_abs_pos_embed, self.interpolate_mode = use_abs_pos_embed, interpolate_mode
        self.with_cls_token, self.output_cls_token = with_cls_token, output_cls_token
        self.patch_embed = PatchEmbed3D(in_channels, embed_dims, patch_cfg['kernel_size'], patch_cfg.get('stride'),
                                        patch_cfg.get('padding', 'corner'),
                                        (temporal_size, spatial_size, spatial_size))
        self.patch_resolution = self.patch_embed.init_out_size
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        if use_abs_pos_embed:
            self.pos_embed = nn.Parameter(
                torch.zeros(1, math.prod(self.patch_resolution) + self.num_extra_tokens, embed_dims))
            nn.init.trunc_normal_(self.pos_embed, std=0.02)
        rates = torch.linspace(0, drop_path_rate, num_layers).tolist()
        self.blocks = nn.ModuleList()
        dims, heads, stride_kv, size = [embed_dims], settings['num_heads'], list(adaptive_kv_stride), self.patch_resolution
        for i in range(num_layers):
            if i in downscale or i in dim_mul_indices:
                heads *= head_mul
            if i in downscale:
                stride_q, stride_kv = [1, 2, 2], [max(s // 2, 1) for s in stride_kv]
            else:
                stride_q = [1, 1, 1]
            widen = i in dim_mul_indices if dim_mul_in_attention else i + 1 in dim_mul_indices
            out_dims = dims[-1] * dim_mul if widen else dims[-1]
            block = MultiScaleBlock(dims[-1], out_dims, heads, mlp_ratio, qkv_bias, rates[i], norm_eps, pool_kernel,
                                    stride_q, stride_kv, rel_pos_embed, residual_pooling, with_cls_token,
                                    dim_mul_in_attention, size, rel_pos_zero_init)
            self.blocks.append(block)
            size = block.out_size
            dims.append(out_dims)
            if i in self.stage_indices and self.stage_indices[i] in self.out_scales:
                self.add_module(f'norm{self.stage_indices[i]}', nn.LayerNorm(out_dims, eps=norm_eps))

    def init_weights(self) -> None:
        """Load ``pretrained`` non-strictly; for ``pretrained_type='maskfeat'`` take the ``backbone.`` entries and
        resize the relative-position tables linearly where their length differs (as mmaction2 does)."""
        if not self.pretrained:
            return
        import logging
        from mmaction.utils.checkpoint import get_state_dict, load_file, load_state_dict
        state = dict(get_state_dict(load_file(self.pretrained), self.pretrained))
        if self.pretrained_type == 'maskfeat':
            state = {k[len('backbone.'):]: v for k, v in state.items() if k.startswith('backbone.')}
            own = self.state_dict()
            for key in [k for k in state if 'attn.rel_pos' in k and k in own]:
                length, dims = own[key].shape
                if state[key].shape[1] == dims and state[key].shape[0] != length:
                    state[key] = F.interpolate(state[key].t().unsqueeze(0), size=length, mode='linear')[0].t()
        load_state_dict(self, state, strict=False, logger=logging.getLogger('mmaction'))

    def forward(self, x: torch.Tensor) -> tuple:
        b = x.shape[0]
        x, resolution = self.patch_embed(x)
        x = torch.cat((self.cls_token.expand(b, -1, -1), x), dim=1)
        if self.use_abs_pos_embed:
            x = x + resize_pos_embed(self.pos_embed, self.patch_resolution, resolution, self.interpolate_mode,
                                     self.num_extra_tokens)
        if not self.with_cls_token:
            x = x[:, 1:]
        outs = []
        for i, block in enumerate(self.blocks):
            if self.with_cp and self.training and x.requires_grad:
                x, resolution = checkpoint(block, x, resolution, use_reentrant=False)
            else:
                x, resolution = block(x, resolution)
            stage = self.stage_indices.get(i)
            if stage is not None and stage in self.out_scales:
                x = getattr(self, f'norm{stage}')(x)
                tokens = x.transpose(1, 2)
                skip = int(self.with_cls_token)
                patch_tokens = tokens[:, :, skip:].reshape(b, tokens.shape[1], *resolution)
                outs.append([patch_tokens, tokens[:, :, 0]] if self.output_cls_token else patch_tokens)
        return tuple(outs)
