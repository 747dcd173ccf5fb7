"""Builders with the original MMAction signatures (``build_recognizer(cfg, train_cfg, test_cfg)``), and
:func:`build_model`, which also builds mmaction2 1.x ``model`` dicts (types in ``mmaction.registry.MODELS``)."""
from __future__ import annotations

import inspect
from typing import Any

import torch.nn as nn

from mmaction.registry import (BACKBONES, DETECTORS, FLOWNETS, HEADS, LOCALIZERS, MODELS, NECKS, RECOGNIZERS,
                               ROI_EXTRACTORS, SEGMENTAL_CONSENSUSES, SPATIAL_TEMPORAL_MODULES, ConfigError, _closest,
                               build_from_cfg)


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


def _registry_of(cfg: Any) -> Any:
    obj_type = cfg.get('type') if isinstance(cfg, dict) else None
    for registry in (RECOGNIZERS, LOCALIZERS, DETECTORS):
        if isinstance(obj_type, str) and registry.get(obj_type) is not None:
            return registry
    return RECOGNIZERS


def _build_top(cfg: dict, registry, train_cfg: Any, test_cfg: Any, allow_mmaction2: bool = True) -> nn.Module:
    """An original model from ``registry``, or the mmaction2 model the dict names (so every tool that builds a
    recognizer/localizer/detector also takes mmaction2 ``model`` dicts)."""
    if allow_mmaction2 and is_mmaction2_model(cfg):
        return build_mmaction2_model(cfg, train_cfg, test_cfg)
    return build_from_cfg(cfg, registry, dict(train_cfg=train_cfg, test_cfg=test_cfg), where='model')


def build_recognizer(cfg: dict, train_cfg: Any = None, test_cfg: Any = None) -> nn.Module:
    return _build_top(cfg, RECOGNIZERS, train_cfg, test_cfg)


def build_localizer(cfg: dict, train_cfg: Any = None, test_cfg: Any = None) -> nn.Module:
    return _build_top(cfg, LOCALIZERS, train_cfg, test_cfg)


def build_detector(cfg: dict, train_cfg: Any = None, test_cfg: Any = None) -> nn.Module:
    return _build_top(cfg, DETECTORS, train_cfg, test_cfg)


def _accepts(cls: type, keys: set[str]) -> bool:
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return True
    return keys <= set(params) - {'self'}


def is_mmaction2_model(cfg: Any) -> bool:
    """Whether ``cfg`` (a ``model`` dict) is an mmaction2 1.x model (``Recognizer2D``, ``BMN``, ...).

    A type registered in ``MODELS`` only is. A name that is also an original top-level type (``BMN``, ``TEM``,
    ``PEM``, ...) keeps its original meaning when that class takes every key of ``cfg``, and is mmaction2's when
    only mmaction2's class does.
    """
    obj_type = cfg.get('type') if isinstance(cfg, dict) else None
    if not isinstance(obj_type, str) or obj_type not in MODELS.module_dict:
        return False
    keys = set(cfg) - {'type', '_scope_'}
    for registry in (RECOGNIZERS, LOCALIZERS, DETECTORS):
        original = registry.get(obj_type)
        if original is not None:
            return not _accepts(original, keys) and _accepts(MODELS.module_dict[obj_type], keys)
    return True


def _without_scope(cfg: Any) -> Any:
    """``cfg`` without mmaction2's ``_scope_`` keys (``_scope_='mmdet'``): one registry holds every type here."""
    if isinstance(cfg, dict):
        return {k: _without_scope(v) for k, v in cfg.items() if k != '_scope_'}
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(_without_scope(v) for v in cfg)
    return cfg


def build_mmaction2_model(cfg: dict, train_cfg: Any = None, test_cfg: Any = None) -> nn.Module:
    """Build an mmaction2 ``model`` dict unchanged. ``train_cfg``/``test_cfg`` (the original's top-level keys)
    fill the model's own only where the dict has none."""
    args = _without_scope(dict(cfg))
    for key, value in (('train_cfg', train_cfg), ('test_cfg', test_cfg)):
        # An mmaction2 config's top-level train_cfg/test_cfg are loop configs (type='EpochBasedTrainLoop'), not
        # the model's.
        if value is not None and args.get(key) is None and not (isinstance(value, dict) and 'type' in value):
            args[key] = value
    return build_from_cfg(args, MODELS, where='model')


def is_mmaction2_config(cfg: Any) -> bool:
    """Whether a whole config is an mmaction2 1.x config (``*_dataloader`` / ``default_scope`` sections and no
    original ``data`` section): its ``model`` then means mmaction2's classes even where a name is shared."""
    keys = set(cfg) if isinstance(cfg, dict) else set()
    return 'data' not in keys and bool(keys & {'train_dataloader', 'val_dataloader', 'test_dataloader',
                                               'default_scope'})


def build_model(cfg: dict, train_cfg: Any = None, test_cfg: Any = None, mmaction2: bool | None = None) -> nn.Module:
    """Build whatever the config's ``type`` names: an original recognizer, localizer or detector, or an mmaction2
    1.x model (``Recognizer2D``, ``Recognizer3D``, ``BMN``, ``FastRCNN``, ...; see :func:`build_mmaction2_model`).

    ``mmaction2=True`` builds from ``MODELS`` (use it for the ``model`` of an mmaction2 config, see
    :func:`is_mmaction2_config`: ``BMN``/``TEM``/``PEM`` dicts read the same in both projects), ``False`` from the
    original registries; ``None`` decides by :func:`is_mmaction2_model`.
    """
    if mmaction2 or (mmaction2 is None and is_mmaction2_model(cfg)):
        return build_mmaction2_model(cfg, train_cfg, test_cfg)
    obj_type = cfg.get('type') if isinstance(cfg, dict) else None
    registry = _registry_of(cfg)
    if isinstance(obj_type, str) and registry.get(obj_type) is None:
        known = sorted(set(RECOGNIZERS.module_dict) | set(LOCALIZERS.module_dict) | set(DETECTORS.module_dict)
                       | {n for n in MODELS.module_dict if n.startswith(('Recognizer', 'BMN', 'TEM', 'PEM'))
                          or n.endswith(('RCNN', 'Detector'))})
        near = _closest(obj_type, known)
        hint = f"; did you mean {', '.join(repr(n) for n in near)}?" if near else ''
        raise ConfigError(f"config 'model': type '{obj_type}' is not a known model type{hint} (known: "
                          f"{', '.join(known)})")
    return _build_top(cfg, registry, train_cfg, test_cfg, allow_mmaction2=False)  # non-str types raise there


def without_pretrained(cfg: Any) -> Any:
    """A copy of a model config with every ``pretrained`` (``pretrained_slow``/``_fast`` of SlowFast) set to None
    and ``Pretrained`` init_cfgs dropped, for
    building a model whose weights a checkpoint replaces (testing, inference): an unreachable pretrained name
    (an offline machine, a dead URL) must not stop a test run."""
    if isinstance(cfg, dict):
        out = {}
        for key, value in cfg.items():
            if key in ('pretrained', 'pretrained_slow', 'pretrained_fast') and value is not None:
                out[key] = None
            elif key == 'init_cfg' and isinstance(value, dict) and value.get('type') == 'Pretrained':
                continue
            else:
                out[key] = without_pretrained(value)
        return cfg.__class__(out)
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(without_pretrained(v) for v in cfg)
    return cfg
