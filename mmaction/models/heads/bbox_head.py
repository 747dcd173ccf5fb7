"""``BBoxHead`` of the AVA Fast R-CNN: pooled RoI features -> multi-label action logits (and optional box deltas).

Input ``(N, C, T, H, W)`` RoI features (a 4-D ``(N, C, H, W)`` is treated as ``T = 1``); temporal average
and spatial max/avg pooling, then ``fc_cls`` ``(N, num_classes)`` (column 0 = person, 1.. = actions) and
``fc_reg`` ``(N, 4)`` or ``(N, 4 * num_classes)`` when ``with_reg``.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmaction.models.detectors.bbox.transforms import bbox_flip
from mmaction.ops.nms import multiclass_nms, singleclass_nms
from mmaction.registry import HEADS


def recall_prec(pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean per-RoI recall and precision of boolean multi-label predictions."""
    correct = (pred & target).sum(1).float()
    recall = correct / target.sum(1).float().clamp(min=1)
    prec = correct / pred.sum(1).float().clamp(min=1)
    return recall.mean(), prec.mean()


@HEADS.register_module()
class BBoxHead(nn.Module):

    def __init__(self, with_temporal_pool: bool = False, with_spatial_pool: bool = False,
                 temporal_pool_type: str = 'avg', spatial_pool_type: str = 'max', with_cls: bool = True,
                 with_reg: bool = True, roi_feat_size: int | tuple = 7, in_channels: int = 256,
                 num_classes: int = 81, target_means: tuple = (0., 0., 0., 0.), target_stds: tuple = (0.1, 0.1, 0.2, 0.2),
                 multilabel_classification: bool = True, reg_class_agnostic: bool = False,
                 nms_class_agnostic: bool = False, topk: tuple = (3, 5)):
        super().__init__()
        if spatial_pool_type not in ('max', 'avg') or temporal_pool_type not in ('max', 'avg'):
            raise ValueError(f"BBoxHead: pool types must be 'max' or 'avg', got spatial={spatial_pool_type!r}, "
                             f"temporal={temporal_pool_type!r}")
        if not (with_cls or with_reg):
            raise ValueError('BBoxHead: at least one of with_cls / with_reg must be True')
        self.with_temporal_pool, self.with_spatial_pool = with_temporal_pool, with_spatial_pool
        self.temporal_pool_type, self.spatial_pool_type = temporal_pool_type, spatial_pool_type
        self.with_cls, self.with_reg = with_cls, with_reg
        size = (roi_feat_size,) * 3 if isinstance(roi_feat_size, int) else tuple(roi_feat_size)
        if len(size) == 2:
            size = (1,) + size
        self.roi_feat_size = size
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.target_means, self.target_stds = tuple(target_means), tuple(target_stds)
        self.multilabel_classification = multilabel_classification
        self.reg_class_agnostic = reg_class_agnostic
        self.nms_class_agnostic = nms_class_agnostic
        self.topk = tuple(topk)
        t, h, w = size
        flat = in_channels * (1 if with_temporal_pool else t) * (1 if with_spatial_pool else h * w)
        if with_cls:
            self.fc_cls = nn.Linear(flat, num_classes)
        if with_reg:
            self.fc_reg = nn.Linear(flat, 4 if reg_class_agnostic else 4 * num_classes)

    def init_weights(self) -> None:
        if self.with_cls:
            nn.init.normal_(self.fc_cls.weight, 0, 0.01)
            nn.init.zeros_(self.fc_cls.bias)
        if self.with_reg:
            nn.init.normal_(self.fc_reg.weight, 0, 0.001)
            nn.init.zeros_(self.fc_reg.bias)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        if x.dim() == 4:
            x = x.unsqueeze(2)
        if self.with_temporal_pool:
            x = x.mean(2, keepdim=True) if self.temporal_pool_type == 'avg' else x.amax(2, keepdim=True)
        if self.with_spatial_pool:
            x = x.mean((3, 4), keepdim=True) if self.spatial_pool_type == 'avg' else x.amax((3, 4), keepdim=True)
        x = x.flatten(1)
        cls_score = self.fc_cls(x) if self.with_cls else None
        bbox_pred = self.fc_reg(x) if self.with_reg else None
        return cls_score, bbox_pred

    def loss(self, cls_score: torch.Tensor, targets: torch.Tensor, pos_mask: torch.Tensor,
             train_detector: bool = False) -> dict[str, torch.Tensor]:
        """Multi-label sigmoid BCE.

        ``targets`` ``(N, num_classes)`` multi-hot (column 0 = is a person); ``pos_mask`` ``(N,)`` marks the
        sampled positives. ``loss_action_cls`` averages over positives x action classes; ``loss_person_cls``
        (only with ``train_detector``) over all sampled RoIs. Other entries are logged statistics.
        """
        losses: dict[str, torch.Tensor] = {}
        if not self.multilabel_classification:
            labels = targets[:, 1:].argmax(1) + 1
            labels[targets[:, 1:].sum(1) == 0] = 0
            losses['loss_cls'] = F.cross_entropy(cls_score, labels)
            losses['acc'] = (cls_score.argmax(1) == labels).float().mean() * 100
            return losses
        if train_detector:
            losses['loss_person_cls'] = F.binary_cross_entropy_with_logits(cls_score[:, 0], targets[:, 0])
        pos = pos_mask.nonzero(as_tuple=True)[0]
        if pos.numel() == 0:
            losses['loss_action_cls'] = cls_score.sum() * 0.0  # keeps the graph (DDP) without a signal
            return losses
        logits, tgt = cls_score[pos, 1:], targets[pos, 1:]
        losses['loss_action_cls'] = F.binary_cross_entropy_with_logits(logits, tgt)
        with torch.no_grad():
            pred = logits.sigmoid() > 0.5
            truth = tgt > 0.5
            losses['acc'] = (pred == truth).float().mean() * 100
            recall, prec = recall_prec(pred, truth)
            losses['recall@thr=0.5'], losses['prec@thr=0.5'] = recall, prec
            for k in self.topk:
                k_eff = min(k, logits.shape[1])
                top = logits.topk(k_eff, dim=1)[1]
                pred_k = torch.zeros_like(truth).scatter_(1, top, True)
                recall, prec = recall_prec(pred_k, truth)
                losses[f'recall@top{k}'], losses[f'prec@top{k}'] = recall, prec
        return losses

    def get_det_bboxes(self, rois: torch.Tensor, cls_score: torch.Tensor, img_meta: dict, rescale: bool = True,
                       cfg: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Boxes (in original-frame pixels when ``rescale``) and scores of one view.

        The flip is undone first, then the crop offset is added back, then the resize is divided out.
        Returns ``(boxes (n, 4), scores (n, num_classes))`` without ``cfg``, else the NMS output.
        """
        scores = cls_score.sigmoid() if self.multilabel_classification else F.softmax(cls_score, dim=1)
        boxes = rois[:, 1:5].clone()
        if img_meta.get('flip', False):
            boxes = bbox_flip(boxes, int(img_meta['img_shape'][1]))
        crop = img_meta.get('crop_quadruple')
        if crop is not None:
            boxes[:, 0::2] += float(crop[0])
            boxes[:, 1::2] += float(crop[1])
        if rescale:
            boxes = boxes / torch.as_tensor(img_meta['scale_factor'], dtype=boxes.dtype, device=boxes.device)
        if cfg is None:
            return boxes, scores
        nms_cfg = cfg['nms'] if isinstance(cfg, dict) else cfg.nms
        score_thr = cfg.get('score_thr', 0.0)
        max_num = cfg.get('max_per_img', -1)
        if self.multilabel_classification:
            return singleclass_nms(boxes, scores, score_thr, nms_cfg, max_num)
        return multiclass_nms(boxes, scores, score_thr, nms_cfg, max_num)
