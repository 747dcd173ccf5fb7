"""UniFormerV2 (mmaction2 ``UniFormerV2``): a CLIP ViT with local temporal relation aggregators (L_MHRA) inside
its blocks and a global cross-attention decoder over the last layers' tokens.

Li et al., "UniFormerV2: Spatiotemporal Learning by Arming Image ViTs with Video UniFormer" (ICCV 2023).
Keys as mmaction2 1.2.0. Nothing is downloaded at build time: the CLIP weights are read only by
``init_weights`` when ``clip_pretrained`` and ``pretrained`` name them.
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Sequence

import torch
import torch.nn as nn

from mmaction.models.backbones._common import maybe_checkpoint
from mmaction.registry import MODELS

from ._transformer import MultiheadSelfAttention, drop_path_or_identity

CLIP_VISUAL_ENCODERS = {
    name: 'https://download.openmmlab.com/mmaction/v1.0/recognition/uniformerv2/clipVisualEncoder/' + file
    for name, file in [('ViT-B/16', 'vit-base-p16-res224_clip-rgb_20221219-b8a5da86.pth'),
                       ('ViT-L/14', 'vit-large-p14-res224_clip-rgb_20221219-9de7543e.pth'),
                       ('ViT-L/14_336', 'vit-large-p14-res336_clip-rgb_20221219-d370f9e5.pth')]}


class QuickGELU(nn.Module):
    """CLIP's GELU approximation x * sigmoid(1.702 x)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


def _mlp(dims: int, hidden: int, dropout: float | None = None) -> nn.Sequential:
    layers = [('c_fc', nn.Linear(dims, hidden)), ('gelu', QuickGELU())]
    if dropout is not None:
        layers.append(('dropout', nn.Dropout(dropout)))
    return nn.Sequential(OrderedDict(layers + [('c_proj', nn.Linear(hidden, dims))]))


