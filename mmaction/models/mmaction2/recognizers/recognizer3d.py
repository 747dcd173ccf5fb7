"""``Recognizer3D`` (mmaction2): a 3D backbone over each clip, an optional neck, a head."""
from __future__ import annotations

from typing import Any

import torch

from mmaction.registry import MODELS

from .base import BaseRecognizer, run_in_chunks


@MODELS.register_module()
class Recognizer3D(BaseRecognizer):
    """``inputs (N, num_views, C, T, H, W)`` (``num_views`` = crops x clips) are run as ``(N * num_views, C, T, H,
    W)`` clips.

    In test mode (``predict``) the features are those after the neck whatever ``stage`` says, with
    ``fcn_test`` from ``test_cfg``; ``test_cfg.max_testing_views`` runs backbone and neck that many clips at a time
    (batch size 1 only, as in mmaction2).
    """

    def _backbone_neck(self, clips: torch.Tensor) -> Any:
        x = self.backbone(clips)
        if self.with_neck:
            x, _ = self.neck(x)
        return x

    def extract_feat(self, inputs: torch.Tensor, stage: str = 'neck', data_samples: Any = None,
                     test_mode: bool = False) -> tuple[Any, dict]:
        kwargs: dict[str, Any] = {}
        num_views = inputs.shape[1]
        inputs = inputs.view((-1,) + inputs.shape[2:])                 # (N * num_views, C, T, H, W)
        if test_mode:
            test_cfg = self.test_cfg
            if test_cfg is not None:
                kwargs['fcn_test'] = test_cfg.get('fcn_test', False)
            max_views = test_cfg.get('max_testing_views', False) if test_cfg is not None else False
            if max_views:
                if num_views != inputs.shape[0]:
                    raise ValueError('test_cfg.max_testing_views needs a batch of one video, got '
                                     f'{inputs.shape[0] // num_views}')
                return run_in_chunks(self._backbone_neck, inputs, max_views), kwargs
            return self._backbone_neck(inputs), kwargs

        x = self.backbone(inputs)
        if stage == 'backbone':
            return x, kwargs
        loss_aux: dict = {}
        if self.with_neck:
            x, loss_aux = self.neck(x, data_samples=data_samples)
        kwargs['loss_aux'] = loss_aux
        if stage == 'neck':
            return x, kwargs
        return self._head_output(x, kwargs)
