"""TimeSformer (mmaction2 ``TimeSformer``): divided space-time, joint space-time or space-only attention.

Bertasius et al., "Is Space-Time Attention All You Need for Video Understanding?" (ICML 2021). Keys as mmaction2
1.2.0 (its layers are mmcv ``BaseTransformerLayer``s: ``transformer_layers.layers.i.{attentions,ffns,norms}``).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from mmaction.registry import MODELS

from ._transformer import FeedForward, MultiheadSelfAttention, drop_path_or_identity, run_blocks

ATTENTION_TYPES = ('divided_space_time', 'space_only', 'joint_space_time')


class PatchEmbed2d(nn.Module):
    """(N, C, T, H, W) -> (N*T, H/p * W/p, D): every frame cut into p x p patches by one Conv2d."""

    def __init__(self, in_channels: int, embed_dims: int, patch_size: int):
        super().__init__()
        self.projection = nn.Conv2d(in_channels, embed_dims, patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, h, w = x.shape
        x = x.transpose(1, 2).reshape(n * t, c, h, w)
        return self.projection(x).flatten(2).transpose(1, 2)


class TemporalAttention(nn.Module):
    """Attention along time for every patch position, cls token passed through; residual inside.

    (N, 1 + P*T, D) -> (N, 1 + P*T, D), tokens ordered patch-major (p, t)."""

    def __init__(self, embed_dims: int, num_heads: int, num_frames: int, drop_path: float):
        super().__init__()
        self.num_frames = num_frames
        self.norm = nn.LayerNorm(embed_dims, eps=1e-6)
        self.attn = MultiheadSelfAttention(embed_dims, num_heads)
        self.drop_path = drop_path_or_identity(drop_path)
        self.temporal_fc = nn.Linear(embed_dims, embed_dims)
        nn.init.zeros_(self.temporal_fc.weight)  # the block starts as identity (mmaction2's init)
        nn.init.zeros_(self.temporal_fc.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cls_token, tokens = x[:, :1], x[:, 1:]
        n, pt, d = tokens.shape
        t = self.num_frames
        out = self.attn(self.norm(tokens.reshape(n * (pt // t), t, d)))
        out = self.temporal_fc(self.drop_path(out)).reshape(n, pt, d)
        return torch.cat((cls_token, tokens + out), dim=1)


class SpatialAttention(nn.Module):
    """Attention among the patches of each frame, with the cls token copied into every frame and averaged back.

    (N, 1 + P*T, D) -> (N, 1 + P*T, D)."""

    def __init__(self, embed_dims: int, num_heads: int, num_frames: int, drop_path: float):
        super().__init__()
        self.num_frames = num_frames
        self.norm = nn.LayerNorm(embed_dims, eps=1e-6)
        self.attn = MultiheadSelfAttention(embed_dims, num_heads)
        self.drop_path = drop_path_or_identity(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, d = x.shape
        t = self.num_frames
        p = (x.shape[1] - 1) // t
        cls_token = x[:, :1].expand(n, t, d).reshape(n * t, 1, d)
        frames = x[:, 1:].reshape(n, p, t, d).transpose(1, 2).reshape(n * t, p, d)
        out = self.drop_path(self.attn(self.norm(torch.cat((cls_token, frames), dim=1))))
        cls_out = out[:, 0].reshape(n, t, d).mean(1, keepdim=True)
        frames_out = out[:, 1:].reshape(n, t, p, d).transpose(1, 2).reshape(n, p * t, d)
        return x + torch.cat((cls_out, frames_out), dim=1)


class FeedForwardWithNorm(nn.Module):
    """Pre-norm feed-forward with its residual: (N, L, D) -> (N, L, D)."""

    def __init__(self, embed_dims: int, drop_path: float):
        super().__init__()
        self.layers = FeedForward(embed_dims, embed_dims * 4).layers
        self.norm = nn.LayerNorm(embed_dims, eps=1e-6)
        self.drop_path = drop_path_or_identity(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop_path(self.layers(self.norm(x)))


class AttentionWithResidual(nn.Module):
    """mmcv ``MultiheadAttention`` as the joint/space-only layers use it: x + drop_path(attn(x))."""

    def __init__(self, embed_dims: int, num_heads: int, drop_path: float):
        super().__init__()
        self.attn = MultiheadSelfAttention(embed_dims, num_heads)
        self.drop_path = drop_path_or_identity(drop_path)

    def forward(self, x: torch.Tensor, identity: torch.Tensor) -> torch.Tensor:
        return identity + self.drop_path(self.attn(x))


class FeedForwardWithResidual(nn.Module):
    def __init__(self, embed_dims: int, drop_path: float):
        super().__init__()
        self.layers = FeedForward(embed_dims, embed_dims * 4).layers
        self.drop_path = drop_path_or_identity(drop_path)

    def forward(self, x: torch.Tensor, identity: torch.Tensor) -> torch.Tensor:
        return identity + self.drop_path(self.layers(x))


class DividedLayer(nn.Module):
    """Temporal attention, then spatial attention, then feed-forward (each with its own norm and residual)."""

    def __init__(self, embed_dims: int, num_heads: int, num_frames: int, drop_path: float):
        super().__init__()
        self.attentions = nn.ModuleList([TemporalAttention(embed_dims, num_heads, num_frames, drop_path),
                                         SpatialAttention(embed_dims, num_heads, num_frames, drop_path)])
        self.ffns = nn.ModuleList([FeedForwardWithNorm(embed_dims, drop_path)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ffns[0](self.attentions[1](self.attentions[0](x)))


class PreNormLayer(nn.Module):
    """norm -> attention (+x) -> norm -> feed-forward (+x): the joint space-time and space-only layers."""

    def __init__(self, embed_dims: int, num_heads: int, drop_path: float):
        super().__init__()
        self.attentions = nn.ModuleList([AttentionWithResidual(embed_dims, num_heads, drop_path)])
        self.ffns = nn.ModuleList([FeedForwardWithResidual(embed_dims, drop_path)])
        self.norms = nn.ModuleList([nn.LayerNorm(embed_dims, eps=1e-6), nn.LayerNorm(embed_dims, eps=1e-6)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.attentions[0](self.norms[0](x), identity=x)
        return self.ffns[0](self.norms[1](x), identity=x)


class LayerSequence(nn.Module):
    def __init__(self, layers: list[nn.Module], with_cp: bool):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.with_cp = with_cp

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return run_blocks(self.layers, x, self.with_cp, self.training)


@MODELS.register_module()
class TimeSformer(nn.Module):
    """Input (N, C, T, H, W) with T = ``num_frames`` and H = W = ``img_size``; output (N, D), the cls token after
    the final LayerNorm. Drop-path rates rise linearly from 0 to 0.1 over the layers (mmaction2's fixed rule)."""

    def __init__(self, num_frames: int, img_size: int, patch_size: int, pretrained: str | None = None,
                 embed_dims: int = 768, num_heads: int = 12, num_transformer_layers: int = 12, in_channels: int = 3,
                 dropout_ratio: float = 0.0, transformer_layers: object = None,
                 attention_type: str = 'divided_space_time', norm_cfg: dict | None = None, with_cp: bool = False,
                 init_cfg: object = None):
        super().__init__()
        if attention_type not in ATTENTION_TYPES:
            raise ValueError(f"TimeSformer: attention_type '{attention_type}' is not one of {ATTENTION_TYPES}")
        if transformer_layers is not None:
            raise ValueError('TimeSformer: custom transformer_layers configs are not supported; use attention_type')
        norm_cfg = norm_cfg or dict(type='LN', eps=1e-6)
        self.num_frames = num_frames
        self.attention_type = attention_type
        self.pretrained = pretrained
        num_patches = (img_size // patch_size) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + 1, embed_dims))
        if attention_type != 'space_only':
            self.time_embed = nn.Parameter(torch.zeros(1, num_frames, embed_dims))
        self.patch_embed = PatchEmbed2d(in_channels, embed_dims, patch_size)
        self.drop_after_pos = nn.Dropout(dropout_ratio)
        self.drop_after_time = nn.Dropout(dropout_ratio)
        self.norm = nn.LayerNorm(embed_dims, eps=norm_cfg.get('eps', 1e-6))
        rates = torch.linspace(0, 0.1, num_transformer_layers).tolist()
        if attention_type == 'divided_space_time':
            layers = [DividedLayer(embed_dims, num_heads, num_frames, r) for r in rates]
        else:
            layers = [PreNormLayer(embed_dims, num_heads, r) for r in rates]
        self.transformer_layers = LayerSequence(layers, with_cp)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)

    def init_weights(self) -> None:
        """Load ``pretrained`` (a ViT image checkpoint) the way mmaction2 does: its ``norms.0``/``norms.1`` become
        the divided layers' ``attentions.0.norm``/``ffns.0.norm`` and the spatial attention is copied into the
        temporal one; loaded non-strictly."""
        if not self.pretrained:
            return
        import logging
        from mmaction.utils.checkpoint import get_state_dict, load_file, load_state_dict
        state = dict(get_state_dict(load_file(self.pretrained), self.pretrained))
        if self.attention_type == 'divided_space_time':
            for key in [k for k in state if 'norms' in k]:
                state[key.replace('norms.0', 'attentions.0.norm').replace('norms.1', 'ffns.0.norm')] = state.pop(key)
            for key in [k for k in state if 'attentions.0' in k]:
                state[key.replace('attentions.0', 'attentions.1')] = state[key].clone()
        load_state_dict(self, state, strict=False, logger=logging.getLogger('mmaction'))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        x = self.patch_embed(x)  # (N*T, P, D)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1) + self.pos_embed
        x = self.drop_after_pos(x)
        if self.attention_type != 'space_only':
            cls_token = x[:n, 0:1]
            _, p1, d = x.shape
            tokens = x[:, 1:].reshape(n, self.num_frames, p1 - 1, d).transpose(1, 2)  # (N, P, T, D)
            tokens = self.drop_after_time(tokens + self.time_embed.unsqueeze(1))
            x = torch.cat((cls_token, tokens.reshape(n, -1, d)), dim=1)
        x = self.transformer_layers(x)
        if self.attention_type == 'space_only':
            x = x.view(-1, self.num_frames, *x.shape[-2:]).mean(1)
        return self.norm(x)[:, 0]
