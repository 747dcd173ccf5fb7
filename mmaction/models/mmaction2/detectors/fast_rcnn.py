"""mmaction2's spatio-temporal detector ``FastRCNN`` (mmdet's ``FastRCNN`` / ``TwoStageDetector`` layout) without mmdet
or compiled ops: a video backbone, an optional neck and ``AVARoIHead`` scoring external person proposals.

Built from mmaction2's AVA ``model`` dict unchanged: ``_scope_='mmdet'`` entries and ``mmaction.`` / ``mmdet.`` type
prefixes are accepted (one registry, :data:`mmaction.registry.MODELS`, holds every type here). Keys:
``backbone.*``, ``neck.*``, ``roi_head.bbox_head.fc_cls.*``.

Forward API (mmdet's)::

    model(inputs, data_samples, mode='predict')  # data_samples with pred_instances (bboxes in [0, 1], scores)
    model(inputs, data_samples, mode='loss')     # recall/precision at 0.5 and top-k, loss_action_cls
    model(inputs, data_samples, mode='tensor')   # (logits (sum n_i, num_classes),); no samples: backbone features

``inputs`` ``(B, C, T, H, W)`` (already through the data preprocessor); every data sample carries
``proposals.bboxes`` ``(n_i, 4)`` in input pixels, ``metainfo['img_shape']`` for predict and ``gt_instances``
(``bboxes``, multi-hot ``labels``) for the loss. mmaction2's own tensor mode raises (``AVARoIHead._bbox_forward``
needs image metas that mmdet's ``StandardRoIHead.forward`` does not pass); here it returns the RoI logits.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
from mmengine.model import BaseModel

from mmaction.registry import MODELS, build_from_cfg

from ._common import cfg_value, sample_field, without_scope


def _build(cfg: Any, where: str) -> Any:
    cfg = without_scope(dict(cfg))
    cfg_type = cfg.get('type')
    if isinstance(cfg_type, str) and cfg_type.startswith(('mmdet.', 'mmaction.')):
        cfg['type'] = cfg_type.split('.', 1)[1]
    return build_from_cfg(cfg, MODELS, where=where)


@MODELS.register_module()
class FastRCNN(BaseModel):
    """Args (mmdet's): ``backbone``, ``roi_head``, optional ``neck`` configs; ``train_cfg`` / ``test_cfg`` with an
    ``rcnn`` entry each (passed to the RoI head); ``data_preprocessor`` (default: batching only); ``init_cfg``
    (mmaction2's ``Pretrained`` recognizer checkpoint for training) is kept as ``pretrained_cfg`` and never fetched
    while building: a released detector checkpoint replaces those weights."""

    def __init__(self, backbone: dict, roi_head: dict, train_cfg: Any = None, test_cfg: Any = None,
                 neck: dict | None = None, data_preprocessor: dict | None = None, init_cfg: Any = None):
        preprocessor = None if data_preprocessor is None else _build(data_preprocessor, 'model.data_preprocessor')
        super().__init__(data_preprocessor=preprocessor)
        self.backbone = _build(backbone, 'model.backbone')
        if neck is not None:
            self.neck = _build(neck, 'model.neck')
        head_cfg = dict(without_scope(dict(roi_head)), train_cfg=cfg_value(train_cfg, 'rcnn'),
                        test_cfg=cfg_value(test_cfg, 'rcnn'))
        self.roi_head = _build(head_cfg, 'model.roi_head')
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg
        self.pretrained_cfg = init_cfg

    @property
    def with_neck(self) -> bool:
        return getattr(self, 'neck', None) is not None

    def init_weights(self) -> None:
        for module in (self.backbone, getattr(self, 'neck', None), self.roi_head):
            if module is not None and hasattr(module, 'init_weights'):
                module.init_weights()

    def extract_feat(self, inputs: torch.Tensor) -> Any:
        """Backbone (+ neck) features: ``(B, C', T', H', W')``, or a tuple of them (SlowFast: slow, fast)."""
        x = self.backbone(inputs)
        return self.neck(x) if self.with_neck else x

    @staticmethod
    def _proposals(data_samples: Sequence[Any], where: str) -> list[torch.Tensor]:
        return [sample_field(sample_field(s, 'proposals', where), 'bboxes', f'{where}: proposals')
                for s in data_samples]

    def forward(self, inputs: torch.Tensor, data_samples: Sequence[Any] | None = None, mode: str = 'tensor') -> Any:
        if mode not in ('tensor', 'predict', 'loss'):
            raise ValueError(f"FastRCNN: mode must be 'tensor', 'predict' or 'loss', got {mode!r}")
        x = self.extract_feat(inputs)
        if mode == 'tensor':
            return x if data_samples is None else self.roi_head(x, self._proposals(data_samples, 'FastRCNN'))
        if data_samples is None:
            raise ValueError(f"FastRCNN: mode='{mode}' needs data_samples with proposals")
        proposals = [p.to(inputs) for p in self._proposals(data_samples, f'FastRCNN {mode}')]
        if mode == 'loss':
            return self.roi_head.loss(x, proposals, data_samples)
        for sample, result in zip(data_samples, self.roi_head.predict(x, proposals, data_samples)):
            sample.pred_instances = result
        return list(data_samples)
