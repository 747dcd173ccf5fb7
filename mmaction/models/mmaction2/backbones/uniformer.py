"""UniFormer (v1, mmaction2 ``UniFormer``): convolutional relation aggregators in stages 1-2, global
self-attention in stages 3-4.

Li et al., "UniFormer: Unified Transformer for Efficient Spatiotemporal Representation Learning" (ICLR 2022).
Keys as mmaction2 1.2.0.
"""
from __future__ import annotations

import logging

import torch
import torch.nn as nn

from mmaction.registry import MODELS

from ._transformer import drop_path_or_identity, multihead_attention, run_blocks

# ImageNet-1k 2D checkpoints that ``pretrained`` may name (inflated to 3D at init_weights).
PRETRAINED_2D = {
    'uniformer_small_in1k': 'https://download.openmmlab.com/mmaction/v1.0/recognition/uniformerv1/'
                            'uniformer_small_in1k_20221219-fe0a7ae0.pth',
    'uniformer_base_in1k': 'https://download.openmmlab.com/mmaction/v1.0/recognition/uniformerv1/'
                           'uniformer_base_in1k_20221219-82c01015.pth',
}


def _conv(cin: int, cout: int, kernel: tuple, stride: tuple = (1, 1, 1), padding: tuple = (0, 0, 0),
          groups: int = 1) -> nn.Conv3d:
    return nn.Conv3d(cin, cout, kernel, stride, padding, groups=groups)


