"""``TSN3D``: a 3D backbone applied per clip, spatio-temporal pooling, consensus over clips x crops, ``ClsHead``.

Data flow (``B`` videos, ``V = n_crops * num_segments`` clips ("views") of ``C x T x H x W`` each):
``img_group_0 (B, V, C, T, H, W)`` -> ``(B * V, C, T, H, W)`` -> backbone ``(B * V, F, t, h, w)``
(a ``(slow, fast)`` pair for SlowFast) -> spatial-temporal module ``(B * V, F, 1, 1, 1)`` -> ``(B, V, F, 1, 1, 1)``
-> consensus (mean over V) -> ``ClsHead`` -> ``(B, num_classes)`` logits.

``fcn_testing`` (the original ``--fcn_testing`` and the heavy tester): ``fc_cls`` is applied as a 1x1x1 conv on
the backbone's feature map, the class map is averaged over ``t, h, w``, softmaxed, and the probabilities are
averaged over the V views of each video. For a two-pathway backbone the pathways are first pooled by the
spatial-temporal module (the 1x1x1 conv cannot mix feature maps of different temporal sizes).
"""
from __future__ import annotations

from typing import Any

import torch

from mmaction.registry import RECOGNIZERS, ConfigError

from .base import BaseRecognizer


@RECOGNIZERS.register_module()
class TSN3D(BaseRecognizer):
    """TSN over 3D clips (I3D, SlowOnly, SlowFast, R(2+1)D, CSN, C3D, I3D-Inception).

    Args:
        backbone, spatial_temporal_module, segmental_consensus, cls_head: config dicts of the parts.
        flownet: the original's MotionNet/TrajectoryNet research path; not supported (must be None).
        fcn_testing: test fully-convolutionally (returns softmax probabilities instead of logits).
        train_cfg, test_cfg: unused, kept for the builder's signature.
    """

    input_ndim = 6

    def __init__(self, backbone: dict, flownet: dict | None = None, spatial_temporal_module: dict | None = None,
                 segmental_consensus: dict | None = None, cls_head: dict | None = None, train_cfg: Any = None,
                 test_cfg: Any = None, fcn_testing: bool = False) -> None:
        super().__init__()
        if flownet is not None:
            raise ConfigError("config 'model.flownet': the MotionNet/TrajectoryNet path of the original TSN3D is "
                              'not supported; remove the key or set it to None')
        self.fcn_testing = fcn_testing
        self.build_parts(backbone, spatial_temporal_module, segmental_consensus, cls_head)
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self._check_head_channels()
        self.init_weights()

    def _check_head_channels(self) -> None:
        """Fail at build time when ``cls_head.in_channels`` differs from what the backbone emits.

        The original I3D-Inception test configs say 2048 while the backbone emits 1024; we name the right value.
        """
        feat_dim = getattr(self.backbone, 'feat_dim', None)
        in_channels = getattr(self.cls_head, 'in_channels', None)
        if feat_dim is not None and in_channels is not None and feat_dim != in_channels:
            raise ConfigError(
                f"config 'model.cls_head.in_channels' is {in_channels} but the backbone "
                f"{type(self.backbone).__name__} emits {feat_dim} channels: set model.cls_head.in_channels="
                f'{feat_dim}' + (' (the original InceptionV1_I3D test configs say 2048, which is wrong)'
                                 if type(self.backbone).__name__ == 'InceptionV1_I3D' else ''))

    def split_views(self, img_group: torch.Tensor) -> tuple[torch.Tensor, int, int]:
        """``(B, V, C, T, H, W)`` -> ``(B * V, C, T, H, W)``, ``B``, ``V``."""
        bs, views = img_group.shape[:2]
        return img_group.reshape((-1,) + tuple(img_group.shape[2:])), bs, views

    def forward_fcn(self, img_group: torch.Tensor) -> torch.Tensor:
        """Fully-convolutional test scores: ``(B, V, C, T, H, W)`` -> softmax probabilities ``(B, K)``."""
        clips, bs, _ = self.split_views(img_group)
        x = self.extract_feat(clips)
        if isinstance(x, (tuple, list)):
            x = self.spatial_temporal_module(x)
        class_map = self.cls_head.forward_fcn(x)  # (B * V, K, t, h, w)
        return self.average_fcn_probs(class_map, bs)
