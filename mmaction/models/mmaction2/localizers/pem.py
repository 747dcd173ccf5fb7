"""mmaction2's ``PEM`` (BSN stage 3): the network of :class:`mmaction.models.localizers.pem.PEM` with mmaction2's
constructor and forward API. The layers and keys (``fc1``, ``fc2``) are the same in both.

Forward API (mmaction2's)::

    model(inputs, mode='tensor')                 # (..., N, pem_feat_dim) -> (..., N, 1) confidence
    model(inputs, data_samples, mode='loss')      # dict(temporal_iou_loss)
    model(inputs, data_samples, mode='predict')   # [dict(video_name, proposal_list=[{score, segment}])]

As in mmaction2, ``loss`` and ``predict`` read the proposals from ``data_samples[i].gt_instances``
(``bsp_feature`` ``(N_i, pem_feat_dim)``, ``reference_temporal_iou``; for predict ``tmin``, ``tmax``,
``tmin_score``, ``tmax_score``), not from ``inputs``; predict treats the whole batch as one video (mmaction2 tests
PEM one video per batch) named by the first sample's metainfo.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from mmaction.models.localizers.pem import PEM as _PEM
from mmaction.registry import MODELS, ConfigError

from ._common import gt_field, run_mode, sample_meta, stack_inputs


@MODELS.register_module(name='PEM')
class PEM(_PEM):
    """Args: mmaction2's (``output_dim`` must be 1: one confidence per proposal)."""

    def __init__(self, pem_feat_dim: int, pem_hidden_dim: int, pem_u_ratio_m: float, pem_u_ratio_l: float,
                 pem_high_temporal_iou_threshold: float, pem_low_temporal_iou_threshold: float,
                 soft_nms_alpha: float, soft_nms_low_threshold: float, soft_nms_high_threshold: float,
                 post_process_top_k: int, feature_extraction_interval: int = 16, fc1_ratio: float = 0.1,
                 fc2_ratio: float = 0.1, output_dim: int = 1):
        if output_dim != 1:
            raise ConfigError(f"config 'model.output_dim': PEM scores each proposal with one confidence, so it must "
                              f"be 1, got {output_dim!r}")
        super().__init__(pem_feat_dim=pem_feat_dim, pem_hidden_dim=pem_hidden_dim, pem_u_ratio_m=pem_u_ratio_m,
                         pem_u_ratio_l=pem_u_ratio_l,
                         pem_high_temporal_iou_threshold=pem_high_temporal_iou_threshold,
                         pem_low_temporal_iou_threshold=pem_low_temporal_iou_threshold,
                         soft_nms_alpha=soft_nms_alpha, soft_nms_low_threshold=soft_nms_low_threshold,
                         soft_nms_high_threshold=soft_nms_high_threshold, post_process_top_k=post_process_top_k,
                         feature_extraction_interval=feature_extraction_interval, fc1_ratio=fc1_ratio,
                         fc2_ratio=fc2_ratio)

    def forward(self, inputs: Any = None, data_samples: Any = None, mode: str = 'tensor', **kwargs: Any) -> Any:
        if inputs is None or 'return_loss' in kwargs:
            return super().forward(inputs if inputs is not None else kwargs.pop('bsp_feature', None), **kwargs)
        return run_mode('PEM', mode, data_samples, lambda: self._tensor(stack_inputs(inputs)),
                        lambda: self.loss(data_samples), lambda: self.predict(data_samples))

    def _tensor(self, x: torch.Tensor) -> torch.Tensor:
        """``(..., pem_feat_dim)`` BSP features -> ``(..., 1)`` confidences."""
        return self._forward(x.reshape(-1, x.shape[-1])).reshape(*x.shape[:-1], 1)

    def _gather(self, data_samples: Any, key: str, where: str) -> torch.Tensor:
        return torch.cat([torch.as_tensor(gt_field(s, key, where)) for s in data_samples]).to(self.fc1.weight.device)

    def loss(self, data_samples: Any) -> dict[str, torch.Tensor]:
        """mmaction2's ``temporal_iou_loss``. mmaction2 (0.x and 1.x) reduces the smooth-L1 to its mean *before*
        applying the high/middle/low sampling weights, so the weights cancel and the loss its released PEM was
        trained with is the plain mean over all proposals; that is what this returns (the original-registry PEM
        keeps BSN's weighted sampling, :func:`mmaction.models.localizers.pem.pem_iou_loss`)."""
        feats = self._gather(data_samples, 'bsp_feature', 'PEM loss').float()
        iou = self._gather(data_samples, 'reference_temporal_iou', 'PEM loss').float().reshape(-1)
        pred = self._forward(feats)
        if pred.shape != iou.shape:
            raise ValueError(f'PEM loss: {pred.shape[0]} BSP features but {iou.shape[0]} reference_temporal_iou values')
        return dict(temporal_iou_loss=F.smooth_l1_loss(pred, iou))

    def predict(self, data_samples: Any) -> list[dict]:
        """One ``dict(video_name, proposal_list)``: score = tmin_score * tmax_score * confidence, Soft-NMS, top k."""
        where = 'PEM predict'
        with torch.no_grad():
            conf = self._forward(self._gather(data_samples, 'bsp_feature', where).float()).cpu().numpy()
        cols = [self._gather(data_samples, k, where).reshape(-1).cpu().numpy().astype(np.float64)
                for k in ('tmin', 'tmax', 'tmin_score', 'tmax_score')]
        props = np.stack([cols[0], cols[1], cols[2] * cols[3] * conf], axis=1)
        meta = sample_meta(data_samples[0])
        return [dict(video_name=meta.get('video_name', '0'), proposal_list=self.post_process(props, meta))]
