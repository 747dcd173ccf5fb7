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

import numpy as np
import torch

from mmaction.models import builder
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

    def __init__(self, backbone: dict, flownet: dict | None = None, spatial_temporal_module: dict | None = None,
                 segmental_consensus: dict | None = None, cls_head: dict | None = None, train_cfg: Any = None,
                 test_cfg: Any = None, fcn_testing: bool = False) -> None:
        super().__init__()
        if flownet is not None:
            raise ConfigError("config 'model.flownet': the MotionNet/TrajectoryNet path of the original TSN3D is "
                              'not supported; remove the key or set it to None')
        for key, value in (('spatial_temporal_module', spatial_temporal_module),
                           ('segmental_consensus', segmental_consensus), ('cls_head', cls_head)):
            if value is None:
                raise ConfigError(f"config 'model.{key}' is required by TSN3D")
        self.fcn_testing = fcn_testing
        self.backbone = builder.build_backbone(backbone)
        self.spatial_temporal_module = builder.build_spatial_temporal_module(spatial_temporal_module)
        self.segmental_consensus = builder.build_segmental_consensus(segmental_consensus)
        self.cls_head = builder.build_head(cls_head)
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

    def init_weights(self, pretrained: str | None = None) -> None:
        super().init_weights(pretrained)
        for part in (self.backbone, self.spatial_temporal_module, self.segmental_consensus, self.cls_head):
            if hasattr(part, 'init_weights'):
                part.init_weights()

    def extract_feat(self, clips: torch.Tensor) -> torch.Tensor | tuple:
        return self.backbone(clips)

    @staticmethod
    def _clips(img_group: torch.Tensor) -> tuple[torch.Tensor, int, int]:
        """``(B, V, C, T, H, W)`` -> ``(B * V, C, T, H, W)``, ``B``, ``V``."""
        bs, views = img_group.shape[:2]
        return img_group.reshape((-1,) + tuple(img_group.shape[2:])), bs, views

    def _video_features(self, img_group: torch.Tensor) -> torch.Tensor:
        clips, bs, views = self._clips(img_group)
        x = self.spatial_temporal_module(self.extract_feat(clips))
        x = x.reshape((bs, views) + tuple(x.shape[1:]))
        return self.segmental_consensus(x).squeeze(1)

    def forward_train(self, num_modalities: int, img_meta: Any, gt_label: torch.Tensor = None,
                      **kwargs: Any) -> dict:
        img_group = self.get_img_group(num_modalities, kwargs, ndim=6)
        if gt_label is None:
            raise KeyError("TSN3D.forward_train: the batch has no 'gt_label'")
        cls_score = self.cls_head(self._video_features(img_group))
        labels = self.flatten_labels(gt_label, img_group.shape[0]).to(cls_score.device)
        return self.cls_head.loss(cls_score, labels)

    def forward_fcn(self, img_group: torch.Tensor) -> torch.Tensor:
        """Fully-convolutional test scores: ``(B, V, C, T, H, W)`` -> softmax probabilities ``(B, K)``."""
        clips, bs, views = self._clips(img_group)
        x = self.extract_feat(clips)
        if isinstance(x, (tuple, list)):
            x = self.spatial_temporal_module(x)
        class_map = self.cls_head.forward_fcn(x)                  # (B * V, K, t, h, w)
        probs = torch.softmax(class_map.mean(dim=(2, 3, 4)), dim=1)
        return probs.reshape(bs, views, -1).mean(dim=1)

    def forward_test(self, num_modalities: int, img_meta: Any, **kwargs: Any) -> np.ndarray:
        img_group = self.get_img_group(num_modalities, kwargs, ndim=6)
        if self.fcn_testing:
            return self.to_numpy(self.forward_fcn(img_group))
        return self.to_numpy(self.cls_head(self._video_features(img_group)).flatten(1))
