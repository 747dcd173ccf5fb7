"""``Recognizer2D`` (mmaction2): a 2D backbone over every frame, an optional neck over the segments, a head."""
from __future__ import annotations

from typing import Any

import torch

from mmaction.registry import MODELS

from .base import BaseRecognizer, run_in_chunks


@MODELS.register_module()
class Recognizer2D(BaseRecognizer):
    """``inputs (N, num_segs, C, H, W)`` (``num_segs`` = crops x clips x frames) are run as
    ``(N * num_segs, C, H, W)`` images.

    ``extract_feat`` kwargs: ``num_segs`` (for the head's consensus; 1 after a neck, which merges the segments),
    ``fcn_test`` (test mode), ``loss_aux`` (neck losses). With ``test_cfg.fcn_test`` the features become
    ``(N * crops, C', num_segs, H', W')`` clips, ``num_segs`` taken from ``test_cfg.num_segs`` or the backbone's
    ``num_segments``. ``test_cfg.max_testing_views`` runs the backbone that many images at a time.
    """

    def extract_feat(self, inputs: torch.Tensor, stage: str = 'neck', data_samples: Any = None,
                     test_mode: bool = False) -> tuple[Any, dict]:
        kwargs: dict[str, Any] = {}
        num_segs = inputs.shape[1]
        kwargs['num_segs'] = num_segs
        inputs = inputs.view((-1,) + inputs.shape[2:])                 # (N * num_segs, C, H, W)
        fcn_test = False
        test_cfg = self.test_cfg or {}
        if test_mode:
            if test_cfg.get('fcn_test', False):
                fcn_test = True
                num_segs = test_cfg.get('num_segs', getattr(self.backbone, 'num_segments', None))
            kwargs['fcn_test'] = fcn_test
        max_views = test_cfg.get('max_testing_views') if test_mode else None
        if max_views:
            # mmaction2 looks up ``self.backbone.get('num_segments')`` (an AttributeError on any nn.Module) and
            # also runs the neck per chunk before running it again below; here only the backbone is chunked.
            num_segments = getattr(self.backbone, 'num_segments', None)
            if num_segments is not None and max_views % num_segments:
                raise ValueError(f'test_cfg.max_testing_views={max_views} must be a multiple of the backbone\'s '
                                 f'num_segments={num_segments}')
            x = run_in_chunks(self.backbone, inputs, max_views)
        else:
            x = self.backbone(inputs)
        if stage == 'backbone':
            return x, kwargs

        loss_aux: dict = {}
        if self.with_neck:
            # The neck takes each feature map as clips: (N * crops, C, num_segs, H, W).
            x = [each.reshape((-1, num_segs) + each.shape[1:]).transpose(1, 2).contiguous() for each in x]
            x, loss_aux = self.neck(x, data_samples=data_samples)
            if not fcn_test:
                x = x.squeeze(2)
                kwargs['num_segs'] = 1
        elif fcn_test:
            x = x.reshape((-1, num_segs) + x.shape[1:]).transpose(1, 2).contiguous()
        kwargs['loss_aux'] = loss_aux
        if stage == 'neck':
            return x, kwargs
        return self._head_output(x, kwargs)