class LocalMHRA(nn.Module):
    """Local temporal relation aggregator: BN, 1x1x1 down, depthwise temporal conv, 1x1x1 up (zero-initialised,
    so a fresh block is the CLIP block). (N, C, T, H, W) -> same."""

    def __init__(self, dims: int, dw_reduction: float = 1.5, pos_kernel_size: int = 3):
        super().__init__()
        reduced = int(dims // dw_reduction)
        self.pos_embed = nn.Sequential(
            nn.BatchNorm3d(dims), nn.Conv3d(dims, reduced, 1),
            nn.Conv3d(reduced, reduced, (pos_kernel_size, 1, 1), padding=(pos_kernel_size // 2, 0, 0),
                      groups=reduced),
            nn.Conv3d(reduced, dims, 1))
        nn.init.zeros_(self.pos_embed[3].weight)
        nn.init.zeros_(self.pos_embed[3].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pos_embed(x)


class ResidualAttentionBlock(nn.Module):
    """CLIP block with optional L_MHRA before (and after) attention; batch first: (N*T, 1 + H*W, C) -> same."""

    def __init__(self, dims: int, num_heads: int, drop_path: float, dw_reduction: float, no_lmhra: bool,
                 double_lmhra: bool):
        super().__init__()
        self.no_lmhra, self.double_lmhra = no_lmhra, double_lmhra
        self.drop_path = drop_path_or_identity(drop_path)
        if not no_lmhra:
            self.lmhra1 = LocalMHRA(dims, dw_reduction)
            if double_lmhra:
                self.lmhra2 = LocalMHRA(dims, dw_reduction)
        self.attn = MultiheadSelfAttention(dims, num_heads)
        self.ln_1 = nn.LayerNorm(dims)
        self.mlp = _mlp(dims, dims * 4)
        self.ln_2 = nn.LayerNorm(dims)

    def _local(self, x: torch.Tensor, lmhra: nn.Module, t: int) -> torch.Tensor:
        nt, length, c = x.shape
        side = int((length - 1) ** 0.5)
        grid = x[:, 1:].reshape(nt // t, t, side, side, c).permute(0, 4, 1, 2, 3)
        grid = grid + self.drop_path(lmhra(grid))
        return torch.cat((x[:, :1], grid.permute(0, 2, 3, 4, 1).reshape(nt, length - 1, c)), dim=1)

    def forward(self, x: torch.Tensor, t: int) -> torch.Tensor:
        if not self.no_lmhra:
            x = self._local(x, self.lmhra1, t)
        x = x + self.drop_path(self.attn(self.ln_1(x)))
        if not self.no_lmhra and self.double_lmhra:
            x = self._local(x, self.lmhra2, t)
        return x + self.drop_path(self.mlp(self.ln_2(x)))


class Extractor(nn.Module):
    """Decoder block: the video query token cross-attends to one layer's tokens, then an MLP.
    (N, 1, C) query, (N, T*L, C) tokens -> (N, 1, C)."""

    def __init__(self, dims: int, num_heads: int, mlp_factor: float, dropout: float, drop_path: float):
        super().__init__()
        self.drop_path = drop_path_or_identity(drop_path)
        self.attn = MultiheadSelfAttention(dims, num_heads)
        self.ln_1 = nn.LayerNorm(dims)
        self.mlp = _mlp(dims, round(mlp_factor * dims), dropout)
        self.ln_2 = nn.LayerNorm(dims)
        self.ln_3 = nn.LayerNorm(dims)
        # a fresh decoder adds nothing (mmaction2's init)
        for zero in (self.attn.out_proj.weight, self.attn.out_proj.bias, self.mlp.c_proj.weight, self.mlp.c_proj.bias):
            nn.init.zeros_(zero)
        nn.init.xavier_uniform_(self.mlp.c_fc.weight)

    def forward(self, query: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        query = query + self.drop_path(self.attn(self.ln_1(query), context=self.ln_3(tokens)))
        return query + self.drop_path(self.mlp(self.ln_2(query)))


class Transformer(nn.Module):
    """The CLIP blocks plus the decoder fed by the layers in ``return_list``: (N*T, 1 + H*W, C) -> (N, C)."""

    def __init__(self, width: int, layers: int, heads: int, backbone_drop_path_rate: float, t_size: int,
                 dw_reduction: float, no_lmhra: bool, double_lmhra: bool, return_list: Sequence[int], n_layers: int,
                 n_dim: int, n_head: int, mlp_factor: float, drop_path_rate: float, mlp_dropout: Sequence[float],
                 with_cp: bool = False):
        super().__init__()
        self.with_cp = with_cp
        if n_layers != len(return_list):
            raise ValueError(f'UniFormerV2: n_layers={n_layers} must equal len(return_list)={len(return_list)}')
        self.t_size, self.return_list = t_size, list(return_list)
        rates = torch.linspace(0, backbone_drop_path_rate, layers).tolist()
        self.resblocks = nn.ModuleList([ResidualAttentionBlock(width, heads, rates[i], dw_reduction, no_lmhra,
                                                               double_lmhra) for i in range(layers)])
        self.temporal_cls_token = nn.Parameter(torch.zeros(1, 1, n_dim))
        self.dpe = nn.ModuleList([nn.Conv3d(n_dim, n_dim, 3, padding=1, groups=n_dim) for _ in range(n_layers)])
        for conv in self.dpe:
            nn.init.zeros_(conv.bias)
        rates = torch.linspace(0, drop_path_rate, n_layers).tolist()
        self.dec = nn.ModuleList([Extractor(n_dim, n_head, mlp_factor, mlp_dropout[i], rates[i])
                                  for i in range(n_layers)])
        self.norm = nn.LayerNorm(n_dim)
        self.balance = nn.Parameter(torch.zeros(n_dim))
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nt, length, c = x.shape
        t = self.t_size
        n, side = nt // t, int((length - 1) ** 0.5)
        query = self.temporal_cls_token.expand(n, 1, c)
        level = 0
        for i, block in enumerate(self.resblocks):
            x = maybe_checkpoint(block, x, self.with_cp and self.training, t)
            if i in self.return_list:
                tokens = x.reshape(n, t, length, c)
                grid = tokens[:, :, 1:].permute(0, 3, 1, 2).reshape(n, c, t, side, side)
                position = self.dpe[level](grid).reshape(n, c, t, length - 1).permute(0, 2, 3, 1)
                tokens = torch.cat((tokens[:, :, :1], tokens[:, :, 1:] + position), dim=2)
                query = self.dec[level](query, tokens.reshape(n, t * length, c))
                level += 1
        weight = self.sigmoid(self.balance)
        frame_cls = x.reshape(n, t, length, c)[:, :, 0].mean(1)
        return self.norm((1 - weight) * query[:, 0] + weight * frame_cls)


@MODELS.register_module()
class UniFormerV2(nn.Module):
    """Input (N, 3, T, H, W) with H = W = ``input_resolution``; output (N, n_dim). ``with_cp``: activation
    checkpointing of every CLIP block in training."""

    def __init__(self, input_resolution: int = 224, patch_size: int = 16, width: int = 768, layers: int = 12,
                 heads: int = 12, backbone_drop_path_rate: float = 0.0, t_size: int = 8, kernel_size: int = 3,
                 dw_reduction: float = 1.5, temporal_downsample: bool = False, no_lmhra: bool = True,
                 double_lmhra: bool = False, return_list: Sequence[int] = (8, 9, 10, 11), n_layers: int = 4,
                 n_dim: int = 768, n_head: int = 12, mlp_factor: float = 4.0, drop_path_rate: float = 0.0,
                 mlp_dropout: Sequence[float] = (0.5, 0.5, 0.5, 0.5), clip_pretrained: bool = True,
                 pretrained: str | None = None, with_cp: bool = False, init_cfg: object = None):
        super().__init__()
        self.pretrained, self.clip_pretrained = pretrained, clip_pretrained
        if temporal_downsample:
            self.conv1 = nn.Conv3d(3, width, (kernel_size, patch_size, patch_size), (2, patch_size, patch_size),
                                   ((kernel_size - 1) // 2, 0, 0), bias=False)
            t_size //= 2
        else:
            self.conv1 = nn.Conv3d(3, width, (1, patch_size, patch_size), (1, patch_size, patch_size), bias=False)
        scale = width ** -0.5
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn((input_resolution // patch_size) ** 2 + 1,
                                                                     width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, layers, heads, backbone_drop_path_rate, t_size, dw_reduction,
                                       no_lmhra, double_lmhra, return_list, n_layers, n_dim, n_head, mlp_factor,
                                       drop_path_rate, mlp_dropout, with_cp)

    def init_weights(self) -> None:
        """With ``clip_pretrained``, load the CLIP visual encoder ``pretrained`` names ('ViT-B/16', 'ViT-L/14',
        'ViT-L/14_336' or a path), inflating 2D kernels into the centre frame; otherwise ``pretrained`` is a
        UniFormerV2 checkpoint. Does nothing when ``pretrained`` is None."""
        if not self.pretrained:
            return
        from mmaction.utils.checkpoint import get_state_dict, load_file, load_state_dict
        source = CLIP_VISUAL_ENCODERS.get(self.pretrained, self.pretrained) if self.clip_pretrained else self.pretrained
        state = dict(get_state_dict(load_file(source), source))
        if self.clip_pretrained:
            own = self.state_dict()
            for key, value in list(state.items()):
                if key in own and value.shape != own[key].shape and own[key].dim() > 2:
                    inflated = value.new_zeros(own[key].shape)
                    inflated[:, :, own[key].shape[2] // 2] = value
                    state[key] = inflated
        load_state_dict(self, state, strict=False, logger=logging.getLogger('mmaction'))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        n, c, t, h, w = x.shape
        x = x.permute(0, 2, 3, 4, 1).reshape(n * t, h * w, c)
        x = torch.cat((self.class_embedding.to(x.dtype).expand(n * t, 1, c), x), dim=1)
        x = self.ln_pre(x + self.positional_embedding.to(x.dtype))
        return self.transformer(x)
