"""mmaction2's ``BMN``: the network of :class:`mmaction.models.localizers.bmn.BMN` with mmaction2's constructor,
state-dict layout and forward API (one implementation of the layers, mask and post-processing for both).

mmaction2's state differs from the original-registry class's, kept here so that its checkpoints load with
``strict=True``: the boundary-matching sampling matrix is a frozen ``nn.Parameter`` ``sample_mask``
``(T, N * T * T)`` (so it is in the state dict *and* in the parameter count), and ``bm_mask`` ``(T, T)`` is a
persistent buffer. Key order: ``sample_mask``, ``bm_mask``, ``x_1d_b.*``, ``x_1d_s.*``, ``x_1d_e.*``, ``x_1d_p.*``,
``x_3d_p.*``, ``x_2d_p.*``. Its training targets differ too (the start/end anchors, see ``__init__``).

Forward API (mmaction2's)::

    model(inputs, mode='tensor')             # (conf (B, 2, T, T), start (B, T), end (B, T))
    model(inputs, data_samples, mode='loss')  # dict(loss=tem + 10 * pem_reg + pem_cls)
    model(inputs, data_samples, mode='predict')  # [dict(video_name, proposal_list=[{score, segment}])] per video

``inputs``: ``(B, feat_dim, T)`` or a list of ``(feat_dim, T)``. The original call
(``model(raw_feature, img_meta=..., return_loss=False)``) still works, so the project's localizer tools run it.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn as nn

from mmaction.models.localizers.bmn import BMN as _BMN
from mmaction.registry import MODELS

from ._common import check_loss_cfg, gt_field, run_mode, sample_meta, stack_inputs


@MODELS.register_module(name='BMN')
class BMN(_BMN):
    """Args: mmaction2's (``loss_cls`` may only be ``dict(type='BMNLoss')``, the loss this class computes, with
    mmaction2's weights 1 / 10 / 1 for the TEM / PEM-regression / PEM-classification terms)."""

    def __init__(self, temporal_dim: int, boundary_ratio: float, num_samples: int, num_samples_per_bin: int,
                 feat_dim: int, soft_nms_alpha: float, soft_nms_low_threshold: float,
                 soft_nms_high_threshold: float, post_process_top_k: int, feature_extraction_interval: int = 16,
                 loss_cls: dict = dict(type='BMNLoss'), hidden_dim_1d: int = 256, hidden_dim_2d: int = 128,
                 hidden_dim_3d: int = 512):
        check_loss_cfg(loss_cls, 'BMNLoss', 'model.loss_cls')
        super().__init__(temporal_dim=temporal_dim, boundary_ratio=boundary_ratio, num_samples=num_samples,
                         num_samples_per_bin=num_samples_per_bin, feat_dim=feat_dim, soft_nms_alpha=soft_nms_alpha,
                         soft_nms_low_threshold=soft_nms_low_threshold,
                         soft_nms_high_threshold=soft_nms_high_threshold, post_process_top_k=post_process_top_k,
                         feature_extraction_interval=feature_extraction_interval, hidden_dim_1d=hidden_dim_1d,
                         hidden_dim_2d=hidden_dim_2d, hidden_dim_3d=hidden_dim_3d, loss_weights=(1.0, 10.0, 1.0))
        sample_mask, bm_mask = self.sample_mask, self.bm_mask
        del self.sample_mask, self.bm_mask
        self.sample_mask = nn.Parameter(sample_mask, requires_grad=False)
        self.register_buffer('bm_mask', bm_mask)
        # mmaction2 (like the BMN authors' code) scores start/end targets on anchors [i - 0.5, i + 1.5] steps wide,
        # not the paper's [i - 0.5, i + 0.5] that the original-registry class uses; its released weights were
        # trained with these targets.
        self.anchors_tmaxs = (np.arange(temporal_dim) + 1.5) / temporal_dim

    def forward(self, inputs: Any = None, data_samples: Any = None, mode: str = 'tensor', **kwargs: Any) -> Any:
        if inputs is None or 'return_loss' in kwargs:
            return super().forward(inputs if inputs is not None else kwargs.pop('raw_feature', None), **kwargs)
        x = stack_inputs(inputs)
        return run_mode('BMN', mode, data_samples, lambda: self._forward(x), lambda: self.loss(x, data_samples),
                        lambda: self.predict(x, data_samples))

    def loss(self, inputs: torch.Tensor, data_samples: Any) -> dict[str, torch.Tensor]:
        """mmaction2 reports only the weighted sum (``loss``)."""
        gt_bbox = [gt_field(s, 'gt_bbox', 'BMN loss') for s in data_samples]
        terms = super().forward(inputs, gt_bbox=gt_bbox, return_loss=True)
        return dict(loss=terms['loss_tem'] + terms['loss_pem_reg'] + terms['loss_pem_cls'])

    def predict(self, inputs: torch.Tensor, data_samples: Any) -> list[dict]:
        """Soft-NMS'd proposals of each video (mmaction2 tests one video per batch and returns its one entry;
        several videos give one entry each). Segments are in seconds when the metainfo has ``duration_second`` /
        ``duration_frame``."""
        if len(data_samples) != inputs.shape[0]:
            raise ValueError(f'BMN predict: {len(data_samples)} data_samples for {inputs.shape[0]} videos')
        return super().forward(inputs, img_meta=[sample_meta(s) for s in data_samples], return_loss=False)
