"""mmaction2's ``AVARoIHead`` (mmdet's ``StandardRoIHead`` layout): RoI extractor + ``BBoxHeadAVA`` on external
person proposals, without mmdet.

Keys: ``bbox_roi_extractor`` (no parameters), ``bbox_head.fc_cls.*``. Training assigns each image's proposals to
its ground truth with ``train_cfg.assigner`` (``MaxIoUAssignerAVA``: the project's ``MaxIoUAssigner`` on mmdet-3
IoUs, i.e. without the legacy ``+1``), samples them with ``train_cfg.sampler`` (``RandomSampler``, ground truth
added as proposals) and scores the sampled RoIs against their multi-hot labels.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn as nn
from mmengine.structures import InstanceData

from mmaction.models.detectors.bbox import MaxIoUAssigner, RandomSampler, bbox2roi, bbox_overlaps
from mmaction.registry import MODELS, ConfigError, build_from_cfg

from ._common import cfg_value, sample_field

_WHERE = 'model.train_cfg.rcnn'
# mmdet's defaults for the assigner/sampler keys that the project's mmdet-v1-style classes have no switch for.
_ASSIGNER_FIXED = dict(match_low_quality=True, gpu_assign_thr=-1, iou_calculator=dict(type='BboxOverlaps2D'))
_SAMPLER_FIXED: dict = {}


def _build_task_util(cfg: Any, allowed: tuple[str, ...], cls: type, fixed: dict, where: str) -> Any:
    """The project's assigner/sampler class for an mmdet ``TASK_UTILS`` dict (scope prefixes accepted)."""
    cfg = dict(cfg)
    cfg_type = str(cfg.pop('type', '')).split('.')[-1]
    if cfg_type not in allowed:
        raise ConfigError(f"config '{where}.type': one of {list(allowed)} expected, got {cfg_type!r}")
    cfg.pop('_scope_', None)
    for key, value in fixed.items():
        if key in cfg and cfg.pop(key) != value:
            raise ConfigError(f"config '{where}.{key}': only {value!r} is supported")
    try:
        return cls(**cfg)
    except TypeError as err:
        raise ConfigError(f"config '{where}': {err}") from err


def _meta(sample: Any) -> dict:
    meta = sample.get('metainfo') if isinstance(sample, dict) else getattr(sample, 'metainfo', None)
    if not meta or 'img_shape' not in meta:
        raise ValueError("AVARoIHead predict: every data sample needs metainfo['img_shape'] (the network input's H, W)")
    return dict(meta)


@MODELS.register_module()
class AVARoIHead(nn.Module):
    """Args (mmaction2 / mmdet's): ``bbox_roi_extractor``, ``bbox_head`` configs; ``train_cfg`` (the detector's
    ``train_cfg.rcnn``: ``assigner``, ``sampler``, ``pos_weight``, which weighs mmaction2's label weights only
    and those never enter its loss), ``test_cfg`` (``rcnn``; unused by AVA).
    ``shared_head`` (ACRN / FBO / LFB heads) and mask heads are not implemented."""

    def __init__(self, bbox_roi_extractor: dict, bbox_head: dict, mask_roi_extractor: dict | None = None,
                 mask_head: dict | None = None, shared_head: dict | None = None, train_cfg: Any = None,
                 test_cfg: Any = None, init_cfg: Any = None):
        super().__init__()
        if shared_head is not None:
            raise ConfigError("config 'model.roi_head.shared_head': shared heads (ACRNHead, FBOHead, LFB) are not "
                              "implemented; the plain AVA detectors have none")
        if mask_head is not None or mask_roi_extractor is not None:
            raise ConfigError("config 'model.roi_head.mask_head': AVA detection has no mask head")
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.bbox_roi_extractor = build_from_cfg(bbox_roi_extractor, MODELS, where='model.roi_head.bbox_roi_extractor')
        self.bbox_head = build_from_cfg(bbox_head, MODELS, where='model.roi_head.bbox_head')
        self.bbox_assigner = self.bbox_sampler = None
        if train_cfg:
            self.bbox_assigner = _build_task_util(cfg_value(train_cfg, 'assigner'), ('MaxIoUAssignerAVA',),
                                                  MaxIoUAssigner, _ASSIGNER_FIXED, f'{_WHERE}.assigner')
            self.bbox_sampler = _build_task_util(cfg_value(train_cfg, 'sampler'), ('RandomSampler',),
                                                 RandomSampler, _SAMPLER_FIXED, f'{_WHERE}.sampler')

    def init_weights(self) -> None:
        self.bbox_head.init_weights()

    def _bbox_forward(self, x: Any, rois: torch.Tensor) -> torch.Tensor:
        bbox_feats, _ = self.bbox_roi_extractor(x, rois)
        return self.bbox_head(bbox_feats)

    def forward(self, x: Any, proposals: Sequence[torch.Tensor]) -> tuple[torch.Tensor]:
        """Logits ``(sum n_i, num_classes)`` of every image's proposals ``(n_i, 4)``, as a 1-tuple."""
        return (self._bbox_forward(x, bbox2roi(list(proposals))),)

    def loss(self, x: Any, proposals: Sequence[torch.Tensor], data_samples: Sequence[Any]) -> dict[str, torch.Tensor]:
        """``proposals``: per image ``(n_i, 4)`` pixel boxes; ``data_samples[i].gt_instances``: ``bboxes`` ``(k, 4)``
        and multi-hot ``labels`` ``(k, num_classes)``."""
        if self.bbox_assigner is None:
            raise ValueError("AVARoIHead loss: the model was built without train_cfg.rcnn (assigner and sampler)")
        if len(proposals) != len(data_samples):
            raise ValueError(f'AVARoIHead loss: {len(proposals)} proposal sets for {len(data_samples)} samples')
        boxes, labels = [], []
        for priors, sample in zip(proposals, data_samples):
            gt = sample_field(sample, 'gt_instances', 'AVARoIHead loss')
            gt_bboxes = sample_field(gt, 'bboxes', 'AVARoIHead loss: gt_instances').to(priors)
            gt_labels = sample_field(gt, 'labels', 'AVARoIHead loss: gt_instances').to(priors)
            assign = self.bbox_assigner.assign_wrt_overlaps(bbox_overlaps(gt_bboxes, priors, offset=0), gt_labels)
            result = self.bbox_sampler.sample(assign, priors, gt_bboxes, gt_labels)
            boxes.append(result.bboxes)
            # Sampled RoIs: positives take their ground truth's labels (``add_gt_`` put the GT labels in front),
            # negatives none.
            labels.append(torch.cat([assign.labels[result.pos_inds],
                                     priors.new_zeros(result.neg_inds.numel(), gt_labels.shape[1])]))
        cls_score = self._bbox_forward(x, bbox2roi(boxes))
        return self.bbox_head.loss(cls_score, torch.cat(labels))

    def predict(self, x: Any, proposals: Sequence[torch.Tensor], data_samples: Sequence[Any]) -> list[InstanceData]:
        """Per image ``InstanceData(bboxes (n, 4) in [0, 1], scores (n, num_classes))``; the metainfo needs
        ``img_shape`` (and may have ``flip``, ``crop_quadruple``)."""
        rois = bbox2roi(list(proposals))
        cls_score = self._bbox_forward(x, rois)
        sizes = [len(p) for p in proposals]
        return [self.bbox_head.predict_by_feat(r, s, _meta(sample))
                for r, s, sample in zip(rois.split(sizes), cls_score.split(sizes), data_samples)]
