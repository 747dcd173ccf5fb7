"""``FastRCNN``: two-stage spatio-temporal action detector on external person proposals (AVA).

Data flow (AVA config, clip 32x2 at 256x256)::

    img_group_0 (B, 1, 3, 32, 256, 256) -> backbone res2-res4 -> (B, 1024, 32, 16, 16)
    rois (N, 5) -> SingleRoIStraight3DExtractor (temporal mean, RoIAlign 16x16) -> (N, 1024, 1, 16, 16)
    -> shared_head ResI3DLayer res5 (stride 2) -> (N, 2048, 1, 8, 8) -> dropout -> BBoxHead -> (N, 81) logits

Training filters each image's proposals by score (``>= min(train_cfg.person_det_score_thr, max score)``),
assigns them to ground truth (MaxIoU), samples RoIs and returns ``loss_action_cls`` (+ statistics). Testing
returns, per key-frame, a list of ``num_classes - 1`` arrays ``(n, 5)`` ``[x1, y1, x2, y2, score]`` in
original-frame pixels (the original's ``--out`` format).
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmaction.models.builder import build_backbone, build_head, build_neck, build_roi_extractor
from mmaction.models.detectors.bbox.transforms import bbox2result_multilabel, bbox2roi, labels_to_multihot
from mmaction.ops.nms import singleclass_nms
from mmaction.registry import BBOX_ASSIGNERS, BBOX_SAMPLERS, DETECTORS, ConfigError, build_from_cfg


def _cfg_get(cfg: Any, key: str, default: Any = None) -> Any:
    if cfg is None:
        return default
    return cfg.get(key, default) if hasattr(cfg, 'get') else getattr(cfg, key, default)


def _as_list(x: Any) -> list:
    if isinstance(x, torch.Tensor):
        return list(x.unbind(0))
    return list(x)


def pad_stack(imgs: Sequence[torch.Tensor]) -> torch.Tensor:
    """Stack clips of different ``H, W`` by zero-padding bottom/right (as mmcv's collate did)."""
    h = max(i.shape[-2] for i in imgs)
    w = max(i.shape[-1] for i in imgs)
    return torch.stack([F.pad(i, (0, w - i.shape[-1], 0, h - i.shape[-2])) for i in imgs])


@DETECTORS.register_module()
class FastRCNN(nn.Module):

    def __init__(self, backbone: dict, bbox_roi_extractor: dict, bbox_head: dict, train_cfg: Any = None,
                 test_cfg: Any = None, neck: dict | None = None, shared_head: dict | None = None,
                 pretrained: str | None = None, dropout_ratio: float = 0.0):
        super().__init__()
        self.backbone = build_backbone(backbone)
        self.neck = build_neck(neck) if neck is not None else None
        self.shared_head = build_head(shared_head, 'model.shared_head') if shared_head is not None else None
        # SlowFast-style backbones return (slow, fast) per stage instead of one tensor.
        self.two_pathway = hasattr(self.backbone, 'slow_path') and hasattr(self.backbone, 'fast_path')
        self.bbox_roi_extractor = build_roi_extractor(bbox_roi_extractor)
        self.bbox_head = build_head(bbox_head, 'model.bbox_head')
        self.dropout = nn.Dropout(dropout_ratio) if dropout_ratio > 0 else None
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.pretrained = pretrained
        self.init_weights()

    def init_weights(self) -> None:
        for m in (self.backbone, self.neck, self.shared_head, self.bbox_roi_extractor, self.bbox_head):
            if m is not None and hasattr(m, 'init_weights'):
                m.init_weights()

    # -- shared pieces -------------------------------------------------------------------------------
    def extract_feat(self, img: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        """``(B, 1, C, T, H, W)`` or ``(B, C, T, H, W)`` -> backbone (+neck) features ``(B, C', T', H', W')``.

        A two-pathway backbone (SlowFast) gives the pair ``(slow, fast)`` of its last output stage, which the
        RoI extractor fuses (mmaction2's SlowFast AVA: 2048 + 256 channels)."""
        if img.dim() == 6:
            if img.shape[1] != 1:
                raise ValueError(f'FastRCNN: expected one clip per key-frame, got img_group_0 of shape {tuple(img.shape)}')
            img = img[:, 0]
        x = self.backbone(img)
        if self.two_pathway:
            # One out index gives (slow, fast); several give ((slow, fast), ...): keep the deepest pair.
            x = tuple(x[-1]) if isinstance(x[0], (tuple, list)) else tuple(x)
            if self.neck is not None:
                raise ConfigError('model.neck is not supported with a two-pathway (SlowFast) backbone')
            return x
        if isinstance(x, (tuple, list)):
            x = x[-1]
        if self.neck is not None:
            x = self.neck(x)
        return x

    def roi_scores(self, x: torch.Tensor | tuple[torch.Tensor, ...], rois: torch.Tensor) -> torch.Tensor:
        feats = self.bbox_roi_extractor(x, rois)
        if self.shared_head is not None:
            feats = self.shared_head(feats)
        if self.dropout is not None:
            feats = self.dropout(feats)
        cls_score, _ = self.bbox_head(feats)
        return cls_score

    @staticmethod
    def filter_proposals(props: torch.Tensor, thr: float | None) -> torch.Tensor:
        """Keep proposals scoring ``>= min(thr, best score)`` (so at least the best one survives)."""
        if thr is None or props.shape[1] < 5 or props.shape[0] == 0:
            return props
        cut = min(float(thr), float(props[:, 4].max()))
        return props[props[:, 4] >= cut]

    # -- entry point ---------------------------------------------------------------------------------
    def forward(self, num_modalities: Any = None, img_meta: Any = None, return_loss: bool = True, **kwargs: Any):
        img = kwargs.pop('img_group_0', None)
        if img is None:
            raise ValueError("FastRCNN.forward: the batch has no 'img_group_0'")
        if return_loss:
            return self.forward_train(img, img_meta, **kwargs)
        return self.forward_test(img, img_meta, **kwargs)

    def forward_train(self, img: Any, img_meta: Sequence[dict], gt_bboxes: Any, gt_labels: Any, proposals: Any,
                      gt_bboxes_ignore: Any = None, **unused: Any) -> dict[str, torch.Tensor]:
        if self.bbox_head.with_reg:
            raise ConfigError('model.bbox_head.with_reg=True: box regression training is not implemented '
                              '(the AVA configs use with_reg=False)')
        if self.train_cfg is None:
            raise ConfigError("FastRCNN training needs 'train_cfg' with an 'rcnn' assigner and sampler")
        img = pad_stack(img) if isinstance(img, (list, tuple)) else img
        x = self.extract_feat(img)
        ref = x[0] if isinstance(x, tuple) else x  # dtype/device of the features
        rcnn = _cfg_get(self.train_cfg, 'rcnn')
        assigner = build_from_cfg(rcnn['assigner'], BBOX_ASSIGNERS, where='train_cfg.rcnn.assigner')
        sampler = build_from_cfg(rcnn['sampler'], BBOX_SAMPLERS, where='train_cfg.rcnn.sampler')
        train_detector = bool(_cfg_get(self.train_cfg, 'train_detector', False))
        thr = None if train_detector else _cfg_get(self.train_cfg, 'person_det_score_thr')
        num_classes = self.bbox_head.num_classes
        boxes, targets, pos_masks = [], [], []
        for props, gtb, gtl in zip(_as_list(proposals), _as_list(gt_bboxes), _as_list(gt_labels)):
            props = self.filter_proposals(props.to(ref.dtype), thr)
            gtb = gtb.to(ref.dtype)
            multihot = labels_to_multihot(gtl.to(ref.device), num_classes)
            assign = assigner.assign(props[:, :4], gtb, None, multihot)
            res = sampler.sample(assign, props[:, :4], gtb, multihot)
            tgt = torch.zeros(res.bboxes.shape[0], num_classes, device=ref.device)
            tgt[:res.pos_inds.numel()] = multihot[res.pos_assigned_gt_inds]
            mask = torch.zeros(res.bboxes.shape[0], dtype=torch.bool, device=ref.device)
            mask[:res.pos_inds.numel()] = True
            boxes.append(res.bboxes)
            targets.append(tgt)
            pos_masks.append(mask)
        rois = bbox2roi(boxes)
        cls_score = self.roi_scores(x, rois)
        return self.bbox_head.loss(cls_score, torch.cat(targets), torch.cat(pos_masks), train_detector)

    def forward_test(self, img: Any, img_meta: Any, proposals: Any, rescale: bool = True,
                     **unused: Any) -> list[list]:
        """One result (list of per-class arrays) per key-frame of the batch; views of a key-frame (scales,
        flips) are averaged on the sigmoid scores of the same proposals."""
        if isinstance(img, torch.Tensor):  # single view per key-frame, stacked batch
            views = [[v] for v in img.unbind(0)]
            metas = [[m] for m in img_meta]
            props = [[p] for p in _as_list(proposals)]
        else:
            views = [v if isinstance(v, (list, tuple)) else [v] for v in img]
            metas = [m if isinstance(m, (list, tuple)) else [m] for m in img_meta]
            props = [p if isinstance(p, (list, tuple)) else [p] for p in proposals]
        thr = _cfg_get(self.test_cfg, 'person_det_score_thr')
        rcnn = _cfg_get(self.test_cfg, 'rcnn', {}) or {}
        action_thr = float(rcnn.get('action_thr', 0.0)) if hasattr(rcnn, 'get') else 0.0
        results = []
        for clip_views, clip_metas, clip_props in zip(views, metas, props):
            boxes, scores = None, 0.0
            for view, meta, p in zip(clip_views, clip_metas, clip_props):
                p = self.filter_proposals(p.to(view.dtype), thr)
                x = self.extract_feat(view.unsqueeze(0))
                cls_score = self.roi_scores(x, bbox2roi([p]))
                b, s = self.bbox_head.get_det_bboxes(bbox2roi([p]), cls_score, meta, rescale, cfg=None)
                boxes = b if boxes is None else boxes
                scores = scores + s
            scores = scores / len(clip_views)
            if rcnn:
                # Class-agnostic NMS on the person column; the action scores ride along.
                nms_cfg = rcnn.get('nms', dict(type='nms', iou_thr=1.0))
                dets, scores = singleclass_nms(boxes, scores, float(rcnn.get('score_thr', 0.0)), nms_cfg,
                                               int(rcnn.get('max_per_img', -1)))
                boxes = dets[:, :4]
            results.append(bbox2result_multilabel(boxes, scores, self.bbox_head.num_classes, action_thr))
        return results
