"""The one-linear-layer heads of mmaction2's transformer recognizers: ``TimeSformerHead``, ``MViTHead``,
``UniFormerHead`` (``(N, in_channels)`` features -> dropout -> ``fc_cls`` -> ``(N, num_classes)``)."""
from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn as nn
from mmengine.model import BaseModule
from mmengine.model.weight_init import constant_init, trunc_normal_init

from mmaction.registry import MODELS, ConfigError

from .base import BaseHead


class _LinearHead(BaseHead):
    def __init__(self, num_classes: int, in_channels: int, loss_cls: dict, dropout_ratio: float, **kwargs):
        super().__init__(num_classes, in_channels, loss_cls, **kwargs)
        self.dropout_ratio = dropout_ratio
        self.dropout = nn.Dropout(p=dropout_ratio) if dropout_ratio != 0 else None
        self.fc_cls = nn.Linear(in_channels, num_classes)

    def pre_logits(self, x: Any) -> torch.Tensor:
        return x

    def forward(self, x: Any, **kwargs) -> torch.Tensor:
        return self.classify(self.pre_logits(x))          # (N, in_channels) -> (N, num_classes)


@MODELS.register_module()
class TimeSformerHead(_LinearHead):
    """TimeSformer's classifier on the class token ``(N, in_channels)``."""

    def __init__(self, num_classes: int, in_channels: int, loss_cls: dict = dict(type='CrossEntropyLoss'),
                 init_std: float = 0.02, dropout_ratio: float = 0.0, **kwargs):
        super().__init__(num_classes, in_channels, loss_cls, dropout_ratio, **kwargs)
        self.init_std = init_std

    def init_weights(self) -> None:
        trunc_normal_init(self.fc_cls, std=self.init_std)


@MODELS.register_module()
class MViTHead(_LinearHead):
    """MViT's classifier. The input is the backbone's tuple of stage outputs; the last one is
    ``[patch_tokens (N, C, T, H, W), cls_token (N, C)]`` with ``with_cls_token``, else the patch tokens alone
    (averaged over T, H, W)."""

    def __init__(self, num_classes: int, in_channels: int, loss_cls: dict = dict(type='CrossEntropyLoss'),
                 dropout_ratio: float = 0.5, init_std: float = 0.02, init_scale: float = 1.0,
                 with_cls_token: bool = True, **kwargs):
        super().__init__(num_classes, in_channels, loss_cls, dropout_ratio, **kwargs)
        self.init_std = init_std
        self.init_scale = init_scale
        self.with_cls_token = with_cls_token

    def init_weights(self) -> None:
        trunc_normal_init(self.fc_cls.weight, std=self.init_std)
        constant_init(self.fc_cls.bias, 0.02)
        self.fc_cls.weight.data.mul_(self.init_scale)
        self.fc_cls.bias.data.mul_(self.init_scale)

    def pre_logits(self, feats: Sequence[Any]) -> torch.Tensor:
        if self.with_cls_token:
            _, cls_token = feats[-1]
            return cls_token
        return feats[-1].mean(dim=(2, 3, 4))


@MODELS.register_module()
class UniFormerHead(_LinearHead):
    """UniFormer(V2)'s classifier. Loading a larger pretrained head through ``channel_map`` (a class-index file)
    is not supported here: load the fine-tuned checkpoint instead."""

    def __init__(self, num_classes: int, in_channels: int, loss_cls: dict = dict(type='CrossEntropyLoss'),
                 dropout_ratio: float = 0.0, channel_map: str | None = None,
                 init_cfg: dict | None = dict(type='TruncNormal', layer='Linear', std=0.02), **kwargs):
        if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
            raise ConfigError("config 'cls_head.init_cfg': UniFormerHead's 'Pretrained' init with a channel_map is "
                              'not supported; load a checkpoint of the whole model instead')
        super().__init__(num_classes, in_channels, loss_cls, dropout_ratio, init_cfg=init_cfg, **kwargs)
        self.channel_map = channel_map

    def init_weights(self) -> None:
        # mmaction2 initialises this head from its init_cfg (default: truncated normal std 0.02 on the Linear)
        BaseModule.init_weights(self)