class Mlp(nn.Module):
    """Token MLP (Linear layers) or, with ``conv=True``, the same on (B, C, T, H, W) with 1x1x1 convolutions."""

    def __init__(self, dims: int, hidden: int, drop: float, conv: bool = False):
        super().__init__()
        self.fc1 = _conv(dims, hidden, (1, 1, 1)) if conv else nn.Linear(dims, hidden)
        self.act = nn.GELU()
        self.fc2 = _conv(hidden, dims, (1, 1, 1)) if conv else nn.Linear(hidden, dims)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class CBlock(nn.Module):
    """Local relation aggregator: depthwise 5x5x5 'attention' between 1x1x1 convs, BN pre-norm.
    (B, C, T, H, W) -> same."""

    def __init__(self, dims: int, mlp_ratio: float, drop: float, drop_path: float):
        super().__init__()
        self.pos_embed = _conv(dims, dims, (3, 3, 3), padding=(1, 1, 1), groups=dims)
        self.norm1 = nn.BatchNorm3d(dims)
        self.conv1 = _conv(dims, dims, (1, 1, 1))
        self.conv2 = _conv(dims, dims, (1, 1, 1))
        self.attn = _conv(dims, dims, (5, 5, 5), padding=(2, 2, 2), groups=dims)
        self.drop_path = drop_path_or_identity(drop_path)
        self.norm2 = nn.BatchNorm3d(dims)
        self.mlp = Mlp(dims, int(dims * mlp_ratio), drop, conv=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.pos_embed(x)
        x = x + self.drop_path(self.conv2(self.attn(self.conv1(self.norm1(x)))))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class Attention(nn.Module):
    """Global multi-head self-attention over all T*H*W tokens: (B, N, C) -> (B, N, C)."""

    def __init__(self, dims: int, num_heads: int, qkv_bias: bool, qk_scale: float | None, attn_drop: float,
                 proj_drop: float):
        super().__init__()
        self.num_heads = num_heads
        self.q_rescale = qk_scale * (dims // num_heads) ** 0.5 if qk_scale else None
        self.qkv = nn.Linear(dims, dims * 3, bias=qkv_bias)
        self.attn_drop = attn_drop
        self.proj = nn.Linear(dims, dims)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        if self.q_rescale is not None:
            q = q * self.q_rescale
        return self.proj_drop(self.proj(multihead_attention(q, k, v, self.num_heads,
                                                            self.attn_drop if self.training else 0.0)))


class SABlock(nn.Module):
    """Global relation aggregator: depthwise conv position encoding, then pre-norm attention and MLP on tokens.
    (B, C, T, H, W) -> same."""

    def __init__(self, dims: int, num_heads: int, mlp_ratio: float, qkv_bias: bool, qk_scale: float | None,
                 drop: float, attn_drop: float, drop_path: float):
        super().__init__()
        self.pos_embed = _conv(dims, dims, (3, 3, 3), padding=(1, 1, 1), groups=dims)
        self.norm1 = nn.LayerNorm(dims)
        self.attn = Attention(dims, num_heads, qkv_bias, qk_scale, attn_drop, drop)
        self.drop_path = drop_path_or_identity(drop_path)
        self.norm2 = nn.LayerNorm(dims)
        self.mlp = Mlp(dims, int(dims * mlp_ratio), drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.pos_embed(x)
        b, c, t, h, w = x.shape
        tokens = x.flatten(2).transpose(1, 2)
        tokens = tokens + self.drop_path(self.attn(self.norm1(tokens)))
        tokens = tokens + self.drop_path(self.mlp(self.norm2(tokens)))
        return tokens.transpose(1, 2).reshape(b, c, t, h, w)


class PatchEmbed(nn.Module):
    """Strided conv + LayerNorm over channels: (B, C, T, H, W) -> (B, D, T', H/p, W/p). The first one
    (``temporal=True``) also halves T with a 3-frame kernel."""

    def __init__(self, in_channels: int, embed_dims: int, patch_size: int, temporal: bool):
        super().__init__()
        self.norm = nn.LayerNorm(embed_dims)
        if temporal:
            self.proj = _conv(in_channels, embed_dims, (3, patch_size, patch_size), (2, patch_size, patch_size),
                              (1, 0, 0))
        else:
            self.proj = _conv(in_channels, embed_dims, (1, patch_size, patch_size), (1, patch_size, patch_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.proj(x)
        return self.norm(x.permute(0, 2, 3, 4, 1)).permute(0, 4, 1, 2, 3).contiguous()


@MODELS.register_module()
class UniFormer(nn.Module):
    """Input (B, C, T, H, W); output (B, embed_dim[-1], T/2, H/32, W/32) after a final BatchNorm.
    ``with_cp``: activation checkpointing of every block in training."""

    def __init__(self, depth: list[int] = (5, 8, 20, 7), img_size: int = 224, in_chans: int = 3,
                 embed_dim: list[int] = (64, 128, 320, 512), head_dim: int = 64, mlp_ratio: float = 4.0,
                 qkv_bias: bool = True, qk_scale: float | None = None, drop_rate: float = 0.0,
                 attn_drop_rate: float = 0.0, drop_path_rate: float = 0.0, pretrained2d: bool = True,
                 pretrained: str | None = None, with_cp: bool = False, init_cfg: object = None):
        super().__init__()
        self.pretrained, self.pretrained2d, self.with_cp = pretrained, pretrained2d, with_cp
        self.patch_embed1 = PatchEmbed(in_chans, embed_dim[0], 4, temporal=True)
        self.patch_embed2 = PatchEmbed(embed_dim[0], embed_dim[1], 2, temporal=False)
        self.patch_embed3 = PatchEmbed(embed_dim[1], embed_dim[2], 2, temporal=False)
        self.patch_embed4 = PatchEmbed(embed_dim[2], embed_dim[3], 2, temporal=False)
        self.pos_drop = nn.Dropout(drop_rate)
        rates = torch.linspace(0, drop_path_rate, sum(depth)).tolist()
        starts = [sum(depth[:i]) for i in range(4)]
        heads = [d // head_dim for d in embed_dim]
        self.blocks1 = nn.ModuleList([CBlock(embed_dim[0], mlp_ratio, drop_rate, rates[starts[0] + i])
                                      for i in range(depth[0])])
        self.blocks2 = nn.ModuleList([CBlock(embed_dim[1], mlp_ratio, drop_rate, rates[starts[1] + i])
                                      for i in range(depth[1])])
        self.blocks3 = nn.ModuleList([SABlock(embed_dim[2], heads[2], mlp_ratio, qkv_bias, qk_scale, drop_rate,
                                              attn_drop_rate, rates[starts[2] + i]) for i in range(depth[2])])
        self.blocks4 = nn.ModuleList([SABlock(embed_dim[3], heads[3], mlp_ratio, qkv_bias, qk_scale, drop_rate,
                                              attn_drop_rate, rates[starts[3] + i]) for i in range(depth[3])])
        self.norm = nn.BatchNorm3d(embed_dim[-1])
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def init_weights(self) -> None:
        """``pretrained2d``: load the named ImageNet 2D checkpoint (``uniformer_small_in1k`` /
        ``uniformer_base_in1k``, or a path), inflating 2D kernels to 3D with the weight in the centre frame (as
        mmaction2); otherwise ``pretrained`` is a 3D checkpoint. Non-strict, mismatches reported."""
        if not self.pretrained:
            return
        from mmaction.utils.checkpoint import get_state_dict, load_file, load_state_dict
        source = PRETRAINED_2D.get(self.pretrained, self.pretrained)
        state = dict(get_state_dict(load_file(source), source))
        if self.pretrained2d:
            own = self.state_dict()
            for key, value in list(state.items()):
                if key in own and value.shape != own[key].shape and own[key].dim() > 2:
                    inflated = value.new_zeros(own[key].shape)
                    inflated[:, :, own[key].shape[2] // 2] = value
                    state[key] = inflated
        load_state_dict(self, state, strict=False, logger=logging.getLogger('mmaction'))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pos_drop(self.patch_embed1(x))
        x = run_blocks(self.blocks1, x, self.with_cp, self.training)
        x = run_blocks(self.blocks2, self.patch_embed2(x), self.with_cp, self.training)
        x = run_blocks(self.blocks3, self.patch_embed3(x), self.with_cp, self.training)
        x = run_blocks(self.blocks4, self.patch_embed4(x), self.with_cp, self.training)
        return self.norm(x)
