"""mmaction2's ``BBoxHeadAVA``: temporal + spatial pooling of RoI features and one classifier (``fc_cls``).

Shapes: RoI features ``(N, in_channels, T, S, S)`` -> logits ``(N, num_classes)``. Keys: ``fc_cls.weight``,
``fc_cls.bias`` (``mlp_head``: ``fc_cls.0.*``, ``fc_cls.2.*``). Class 0 is the "person" column when
``background_class``; the loss ignores it and every RoI without an action label (as mmaction2 does).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.structures import InstanceData

from mmaction.registry import MODELS, ConfigError


@MODELS.register_module()
class BBoxHeadAVA(nn.Module):
    """Args (mmaction2's): ``background_class``; ``temporal_pool_type`` / ``spatial_pool_type`` (``'avg'`` or
    ``'max'``); ``in_channels``; ``focal_gamma`` / ``focal_alpha`` (focal weighting of the per-class loss; 0 / 1
    is plain BCE); ``num_classes``; ``dropout_ratio`` and ``dropout_before_pool``; ``topk`` (recall/precision
    at top-k, logged with the loss); ``multilabel`` (sigmoid + BCE, else softmax + CE); ``mlp_head``."""

    def __init__(self, background_class: bool, temporal_pool_type: str = 'avg', spatial_pool_type: str = 'max',
                 in_channels: int = 2048, focal_gamma: float = 0.0, focal_alpha: float = 1.0, num_classes: int = 81,
                 dropout_ratio: float = 0, dropout_before_pool: bool = True, topk: int | Sequence[int] | None = (3, 5),
                 multilabel: bool = True, mlp_head: bool = False):
        super().__init__()
        where = 'model.roi_head.bbox_head'
        for key, value in (('temporal_pool_type', temporal_pool_type), ('spatial_pool_type', spatial_pool_type)):
            if value not in ('avg', 'max'):
                raise ConfigError(f"config '{where}.{key}' must be 'avg' or 'max', got {value!r}")
        self.topk = () if topk is None else (topk,) if isinstance(topk, int) else tuple(topk)
        if not all(isinstance(k, int) and k < num_classes for k in self.topk):
            raise ConfigError(f"config '{where}.topk': ints below num_classes ({num_classes}) expected, got {topk!r}")
        self.background_class = background_class
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.focal_gamma = focal_gamma
        self.focal_alpha = focal_alpha
        self.dropout_ratio = dropout_ratio
        self.dropout_before_pool = dropout_before_pool
        self.multilabel = multilabel
        pools = dict(avg=nn.AdaptiveAvgPool3d, max=nn.AdaptiveMaxPool3d)
        self.temporal_pool = pools[temporal_pool_type]((1, None, None))
        self.spatial_pool = pools[spatial_pool_type]((None, 1, 1))
        if dropout_ratio > 0:
            self.dropout = nn.Dropout(dropout_ratio)
        if mlp_head:
            self.fc_cls = nn.Sequential(nn.Linear(in_channels, in_channels), nn.ReLU(),
                                        nn.Linear(in_channels, num_classes))
        else:
            self.fc_cls = nn.Linear(in_channels, num_classes)

    def init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_normal_(m.weight)
                nn.init.constant_(m.bias, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.dropout_ratio > 0 and self.dropout_before_pool:
            x = self.dropout(x)
        x = self.spatial_pool(self.temporal_pool(x))
        if self.dropout_ratio > 0 and not self.dropout_before_pool:
            x = self.dropout(x)
        return self.fc_cls(x.flatten(1))

    @staticmethod
    def _recall_prec(pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Micro recall / precision per RoI, averaged over RoIs (boolean ``(N, C)`` inputs)."""
        correct = pred & target
        recall = correct.sum(1) / target.sum(1).float()
        prec = correct.sum(1) / (pred.sum(1) + 1e-6)
        return recall.mean(), prec.mean()

    @staticmethod
    def _topk_matrix(probs: torch.Tensor, k: int) -> torch.Tensor:
        mask = torch.zeros_like(probs, dtype=torch.bool)
        return mask.scatter_(1, probs.topk(k, 1, True, True)[1], True)

    def loss(self, cls_score: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        """``cls_score`` ``(N, num_classes)`` against multi-hot ``labels`` ``(N, num_classes)`` (sampled RoIs,
        negatives all-zero): recall/precision at 0.5 and at each top-k, and ``loss_action_cls``."""
        if self.background_class:
            labels, cls_score = labels[:, 1:], cls_score[:, 1:]
        keep = labels.sum(-1) > 0
        cls_score, labels = cls_score[keep], labels[keep]
        probs = cls_score.sigmoid() if self.multilabel else cls_score.softmax(1)
        target = labels > 0.5
        pred = probs > 0.5 if self.multilabel else self._topk_matrix(probs, 1)
        losses = dict(zip(('recall@thr=0.5', 'prec@thr=0.5'), self._recall_prec(pred, target)))
        for k in self.topk:
            losses[f'recall@top{k}'], losses[f'prec@top{k}'] = self._recall_prec(self._topk_matrix(probs, k), target)
        if self.multilabel:
            loss = F.binary_cross_entropy_with_logits(cls_score, labels, reduction='none')
        else:
            if self.background_class:
                labels = labels / labels.sum(dim=1, keepdim=True)
            loss = F.cross_entropy(cls_score, labels, reduction='none')
        focal = self.focal_alpha * (1 - torch.exp(-loss)) ** self.focal_gamma * loss
        losses['loss_action_cls'] = focal.mean()
        return losses

    def predict_by_feat(self, rois: torch.Tensor, cls_score: torch.Tensor, img_meta: dict) -> InstanceData:
        """One image's RoIs ``(n, 5)`` and logits ``(n, num_classes)`` -> ``InstanceData(bboxes, scores)``:
        boxes in [0, 1] coordinates of the original frame (flip and crop undone), sigmoid (softmax) scores."""
        scores = cls_score.sigmoid() if self.multilabel else cls_score.softmax(-1)
        bboxes = rois[:, 1:].clone()
        img_h, img_w = img_meta['img_shape']
        if img_meta.get('flip', False):
            bboxes[:, [0, 2]] = img_w - 1 - rois[:, [3, 1]]
        bboxes[:, 0::2] /= img_w
        bboxes[:, 1::2] /= img_h
        crop = img_meta.get('crop_quadruple')
        if crop is not None:
            x1, y1, tw, th = np.asarray(crop, dtype=np.float64).tolist()
            bboxes[:, 0::2] = bboxes[:, 0::2] * tw + x1
            bboxes[:, 1::2] = bboxes[:, 1::2] * th + y1
        return InstanceData(bboxes=bboxes, scores=scores)
