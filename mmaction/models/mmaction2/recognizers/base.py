"""``BaseRecognizer``: mmaction2's recognizer protocol, shared by ``Recognizer2D`` and ``Recognizer3D``.

mmaction2's forward API::

    model(inputs, data_samples=None, mode='tensor')   # backbone features (stage='backbone')
    model(inputs, data_samples, mode='loss')           # dict: loss_cls, top{k}_acc, neck losses
    model(inputs, data_samples=None, mode='predict')   # data_samples with pred_score (clips averaged), pred_label
    model.extract_feat(inputs, stage='head')           # (cls_score, kwargs)
    model.test_step(dict(inputs=[...], data_samples=[...]))  # data preprocessor, then predict (mmengine's API)

``inputs`` are ``(B, M, C, H, W)`` (2D: ``M`` = crops x clips x frames) or ``(B, M, C, T, H, W)`` (3D: ``M`` =
crops x clips), already through the data preprocessor. ``data_samples`` may be mmaction2-like objects with
``gt_label`` (and ``set_pred_score`` / ``set_pred_label``), a label tensor ``(B,)`` or ``(B, num_classes)``, a list
of ints, or a list of dicts with ``'gt_label'`` (see ``mmaction.utils.action_data_sample.as_data_samples``);
``predict`` without samples creates one :class:`ActionDataSample` per video.

The original MMAction call also works, so every tool of this project runs these models:
``model(img_group_0=..., return_loss=False)`` applies the data preprocessor and returns the per-video scores as a
float32 numpy array ``(B, num_classes)``; ``return_loss=True`` (with ``gt_label``) returns the loss dict.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from mmengine.model import BaseModel, merge_dict

from mmaction.registry import MODELS, ConfigError, build_from_cfg
from mmaction.utils.action_data_sample import as_data_samples

_FOREIGN_BACKBONES = ('mmcls.', 'mmpretrain.', 'torchvision.', 'timm.')


class BaseRecognizer(BaseModel):
    """Args (mmaction2's): ``backbone``, ``cls_head``, ``neck`` configs built from ``MODELS``; ``train_cfg``,
    ``test_cfg`` (``fcn_test``, ``num_segs``, ``max_testing_views``); ``data_preprocessor`` (default: an
    ``ActionDataPreprocessor`` that only batches)."""

    def __init__(self, backbone: dict, cls_head: dict | None = None, neck: dict | None = None,
                 train_cfg: dict | None = None, test_cfg: dict | None = None,
                 data_preprocessor: dict | None = None):
        preprocessor = build_from_cfg(data_preprocessor or dict(type='ActionDataPreprocessor'), MODELS,
                                      where='model.data_preprocessor')
        super().__init__(data_preprocessor=preprocessor)
        backbone_type = backbone.get('type') if isinstance(backbone, dict) else None
        if isinstance(backbone_type, str) and backbone_type.startswith(_FOREIGN_BACKBONES):
            raise ConfigError(f"config 'model.backbone': type {backbone_type!r} comes from another library "
                              f"(mmcls/mmpretrain/torchvision/timm backbones are not supported); use an mmaction2 "
                              f"backbone")
        self.backbone_from = 'mmaction2'
        self.backbone = build_from_cfg(backbone, MODELS, where='model.backbone')
        if neck is not None:
            self.neck = build_from_cfg(neck, MODELS, where='model.neck')
        if cls_head is not None:
            self.cls_head = build_from_cfg(cls_head, MODELS, where='model.cls_head')
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg

    @property
    def with_neck(self) -> bool:
        return getattr(self, 'neck', None) is not None

    @property
    def with_cls_head(self) -> bool:
        return getattr(self, 'cls_head', None) is not None

    def extract_feat(self, inputs: torch.Tensor, stage: str = 'neck', data_samples: Any = None,
                     test_mode: bool = False) -> tuple[Any, dict]:
        raise NotImplementedError

    def _head_output(self, x: Any, kwargs: dict) -> tuple[torch.Tensor, dict]:
        if not self.with_cls_head:
            raise ValueError(f"extract_feat(stage='head'): {type(self).__name__} has no cls_head")
        return self.cls_head(x, **kwargs), kwargs

    def loss(self, inputs: torch.Tensor, data_samples: Any, **kwargs: Any) -> dict:
        """Loss dict: the head's ``loss_cls`` and ``top{k}_acc`` plus the neck's auxiliary losses."""
        if data_samples is None:
            raise ValueError("mode='loss' needs data_samples with labels")
        data_samples = as_data_samples(data_samples, inputs.shape[0])
        feats, loss_kwargs = self.extract_feat(inputs, data_samples=data_samples)
        loss_aux = loss_kwargs.get('loss_aux', dict())
        return merge_dict(self.cls_head.loss(feats, data_samples, **loss_kwargs), loss_aux)

    def predict(self, inputs: torch.Tensor, data_samples: Any = None, **kwargs: Any) -> list:
        """The samples with ``pred_score`` (``(num_classes,)``, clips averaged by the head's ``average_clips``)
        and ``pred_label`` set."""
        data_samples = as_data_samples(data_samples, inputs.shape[0])
        feats, predict_kwargs = self.extract_feat(inputs, test_mode=True)
        return self.cls_head.predict(feats, data_samples, **predict_kwargs)

    def _forward(self, inputs: torch.Tensor, stage: str = 'backbone', **kwargs: Any) -> Any:
        feats, _ = self.extract_feat(inputs, stage=stage)
        return feats

    def forward(self, inputs: torch.Tensor | None = None, data_samples: Any = None, mode: str = 'tensor',
                **kwargs: Any) -> Any:
        if inputs is None or 'return_loss' in kwargs:
            return self._forward_original(inputs, **kwargs)
        if mode == 'tensor':
            return self._forward(inputs, **kwargs)
        if mode == 'predict':
            return self.predict(inputs, data_samples, **kwargs)
        if mode == 'loss':
            return self.loss(inputs, data_samples, **kwargs)
        raise ValueError(f"mode must be 'tensor', 'predict' or 'loss', got {mode!r}")

    def _forward_original(self, inputs: torch.Tensor | None = None, return_loss: bool = True,
                          img_group_0: torch.Tensor | None = None, gt_label: torch.Tensor | None = None,
                          num_modalities: Any = None, img_meta: Any = None, **kwargs: Any) -> Any:
        """The original MMAction call: raw batch ``img_group_0`` through the data preprocessor, then the loss
        dict (``return_loss=True``) or the scores ``(B, num_classes)`` as float32 numpy."""
        extra = sorted(k for k in kwargs if k.startswith('img_group_'))
        if extra:
            raise ValueError(f'{type(self).__name__} takes one modality (img_group_0), got also {extra}')
        batch = img_group_0 if img_group_0 is not None else inputs
        if batch is None:
            raise ValueError(f'{type(self).__name__}: no input (pass inputs=... or img_group_0=...)')
        if return_loss:
            if gt_label is None:
                raise ValueError('return_loss=True needs gt_label')
            data = self.data_preprocessor(dict(inputs=batch, data_samples=gt_label), True)
            return self.loss(data['inputs'], data['data_samples'])
        return self.to_numpy(self.video_scores(batch))

    @staticmethod
    def to_numpy(scores: torch.Tensor) -> np.ndarray:
        # An instance attribute may replace it (tools/deployment/export.py keeps the tensor).
        return scores.detach().float().cpu().numpy().astype(np.float32)

    def video_scores(self, batch: torch.Tensor) -> torch.Tensor:
        """Raw batch -> data preprocessor -> per-video scores ``(B, num_classes)``: ``predict``'s numbers, with
        tensors only (traceable for export)."""
        inputs = self.data_preprocessor(dict(inputs=batch, data_samples=None), False)['inputs']
        feats, kwargs = self.extract_feat(inputs, test_mode=True)
        cls_scores = self.cls_head(feats, **kwargs)
        return self.cls_head.average_clip(cls_scores, num_segs=cls_scores.shape[0] // inputs.shape[0])

    def video_features(self, batch: torch.Tensor) -> torch.Tensor:
        """Raw batch -> the features the head sees in test mode, averaged over every non-channel dimension and
        over the views of each video: ``(B, C)`` (feature extraction). Two-pathway features are concatenated fast
        pathway first, in ``SlowFastHead``'s order."""
        inputs = self.data_preprocessor(dict(inputs=batch, data_samples=None), False)['inputs']
        feats, _ = self.extract_feat(inputs, test_mode=True)
        parts = list(reversed(feats)) if isinstance(feats, (tuple, list)) else [feats]
        pooled = []
        for part in parts:
            per_view = part.flatten(2).mean(2) if part.dim() > 2 else part           # (B * views, C)
            pooled.append(per_view.reshape(batch.shape[0], -1, per_view.shape[1]).mean(1))
        return torch.cat(pooled, dim=1)

    @property
    def outputs_probabilities(self) -> bool:
        """Whether the per-video scores are already softmax probabilities (``average_clips='prob'``)."""
        return self.with_cls_head and getattr(self.cls_head, 'average_clips', None) == 'prob'


def run_in_chunks(fn: Any, inputs: torch.Tensor, chunk: int) -> Any:
    """``fn`` over ``inputs`` ``chunk`` views at a time (``test_cfg.max_testing_views``), outputs concatenated
    along the batch (nested tuples of tensors concatenated element by element)."""
    if not isinstance(chunk, int) or chunk < 1:
        raise ConfigError(f"config 'model.test_cfg.max_testing_views' must be a positive int, got {chunk!r}")
    outs = [fn(inputs[i:i + chunk]) for i in range(0, inputs.shape[0], chunk)]

    def cat(items: list) -> Any:
        if isinstance(items[0], torch.Tensor):
            return torch.cat(items)
        return tuple(cat([item[i] for item in items]) for i in range(len(items[0])))

    return cat(outs)
