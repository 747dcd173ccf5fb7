"""``BaseRecognizer``: the original forward dispatch shared by TSN2D and TSN3D.

``forward(num_modalities, img_meta, return_loss=True, **batch)`` calls ``forward_train`` (returns a dict of
loss tensors) or ``forward_test`` (returns a float32 numpy array ``(B, num_classes)``). Batches come from
``mmaction.datasets.collate``: ``img_group_0`` ``(B, M, ...)``, ``gt_label`` ``(B, 1)``,
``num_modalities`` ``(B, 1)``, ``img_meta`` a list of dicts.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from mmaction.models import builder
from mmaction.registry import ConfigError


class BaseRecognizer(nn.Module):
    """Thin base class; subclasses implement ``forward_train`` and ``forward_test``."""

    def build_parts(self, backbone: dict, spatial_temporal_module: dict | None,
                    segmental_consensus: dict | None, cls_head: dict | None) -> None:
        """Build ``self.backbone``, ``spatial_temporal_module``, ``segmental_consensus`` and ``cls_head``
        from their config dicts; a missing part fails naming its ``model.<key>``."""
        for key, value in (('spatial_temporal_module', spatial_temporal_module),
                           ('segmental_consensus', segmental_consensus), ('cls_head', cls_head)):
            if value is None:
                raise ConfigError(f"config 'model.{key}' is required by {type(self).__name__}")
        self.backbone = builder.build_backbone(backbone)
        self.spatial_temporal_module = builder.build_spatial_temporal_module(spatial_temporal_module)
        self.segmental_consensus = builder.build_segmental_consensus(segmental_consensus)
        self.cls_head = builder.build_head(cls_head)

    def init_weights(self, pretrained: str | None = None) -> None:
        if pretrained is not None:
            logging.getLogger('mmaction').info(f'load model from: {pretrained}')
        for name in ('backbone', 'spatial_temporal_module', 'segmental_consensus', 'cls_head'):
            part = getattr(self, name, None)
            if hasattr(part, 'init_weights'):
                part.init_weights()

    # Rank of ``img_group_0`` (5 for NCHW snippets ``(B, M, C, H, W)``, 6 for NCTHW clips).
    input_ndim = 5

    def split_views(self, img_group: torch.Tensor) -> tuple[torch.Tensor, int, int]:
        """``img_group_0`` -> (backbone input ``(B * V, ...)``, ``B``, views per video ``V``)."""
        raise NotImplementedError(f'{type(self).__name__} must implement split_views')

    def extract_feat(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)

    def video_features(self, img_group: torch.Tensor) -> torch.Tensor:
        """Backbone -> ``spatial_temporal_module`` -> consensus over each video's ``V`` views: ``(B, F, ...)``."""
        x, bs, views = self.split_views(img_group)
        x = self.spatial_temporal_module(self.extract_feat(x))
        x = x.reshape((bs, views) + tuple(x.shape[1:]))
        return self.segmental_consensus(x).squeeze(1)

    def forward_train(self, num_modalities: int, img_meta: Any, gt_label: torch.Tensor | None = None,
                      **kwargs: Any) -> dict:
        """``dict(loss_cls=...)`` of ``cls_head`` on :meth:`video_features`."""
        img_group = self.get_img_group(num_modalities, kwargs, ndim=self.input_ndim)
        if gt_label is None:
            raise KeyError(f"{type(self).__name__}.forward_train: the batch has no 'gt_label'")
        cls_score = self.cls_head(self.video_features(img_group))
        labels = self.flatten_labels(gt_label, img_group.shape[0]).to(cls_score.device)
        return self.cls_head.loss(cls_score, labels)

    @staticmethod
    def average_fcn_probs(class_map: torch.Tensor, batch_size: int) -> torch.Tensor:
        """FCN testing: class map ``(B * V, K, ...)`` -> mean over positions -> softmax -> mean over the
        ``V`` views of each video: ``(B, K)`` probabilities."""
        probs = torch.softmax(class_map.flatten(2).mean(dim=2), dim=1)
        return probs.reshape(batch_size, -1, probs.shape[1]).mean(dim=1)

    def forward_fcn(self, img_group: torch.Tensor) -> torch.Tensor:
        """Fully-convolutional test scores: ``img_group_0`` -> softmax probabilities ``(B, K)``."""
        raise NotImplementedError(f'{type(self).__name__} has no fully-convolutional testing')

    def forward_test(self, num_modalities: int, img_meta: Any, **kwargs: Any) -> np.ndarray:
        """``(B, K)`` logits of ``cls_head`` on :meth:`video_features`, or FCN probabilities when
        ``self.fcn_testing``."""
        img_group = self.get_img_group(num_modalities, kwargs, ndim=self.input_ndim)
        if getattr(self, 'fcn_testing', False):
            return self.to_numpy(self.forward_fcn(img_group))
        return self.to_numpy(self.cls_head(self.video_features(img_group)).flatten(1))

    def forward(self, num_modalities: Any = None, img_meta: Any = None, return_loss: bool = True,
                **kwargs: Any) -> Any:
        num_modalities = self.parse_num_modalities(num_modalities)
        if return_loss:
            return self.forward_train(num_modalities, img_meta, **kwargs)
        return self.forward_test(num_modalities, img_meta, **kwargs)

    # Helpers for subclasses -------------------------------------------------------------------
    @staticmethod
    def parse_num_modalities(num_modalities: Any) -> int:
        """``None`` -> 1; an int; or the collated tensor ``(B, 1)`` / ``(B,)`` (its first element)."""
        if num_modalities is None:
            return 1
        if isinstance(num_modalities, torch.Tensor):
            return int(num_modalities.reshape(-1)[0])
        if isinstance(num_modalities, (list, tuple)):
            return int(num_modalities[0])
        return int(num_modalities)

    def get_img_group(self, num_modalities: int, kwargs: dict, ndim: int) -> torch.Tensor:
        """Return ``kwargs['img_group_0']`` after checking the modality count and the tensor rank."""
        name = type(self).__name__
        if num_modalities != 1:
            raise ValueError(f'{name} supports a single modality per sample, got num_modalities={num_modalities}')
        if 'img_group_0' not in kwargs:
            raise KeyError(f"{name}: the batch has no 'img_group_0' (keys: {sorted(kwargs)})")
        img_group = kwargs['img_group_0']
        if not isinstance(img_group, torch.Tensor) or img_group.dim() != ndim:
            shape = tuple(img_group.shape) if isinstance(img_group, torch.Tensor) else type(img_group).__name__
            raise ValueError(f"{name}: 'img_group_0' must be a {ndim}-D tensor (B, M, ...), got {shape}")
        return img_group

    @staticmethod
    def flatten_labels(gt_label: torch.Tensor, batch_size: int) -> torch.Tensor:
        """``(B, 1)`` LongTensor -> ``(B,)`` (``reshape`` rather than the original ``squeeze``, which
        turned a batch of one into a 0-d tensor)."""
        labels = gt_label.reshape(-1).long()
        if labels.numel() != batch_size:
            raise ValueError(f'gt_label has {labels.numel()} entries for a batch of {batch_size} '
                             f'(expected shape (B, 1), got {tuple(gt_label.shape)})')
        return labels

    @staticmethod
    def to_numpy(scores: torch.Tensor) -> np.ndarray:
        return scores.detach().float().cpu().numpy()
