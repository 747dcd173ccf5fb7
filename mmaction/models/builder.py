"""Builders with the original MMAction signatures (``build_recognizer(cfg, train_cfg, test_cfg)``)."""
from __future__ import annotations

from typing import Any

import torch.nn as nn

from mmaction.registry import (BACKBONES, DETECTORS, FLOWNETS, HEADS, LOCALIZERS, NECKS, RECOGNIZERS,
                               ROI_EXTRACTORS, SEGMENTAL_CONSENSUSES, SPATIAL_TEMPORAL_MODULES, build_from_cfg)


def build_backbone(cfg: dict) -> nn.Module:
    return build_from_cfg(cfg, BACKBONES, where='model.backbone')


def build_flownet(cfg: dict) -> nn.Module:
    return build_from_cfg(cfg, FLOWNETS, where='model.flownet')


def build_spatial_temporal_module(cfg: dict) -> nn.Module:
    return build_from_cfg(cfg, SPATIAL_TEMPORAL_MODULES, where='model.spatial_temporal_module')


def build_segmental_consensus(cfg: dict) -> nn.Module:
    return build_from_cfg(cfg, SEGMENTAL_CONSENSUSES, where='model.segmental_consensus')


def build_head(cfg: dict, where: str = 'model.cls_head') -> nn.Module:
    return build_from_cfg(cfg, HEADS, where=where)


def build_neck(cfg: dict) -> nn.Module:
    return build_from_cfg(cfg, NECKS, where='model.neck')


def build_roi_extractor(cfg: dict) -> nn.Module:
    return build_from_cfg(cfg, ROI_EXTRACTORS, where='model.bbox_roi_extractor')


def _build_top(cfg: dict, registry, train_cfg: Any, test_cfg: Any) -> nn.Module:
    return build_from_cfg(cfg, registry, dict(train_cfg=train_cfg, test_cfg=test_cfg), where='model')


def build_recognizer(cfg: dict, train_cfg: Any = None, test_cfg: Any = None) -> nn.Module:
    return _build_top(cfg, RECOGNIZERS, train_cfg, test_cfg)


def build_localizer(cfg: dict, train_cfg: Any = None, test_cfg: Any = None) -> nn.Module:
    return _build_top(cfg, LOCALIZERS, train_cfg, test_cfg)


def build_detector(cfg: dict, train_cfg: Any = None, test_cfg: Any = None) -> nn.Module:
    return _build_top(cfg, DETECTORS, train_cfg, test_cfg)


def build_model(cfg: dict, train_cfg: Any = None, test_cfg: Any = None) -> nn.Module:
    """Build whatever the config's ``type`` names: recognizer, localizer or detector."""
    obj_type = cfg.get('type') if isinstance(cfg, dict) else None
    for registry in (RECOGNIZERS, LOCALIZERS, DETECTORS):
        if isinstance(obj_type, str) and registry.get(obj_type) is not None:
            return _build_top(cfg, registry, train_cfg, test_cfg)
    return _build_top(cfg, RECOGNIZERS, train_cfg, test_cfg)  # raises with suggestions
