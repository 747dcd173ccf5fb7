"""``SSN2D``: Structured Segment Network on a 2D backbone (v0 §4.3, §8).

Train: ``img_group_0 (B, N * S * L, C, H, W)`` (``N`` proposals of ``S = 9`` snippets of ``L`` frames)
-> ``(B * N * S, C * L, H, W)`` -> backbone -> spatial module -> ``(B * N * S, F)`` -> dropout -> STPP
-> ``SSNHead``: ``act (B*N, K+1)``, ``comp (B*N, K)``, ``reg (B*N, K, 2)`` -> losses ``loss_act`` (CE over fg+bg),
``loss_comp`` (OHEM hinge over fg+incomplete), ``loss_reg`` (class-wise SmoothL1 over fg).
Test (one video): ``img_group_0 (1, crops * T * L, C, H, W)`` -> tick features ``(T, F)`` (crop mean, in chunks of
``test_cfg.ssn.sampler.batch_size`` snippets) -> per-tick part scores -> ``STPPReorganized`` over each proposal's
ticks -> the §2.6 4-tuple ``(rel_prop_list (P, 2), act (P, K+1), comp (P, K), reg (P, K, 2))`` with ``reg``
de-normalised by ``reg_stats``.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmaction.models.necks.stpp import STPPReorganized, StructuredTemporalPyramidPooling
from mmaction.models.recognizers.base import BaseRecognizer
from mmaction.registry import LOCALIZERS, ConfigError

from .ssn_losses import classwise_regression_loss, completeness_loss


def _get(cfg: Any, *keys: str, default: Any = None) -> Any:
    for k in keys:
        if cfg is None or not hasattr(cfg, 'get'):
            return default
        cfg = cfg.get(k)
    return default if cfg is None else cfg


@LOCALIZERS.register_module()
class SSN2D(BaseRecognizer):
    """Args as the original config (``backbone``, ``spatial_temporal_module``, ``dropout_ratio``,
    ``segmental_consensus`` (``StructuredTemporalPyramidPooling`` for training, or ``STPPReorganized`` as
    ``tools/test_localizer.py`` rewrites it), ``cls_head`` (``SSNHead``), ``in_channels``); ``train_cfg.ssn``
    gives the sampler counts and loss weights, ``test_cfg.ssn.sampler.batch_size`` the test chunk size."""

    input_ndim = 5

    def __init__(self, backbone: dict, spatial_temporal_module: dict, segmental_consensus: dict, cls_head: dict,
                 dropout_ratio: float = 0.5, in_channels: int = 3, modality: str = 'RGB',
                 train_cfg: Any = None, test_cfg: Any = None) -> None:
        super().__init__()
        self.in_channels, self.modality = in_channels, modality
        self.build_parts(backbone, spatial_temporal_module, segmental_consensus, cls_head)
        self.dropout = nn.Dropout(p=dropout_ratio) if dropout_ratio > 0 else nn.Identity()
        self.train_cfg, self.test_cfg = train_cfg, test_cfg
        cons = self.segmental_consensus
        if not isinstance(cons, (StructuredTemporalPyramidPooling, STPPReorganized)):
            raise ConfigError("config 'model.segmental_consensus' of SSN2D must be StructuredTemporalPyramidPooling "
                              f'or STPPReorganized, got {type(cons).__name__}')
        self.standalong = cons.standalong_classifier
        # The test-time pooling; built from the training STPP so validation works without a config rewrite.
        if isinstance(cons, STPPReorganized):
            self.test_pool = cons
        else:
            k = self.cls_head.num_classes
            mult = cons.feat_multiplier
            act_len = (k + 1) * (1 if self.standalong else mult)
            reg = 2 * k if self.cls_head.with_reg else 0
            self.test_pool = STPPReorganized(act_len + (k + reg) * mult, k + 1, k, 2 * k, self.standalong,
                                             self.cls_head.with_reg, _stpp_cfg(cons))
        self.init_weights()

    def snippet_features(self, img_group: torch.Tensor) -> torch.Tensor:
        """``(B, M, C, H, W)`` -> ``(B * M * C / in_channels, F)``."""
        x = img_group.reshape((-1, self.in_channels) + tuple(img_group.shape[-2:]))
        x = self.spatial_temporal_module(self.backbone(x))
        return x.flatten(1)

    def forward_train(self, num_modalities: Any, img_meta: Any, prop_scaling: torch.Tensor,
                      prop_type: torch.Tensor, prop_labels: torch.Tensor, reg_targets: torch.Tensor,
                      **kwargs: Any) -> dict[str, torch.Tensor]:
        if not isinstance(self.segmental_consensus, StructuredTemporalPyramidPooling):
            raise ConfigError('SSN2D training needs model.segmental_consensus=StructuredTemporalPyramidPooling')
        img_group = self.get_img_group(num_modalities, kwargs, ndim=5)
        feat = self.dropout(self.snippet_features(img_group))
        act_feat, comp_feat = self.segmental_consensus(feat, prop_scaling)
        act, comp, reg = self.cls_head((act_feat, comp_feat))
        ptype = prop_type.reshape(-1).to(act.device)
        labels = prop_labels.reshape(-1).to(act.device)
        per_video = prop_type.shape[-1]
        num_fg = int((prop_type.reshape(-1, per_video)[0] == 0).sum())
        num_inc = int((prop_type.reshape(-1, per_video)[0] == 1).sum())
        weights = _get(self.train_cfg, 'ssn', 'loss_weight', default={})
        act_idx = ((ptype == 0) | (ptype == 2)).nonzero().squeeze(1)
        comp_idx = ((ptype == 0) | (ptype == 1)).nonzero().squeeze(1)
        losses = dict(loss_act=F.cross_entropy(act[act_idx], labels[act_idx]))
        losses['loss_comp'] = completeness_loss(comp[comp_idx], labels[comp_idx], num_fg, num_fg + num_inc,
                                                ohem_ratio=num_fg / max(num_inc, 1)) \
            * weights.get('comp_loss_weight', 0.1)
        if reg is not None:
            fg = (ptype == 0).nonzero().squeeze(1)
            losses['loss_reg'] = classwise_regression_loss(reg[fg], labels[fg], reg_targets.reshape(-1, 2)[fg]
                                                           .to(reg.device)) * weights.get('reg_loss_weight', 0.1)
        return losses

    @torch.no_grad()
    def tick_features(self, img_group: torch.Tensor, num_ticks: int) -> torch.Tensor:
        """Per-tick features ``(T, F)``: backbone in chunks, mean over crops (crops are the outer layout)."""
        chunk = int(_get(self.test_cfg, 'ssn', 'sampler', 'batch_size', default=16))
        x = img_group.reshape((-1, self.in_channels) + tuple(img_group.shape[-2:]))
        feats = torch.cat([self.snippet_features(x[i:i + chunk]) for i in range(0, x.shape[0], chunk)])
        if feats.shape[0] % num_ticks:
            raise ValueError(f'SSN2D test: {feats.shape[0]} snippets are not a multiple of {num_ticks} ticks')
        return feats.reshape(-1, num_ticks, feats.shape[1]).mean(0)

    @torch.no_grad()
    def forward_test(self, num_modalities: Any, img_meta: Any, rel_prop_list: Any = None, scaling_list: Any = None,
                     prop_tick_list: Any = None, reg_stats: Any = None, **kwargs: Any) -> tuple:
        img_group = self.get_img_group(num_modalities, kwargs, ndim=5)
        if img_group.shape[0] != 1:
            raise ValueError(f'SSN2D test runs one video per batch, got {img_group.shape[0]}')
        first = [v[0] if isinstance(v, (list, tuple)) or (torch.is_tensor(v) and v.dim() == w) else v
                 for v, w in ((rel_prop_list, 3), (scaling_list, 3), (prop_tick_list, 3), (reg_stats, 3))]
        rel, scaling, ticks, stats = [torch.as_tensor(v) for v in first]
        num_ticks = _num_ticks(img_meta)
        feat = self.tick_features(img_group, num_ticks)
        scores = self.cls_head.tick_scores(feat, self.standalong)
        act, comp, reg = self.test_pool(scores, ticks, scaling.to(scores))
        act, comp, reg = self.cls_head.add_bias(act, comp, reg, self.standalong)
        if reg is None:
            reg = comp.new_zeros(comp.shape + (2,))
        else:
            stats = stats.to(reg)
            reg = reg * stats[1] + stats[0]
        return (rel.cpu().numpy().astype(np.float32), act.cpu().numpy(), comp.cpu().numpy(), reg.cpu().numpy())


def _stpp_cfg(cons: StructuredTemporalPyramidPooling) -> tuple:
    return tuple(p[0] if len(p) == 1 else p for p in cons.stage_parts)


def _num_ticks(img_meta: Any) -> int:
    meta = img_meta[0] if isinstance(img_meta, (list, tuple)) else img_meta
    if isinstance(meta, dict) and 'num_ticks' in meta:
        return int(meta['num_ticks'])
    raise ValueError("SSN2D test: img_meta needs 'num_ticks' (SSNDataset test samples provide it)")
