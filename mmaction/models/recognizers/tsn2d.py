"""``TSN2D``: Temporal Segment Network on a 2D backbone (RGB, Flow or RGBDiff snippets).

Data flow (``B`` videos, ``M = n_crops * num_segments * new_length`` images of ``C`` channels each):
``img_group_0 (B, M, C, H, W)`` -> ``(B * S, in_channels, H, W)`` with ``S = M * C / in_channels`` snippets
(consecutive ``new_length`` images are merged into channels, e.g. 5 flow x/y pairs -> 10 channels)
-> backbone ``(B * S, F, h, w)`` -> spatial module ``(B * S, F, 1, 1)`` -> ``(B, S, F, 1, 1)``
-> consensus (mean over S) ``(B, F, 1, 1)`` -> ``ClsHead`` -> ``(B, num_classes)``.
In test mode ``S`` counts every segment x crop of a video, so the consensus averages over all of them.
"""
from __future__ import annotations

import logging
from typing import Any

import torch
import torch.nn as nn

from mmaction.registry import RECOGNIZERS, ConfigError

from .base import BaseRecognizer

_MODALITIES = ('RGB', 'Flow', 'RGBDiff')


@RECOGNIZERS.register_module()
class TSN2D(BaseRecognizer):
    """TSN with a 2D backbone.

    Args:
        backbone, spatial_temporal_module, segmental_consensus, cls_head: config dicts of the parts
            (attributes ``backbone``, ``spatial_temporal_module``, ``segmental_consensus``, ``cls_head``).
        modality: 'RGB', 'Flow' or 'RGBDiff'. For Flow/RGBDiff the backbone's first conv is rebuilt for
            ``in_channels`` inputs after the pretrained weights are loaded.
        in_channels: channels of one snippet (3 for RGB, 2 * new_length for Flow).
        fcn_testing: test by applying ``fc_cls`` as a 1x1 conv on the backbone feature map; the class map is
            averaged over space, softmaxed, and averaged over the video's snippets (returns probabilities).
        flownet: not supported by 2D TSN (kept for config compatibility; must be None).
        train_cfg, test_cfg: unused, kept for the builder's signature.
    """

    def __init__(self,
                 backbone: dict,
                 modality: str = 'RGB',
                 in_channels: int = 3,
                 spatial_temporal_module: dict | None = None,
                 segmental_consensus: dict | None = None,
                 fcn_testing: bool = False,
                 flownet: dict | None = None,
                 cls_head: dict | None = None,
                 train_cfg: Any = None,
                 test_cfg: Any = None) -> None:
        super().__init__()
        if modality not in _MODALITIES:
            raise ConfigError(f"config 'model.modality': expected one of {_MODALITIES}, got {modality!r}")
        if flownet is not None:
            raise ConfigError("config 'model.flownet': TSN2D has no flownet path (MotionNet is used by TSN3D); "
                              'remove the key or set it to None')
        self.modality = modality
        self.in_channels = in_channels
        self.fcn_testing = fcn_testing
        self.build_parts(backbone, spatial_temporal_module, segmental_consensus, cls_head)
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg

        self.init_weights()
        # After init_weights: the RGB-pretrained kernel is what gets averaged for the new input channels.
        if modality in ('Flow', 'RGBDiff'):
            self._construct_2d_backbone_conv1(in_channels)

    def _construct_2d_backbone_conv1(self, in_channels: int) -> None:
        """Replace the backbone's first ``Conv2d`` by one taking ``in_channels`` inputs.

        New weight ``[out, in_channels, k, k]`` = old weight averaged over its input channels, replicated;
        the bias (if any) is copied.
        """
        found = next(((name, m) for name, m in self.backbone.named_modules() if isinstance(m, nn.Conv2d)), None)
        if found is None:
            raise ValueError(f'{type(self.backbone).__name__} has no Conv2d to adapt to {in_channels} channels')
        name, conv = found
        new_conv = nn.Conv2d(in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                             conv.dilation, conv.groups, bias=conv.bias is not None).to(conv.weight)
        with torch.no_grad():
            new_conv.weight.copy_(conv.weight.mean(dim=1, keepdim=True).expand_as(new_conv.weight))
            if conv.bias is not None:
                new_conv.bias.copy_(conv.bias)
        parent_name, _, attr = name.rpartition('.')
        parent = self.backbone.get_submodule(parent_name) if parent_name else self.backbone
        setattr(parent, attr, new_conv)
        logging.getLogger('mmaction').debug(f'TSN2D: backbone.{name} rebuilt for {in_channels} input channels')

    def extract_feat(self, x: torch.Tensor) -> torch.Tensor:
        x = self.backbone(x)
        if isinstance(x, (tuple, list)):
            raise ValueError(f'TSN2D needs one feature map but the backbone returned {len(x)}; '
                             f'set model.backbone.out_indices to a single stage, e.g. (3,)')
        return x

    def split_views(self, img_group: torch.Tensor) -> tuple[torch.Tensor, int, int]:
        """``(B, M, C, H, W)`` -> ``(B * S, in_channels, H, W)``, ``B``, ``S``."""
        bs, m, c = img_group.shape[:3]
        if (m * c) % self.in_channels:
            raise ValueError(f'TSN2D: img_group_0 of shape {tuple(img_group.shape)} has {m}x{c} channels per '
                             f'video, not a multiple of in_channels={self.in_channels}')
        x = img_group.reshape((-1, self.in_channels) + tuple(img_group.shape[3:]))
        return x, bs, x.shape[0] // bs

    def forward_fcn(self, img_group: torch.Tensor) -> torch.Tensor:
        """``(B, M, C, H, W)`` -> softmax probabilities ``(B, K)`` averaged over the ``S`` snippets."""
        x, bs, _ = self.split_views(img_group)
        class_map = self.cls_head.forward_fcn(self.extract_feat(x))  # (B*S, K, 1, h, w)
        return self.average_fcn_probs(class_map, bs)
