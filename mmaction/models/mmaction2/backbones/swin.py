"""Video Swin Transformer (mmaction2 ``SwinTransformer3D``): shifted 3D-window attention, T/S/B/L.

Liu et al., "Video Swin Transformer" (CVPR 2022). Keys as mmaction2 1.2.0.
"""
from __future__ import annotations

import functools
import math
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmaction.models.backbones._common import maybe_checkpoint
from mmaction.registry import MODELS

from ._transformer import drop_path_or_identity

ARCHS = {
    **dict.fromkeys(['t', 'tiny'], dict(embed_dims=96, depths=[2, 2, 6, 2], num_heads=[3, 6, 12, 24])),
    **dict.fromkeys(['s', 'small'], dict(embed_dims=96, depths=[2, 2, 18, 2], num_heads=[3, 6, 12, 24])),
    **dict.fromkeys(['b', 'base'], dict(embed_dims=128, depths=[2, 2, 18, 2], num_heads=[4, 8, 16, 32])),
    **dict.fromkeys(['l', 'large'], dict(embed_dims=192, depths=[2, 2, 18, 2], num_heads=[6, 12, 24, 48])),
}


def window_partition(x: torch.Tensor, window: Sequence[int]) -> torch.Tensor:
    """(B, D, H, W, C) -> (B, nW, wd*wh*ww, C); D, H, W multiples of the window."""
    b, d, h, w, c = x.shape
    x = x.view(b, d // window[0], window[0], h // window[1], window[1], w // window[2], window[2], c)
    return x.permute(0, 1, 3, 5, 2, 4, 6, 7).reshape(b, -1, math.prod(window), c)


def window_reverse(windows: torch.Tensor, window: Sequence[int], d: int, h: int, w: int) -> torch.Tensor:
    """(B, nW, wd*wh*ww, C) -> (B, D, H, W, C), the inverse of :func:`window_partition`."""
    b, c = windows.shape[0], windows.shape[-1]
    x = windows.view(b, d // window[0], h // window[1], w // window[2], window[0], window[1], window[2], c)
    return x.permute(0, 1, 4, 2, 5, 3, 6, 7).reshape(b, d, h, w, c)


def fit_window(size: Sequence[int], window: Sequence[int], shift: Sequence[int]) -> tuple[tuple, tuple]:
    """A window no larger than the feature map; no shift along a dimension the window covers entirely."""
    window = tuple(s if s <= wnd else wnd for s, wnd in zip(size, window))
    shift = tuple(0 if s <= wnd else sh for s, wnd, sh in zip(size, window, shift))
    return window, shift


@functools.lru_cache(maxsize=32)
def shifted_window_mask(d: int, h: int, w: int, window: tuple, shift: tuple, device: torch.device) -> torch.Tensor:
    """(nW, N, N) additive mask: -100 between tokens that the cyclic shift brought from different regions
    (mmaction2's value; exp(-100) is 0 in float32 after the softmax)."""
    regions = torch.zeros((1, d, h, w, 1), device=device)
    label = 0
    for ds in (slice(-window[0]), slice(-window[0], -shift[0]), slice(-shift[0], None)):
        for hs in (slice(-window[1]), slice(-window[1], -shift[1]), slice(-shift[1], None)):
            for ws in (slice(-window[2]), slice(-window[2], -shift[2]), slice(-shift[2], None)):
                regions[:, ds, hs, ws, :] = label
                label += 1
    ids = window_partition(regions, window)[0, :, :, 0]  # (nW, N)
    diff = ids.unsqueeze(1) - ids.unsqueeze(2)
    return torch.zeros_like(diff).masked_fill(diff != 0, -100.0)


class WindowAttention3D(nn.Module):
    """Multi-head attention inside each window with a learned relative-position bias.

    (B, nW, N, C) windows and an optional (nW, N, N) mask -> (B, nW, N, C)."""

    def __init__(self, embed_dims: int, window_size: Sequence[int], num_heads: int, qkv_bias: bool = True,
                 qk_scale: float | None = None, attn_drop: float = 0.0, proj_drop: float = 0.0):
        super().__init__()
        self.num_heads = num_heads
        self.scale = qk_scale or (embed_dims // num_heads) ** -0.5
        wd, wh, ww = window_size
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * wd - 1) * (2 * wh - 1) * (2 * ww - 1), num_heads))
        coords = torch.stack(torch.meshgrid(torch.arange(wd), torch.arange(wh), torch.arange(ww),
                                            indexing='ij')).flatten(1)  # (3, N)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0)  # (N, N, 3)
        rel = rel + torch.tensor([wd - 1, wh - 1, ww - 1])
        index = rel[..., 0] * (2 * wh - 1) * (2 * ww - 1) + rel[..., 1] * (2 * ww - 1) + rel[..., 2]
        self.register_buffer('relative_position_index', index)
        self.qkv = nn.Linear(embed_dims, embed_dims * 3, bias=qkv_bias)
        self.attn_drop = attn_drop
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.proj_drop = nn.Dropout(proj_drop)
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        b, nw, n, c = x.shape
        qkv = self.qkv(x).reshape(b, nw, n, 3, self.num_heads, c // self.num_heads).permute(3, 0, 1, 4, 2, 5)
        q, k, v = qkv.unbind(0)  # (B, nW, heads, N, c/heads)
        index = self.relative_position_index[:n, :n].reshape(-1)
        bias = self.relative_position_bias_table[index].reshape(n, n, -1).permute(2, 0, 1)  # (heads, N, N)
        if mask is not None:
            bias = bias.unsqueeze(0) + mask.unsqueeze(1)  # (nW, heads, N, N)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype), scale=self.scale,
                                             dropout_p=self.attn_drop if self.training else 0.0)
        return self.proj_drop(self.proj(out.transpose(2, 3).reshape(b, nw, n, c)))


