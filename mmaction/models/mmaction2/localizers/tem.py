"""mmaction2's ``TEM`` (BSN stage 1): the network of :class:`mmaction.models.localizers.tem.TEM` with mmaction2's
constructor and forward API. The layers and keys (``conv1``, ``conv2``, ``conv3``) are the same in both.

Forward API (mmaction2's)::

    model(inputs, mode='tensor')                 # (B, 3, T) probabilities: action, start, end
    model(inputs, data_samples, mode='loss')      # dict(loss_action (x loss_weight), loss_start, loss_end)
    model(inputs, data_samples, mode='predict')   # [(video_name, (T, 5) array: action, start, end, tmin, tmax)]

``inputs``: ``(B, tem_feat_dim, T)`` or a list of ``(tem_feat_dim, T)``; ``data_samples`` carry
``gt_instances['gt_bbox']`` (normalised ``(G, 2)``) for the loss and ``metainfo['video_name']`` for predict.
The original call (``model(raw_feature, return_loss=False)``) still works.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from mmaction.models.localizers.tem import TEM as _TEM
from mmaction.registry import MODELS

from ._common import check_loss_cfg, gt_field, run_mode, sample_meta, stack_inputs


@MODELS.register_module(name='TEM')
class TEM(_TEM):
    """Args: mmaction2's. ``loss_weight`` weighs the action loss only (start and end weigh 1); ``loss_cls`` may
    only be ``dict(type='BinaryLogisticRegressionLoss')``, the loss this class computes."""

    def __init__(self, temporal_dim: int, boundary_ratio: float, tem_feat_dim: int, tem_hidden_dim: int,
                 tem_match_threshold: float, loss_cls: dict = dict(type='BinaryLogisticRegressionLoss'),
                 loss_weight: float = 2, output_dim: int = 3, conv1_ratio: float = 1, conv2_ratio: float = 1,
                 conv3_ratio: float = 0.01):
        check_loss_cfg(loss_cls, 'BinaryLogisticRegressionLoss', 'model.loss_cls')
        super().__init__(temporal_dim=temporal_dim, boundary_ratio=boundary_ratio, tem_feat_dim=tem_feat_dim,
                         tem_hidden_dim=tem_hidden_dim, tem_match_threshold=tem_match_threshold,
                         loss_weights=(loss_weight, 1.0, 1.0), conv1_ratio=conv1_ratio, conv2_ratio=conv2_ratio,
                         conv3_ratio=conv3_ratio, output_dim=output_dim)

    def forward(self, inputs: Any = None, data_samples: Any = None, mode: str = 'tensor', **kwargs: Any) -> Any:
        if inputs is None or 'return_loss' in kwargs:
            return super().forward(inputs if inputs is not None else kwargs.pop('raw_feature', None), **kwargs)
        x = stack_inputs(inputs)
        return run_mode('TEM', mode, data_samples, lambda: self._forward(x), lambda: self.loss(x, data_samples),
                        lambda: self.predict(x, data_samples))

    def loss(self, inputs: torch.Tensor, data_samples: Any) -> dict[str, torch.Tensor]:
        gt_bbox = [gt_field(s, 'gt_bbox', 'TEM loss') for s in data_samples]
        return super().forward(inputs, gt_bbox=gt_bbox, return_loss=True)

    def predict(self, inputs: torch.Tensor, data_samples: Any) -> list[tuple[str, np.ndarray]]:
        """mmaction2's TEM result per video: ``(video_name, (T, 5) float64 array)``, columns action, start, end,
        tmin, tmax (the rows of BSN's TEM result CSV)."""
        if len(data_samples) != inputs.shape[0]:
            raise ValueError(f'TEM predict: {len(data_samples)} data_samples for {inputs.shape[0]} videos')
        results = super().forward(inputs, img_meta=[sample_meta(s) for s in data_samples], return_loss=False)
        return [(r['video_name'], r['tem_output'].astype(np.float64)) for r in results]