class Mlp(nn.Module):
    def __init__(self, in_features: int, hidden_features: int, drop: float = 0.0):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden_features, in_features)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class SwinTransformerBlock3D(nn.Module):
    """(Shifted) window attention and MLP, both pre-norm with residuals: (B, D, H, W, C) -> same."""

    def __init__(self, embed_dims: int, num_heads: int, window_size: Sequence[int], shift_size: Sequence[int],
                 mlp_ratio: float, qkv_bias: bool, qk_scale: float | None, drop: float, attn_drop: float,
                 drop_path: float, norm_eps: float, with_cp: bool):
        super().__init__()
        if not all(0 <= s < w for s, w in zip(shift_size, window_size)):
            raise ValueError(f'SwinTransformer3D: shift {tuple(shift_size)} must lie in [0, window {tuple(window_size)})')
        self.window_size, self.shift_size, self.with_cp = tuple(window_size), tuple(shift_size), with_cp
        self.norm1 = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.attn = WindowAttention3D(embed_dims, window_size, num_heads, qkv_bias, qk_scale, attn_drop, drop)
        self.drop_path = drop_path_or_identity(drop_path)
        self.norm2 = nn.LayerNorm(embed_dims, eps=norm_eps)
        self.mlp = Mlp(embed_dims, int(embed_dims * mlp_ratio), drop)

    def _attention(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        b, d, h, w, c = x.shape
        window, shift = fit_window((d, h, w), self.window_size, self.shift_size)
        x = self.norm1(x)
        pads = [(wnd - s % wnd) % wnd for s, wnd in zip((d, h, w), window)]
        x = F.pad(x, (0, 0, 0, pads[2], 0, pads[1], 0, pads[0]))
        dp, hp, wp = x.shape[1:4]
        shifted = any(s > 0 for s in shift)
        if shifted:
            x = torch.roll(x, shifts=tuple(-s for s in shift), dims=(1, 2, 3))
        out = self.attn(window_partition(x, window), mask if shifted else None)
        x = window_reverse(out, window, dp, hp, wp)
        if shifted:
            x = torch.roll(x, shifts=shift, dims=(1, 2, 3))
        return x[:, :d, :h, :w].contiguous()

    def _mlp(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop_path(self.mlp(self.norm2(x)))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        cp = self.with_cp and self.training
        x = x + self.drop_path(maybe_checkpoint(self._attention, x, cp, mask))
        return x + maybe_checkpoint(self._mlp, x, cp)


class PatchMerging(nn.Module):
    """2x2 spatial neighbours concatenated and projected: (B, D, H, W, C) -> (B, D, ceil(H/2), ceil(W/2), 2C)."""

    def __init__(self, embed_dims: int, norm_eps: float):
        super().__init__()
        self.out_embed_dims = 2 * embed_dims
        self.reduction = nn.Linear(4 * embed_dims, 2 * embed_dims, bias=False)
        self.norm = nn.LayerNorm(4 * embed_dims, eps=norm_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2:4]
        if h % 2 or w % 2:
            x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        x = torch.cat([x[:, :, 0::2, 0::2], x[:, :, 1::2, 0::2], x[:, :, 0::2, 1::2], x[:, :, 1::2, 1::2]], -1)
        return self.reduction(self.norm(x))


class BasicLayer(nn.Module):
    """One stage: ``depth`` blocks alternating plain and shifted windows, then (optionally) patch merging."""

    def __init__(self, embed_dims: int, depth: int, num_heads: int, window_size: Sequence[int], mlp_ratio: float,
                 qkv_bias: bool, qk_scale: float | None, drop: float, attn_drop: float, drop_paths: Sequence[float],
                 norm_eps: float, downsample: bool, with_cp: bool):
        super().__init__()
        self.window_size = tuple(window_size)
        self.shift_size = tuple(s // 2 for s in window_size)
        self.blocks = nn.ModuleList([
            SwinTransformerBlock3D(embed_dims, num_heads, window_size, (0, 0, 0) if i % 2 == 0 else self.shift_size,
                                   mlp_ratio, qkv_bias, qk_scale, drop, attn_drop, drop_paths[i], norm_eps, with_cp)
            for i in range(depth)])
        self.downsample = PatchMerging(embed_dims, norm_eps) if downsample else None
        self.out_embed_dims = 2 * embed_dims if downsample else embed_dims

    def forward(self, x: torch.Tensor, do_downsample: bool = True) -> torch.Tensor:
        """(B, C, D, H, W) -> (B, D, H, W, C') (channels last, as the next stage's norm wants it)."""
        _, _, d, h, w = x.shape
        window, shift = fit_window((d, h, w), self.window_size, self.shift_size)
        padded = [math.ceil(s / wnd) * wnd for s, wnd in zip((d, h, w), window)]
        mask = shifted_window_mask(*padded, window, shift, x.device)
        x = x.permute(0, 2, 3, 4, 1)
        for block in self.blocks:
            x = block(x, mask)
        if self.downsample is not None and do_downsample:
            x = self.downsample(x)
        return x


class PatchEmbed3D(nn.Module):
    """(B, C, T, H, W) -> (B, D, T/pt, H/ph, W/pw), padded up to multiples of the patch; optional LayerNorm."""

    def __init__(self, patch_size: Sequence[int], in_channels: int, embed_dims: int, norm_eps: float | None):
        super().__init__()
        self.patch_size = tuple(patch_size)
        self.proj = nn.Conv3d(in_channels, embed_dims, self.patch_size, stride=self.patch_size)
        self.norm = nn.LayerNorm(embed_dims, eps=norm_eps) if norm_eps is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = [(p - s % p) % p for s, p in zip(x.shape[2:], self.patch_size)]
        x = F.pad(x, (0, pads[2], 0, pads[1], 0, pads[0]))
        x = self.proj(x)
        if self.norm is not None:
            x = self.norm(x.permute(0, 2, 3, 4, 1)).permute(0, 4, 1, 2, 3)
        return x


@MODELS.register_module()
class SwinTransformer3D(nn.Module):
    """Input (B, C, T, H, W); output (B, C', T/2, H/32, W/32) for the default (2, 4, 4) patches and out_indices
    (3,), or a tuple for several ``out_indices``. ``arch``: 'tiny'/'small'/'base'/'large' (or 't'...'l') or a dict
    with embed_dims, depths, num_heads. ``pretrained`` with ``pretrained2d`` inflates a 2D Swin ImageNet checkpoint
    (``init_weights``)."""

    def __init__(self, arch: str | dict, pretrained: str | None = None, pretrained2d: bool = True,
                 patch_size: Sequence[int] = (2, 4, 4), in_channels: int = 3, window_size: Sequence[int] = (8, 7, 7),
                 mlp_ratio: float = 4.0, qkv_bias: bool = True, qk_scale: float | None = None, drop_rate: float = 0.0,
                 attn_drop_rate: float = 0.0, drop_path_rate: float = 0.1, act_cfg: dict | None = None,
                 norm_cfg: dict | None = None, patch_norm: bool = True, frozen_stages: int = -1,
                 with_cp: bool = False, out_indices: Sequence[int] = (3,), out_after_downsample: bool = False,
                 init_cfg: object = None):
        super().__init__()
        if isinstance(arch, str):
            if arch.lower() not in ARCHS:
                raise ValueError(f"SwinTransformer3D: arch '{arch}' is not one of {sorted(ARCHS)}")
            settings = ARCHS[arch.lower()]
        elif isinstance(arch, dict) and set(arch) == {'embed_dims', 'depths', 'num_heads'}:
            settings = arch
        else:
            raise ValueError(f'SwinTransformer3D: a custom arch is a dict with exactly embed_dims, depths, '
                             f'num_heads; got {arch!r}')
        if act_cfg not in (None, dict(type='GELU')):
            raise ValueError(f"SwinTransformer3D: only act_cfg=dict(type='GELU') is supported, got {act_cfg!r}")
        norm_eps = (norm_cfg or {}).get('eps', 1e-5)
        self.pretrained, self.pretrained2d = pretrained, pretrained2d
        self.patch_size, self.window_size = tuple(patch_size), tuple(window_size)
        depths, heads = settings['depths'], settings['num_heads']
        self.num_layers = len(depths)
        if max(out_indices) >= self.num_layers:
            raise ValueError(f'SwinTransformer3D: out_indices {tuple(out_indices)} must be < {self.num_layers}')
        self.out_indices, self.out_after_downsample, self.frozen_stages = tuple(out_indices), out_after_downsample, frozen_stages
        self.patch_embed = PatchEmbed3D(patch_size, in_channels, settings['embed_dims'],
                                        norm_eps if patch_norm else None)
        self.pos_drop = nn.Dropout(drop_rate)
        rates = torch.linspace(0, drop_path_rate, sum(depths)).tolist()
        self.layers = nn.ModuleList()
        dims = [settings['embed_dims']]
        for i, (depth, num_heads) in enumerate(zip(depths, heads)):
            layer = BasicLayer(dims[-1], depth, num_heads, window_size, mlp_ratio, qkv_bias, qk_scale, drop_rate,
                               attn_drop_rate, rates[:depth], norm_eps, i < self.num_layers - 1, with_cp)
            rates = rates[depth:]
            self.layers.append(layer)
            dims.append(layer.out_embed_dims)
        self.num_features = dims[1:] if out_after_downsample else dims[:-1]
        for i in self.out_indices:
            self.add_module(f'norm{i}', nn.LayerNorm(self.num_features[i], eps=norm_eps))
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        self._freeze_stages()

    def _freeze_stages(self) -> None:
        frozen = ([self.patch_embed] if self.frozen_stages >= 0 else []) + list(self.layers[:max(self.frozen_stages, 0)])
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def init_weights(self) -> None:
        """Load ``pretrained``: with ``pretrained2d``, a 2D Swin checkpoint (``model`` key) inflated as mmaction2
        does (patch conv repeated over time / t, bias tables resized bicubically and repeated over 2*wd-1, the 2D
        final ``norm`` -> ``norm3``); otherwise a 3D checkpoint as is. Non-strict, mismatches reported."""
        if not self.pretrained:
            return
        import logging
        from mmaction.utils.checkpoint import get_state_dict, load_file, load_state_dict
        raw = load_file(self.pretrained)
        if not self.pretrained2d:
            load_state_dict(self, get_state_dict(raw, self.pretrained), strict=False, logger=logging.getLogger('mmaction'))
            return
        state = {k: v for k, v in raw['model'].items() if 'relative_position_index' not in k and 'attn_mask' not in k}
        state['patch_embed.proj.weight'] = (state['patch_embed.proj.weight'].unsqueeze(2)
                                            .repeat(1, 1, self.patch_size[0], 1, 1) / self.patch_size[0])
        own = self.state_dict()
        wd, wh, ww = self.window_size
        for key in [k for k in state if 'relative_position_bias_table' in k]:
            table = state[key]
            if table.shape[1] != own[key].shape[1]:
                logging.getLogger('mmaction').warning(f'{key}: {table.shape[1]} heads in the 2D checkpoint, '
                                                      f'{own[key].shape[1]} here; not loaded')
                del state[key]
                continue
            if table.shape[0] != (2 * wh - 1) * (2 * ww - 1):
                side = int(table.shape[0] ** 0.5)
                table = F.interpolate(table.permute(1, 0).reshape(1, -1, side, side),
                                      size=(2 * wh - 1, 2 * ww - 1), mode='bicubic')
                table = table.reshape(table.shape[1], -1).permute(1, 0)
            state[key] = table.repeat(2 * wd - 1, 1)
        if hasattr(self, 'norm3') and 'norm.weight' in state:
            state['norm3.weight'], state['norm3.bias'] = state.pop('norm.weight'), state.pop('norm.bias')
        load_state_dict(self, state, strict=False, logger=logging.getLogger('mmaction'))

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        x = self.pos_drop(self.patch_embed(x))
        outs = []
        for i, layer in enumerate(self.layers):
            x = layer(x.contiguous(), do_downsample=self.out_after_downsample)
            if i in self.out_indices:
                outs.append(getattr(self, f'norm{i}')(x).permute(0, 4, 1, 2, 3).contiguous())
            if layer.downsample is not None and not self.out_after_downsample:
                x = layer.downsample(x)
            if i < self.num_layers - 1:
                x = x.permute(0, 4, 1, 2, 3)
        return outs[0] if len(outs) == 1 else tuple(outs)

    def train(self, mode: bool = True) -> 'SwinTransformer3D':
        super().train(mode)
        self._freeze_stages()
        return self
