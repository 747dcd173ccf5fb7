"""All registries of mmaction, and the one function that builds objects from config dicts.

Every registered class is looked up by its ``type`` string. A module registers its classes when
it is imported; each registry package imports all of its modules in its ``__init__``, so
``import mmaction.models`` and ``import mmaction.datasets`` fill the registries.
"""
from __future__ import annotations

import copy
import difflib
import importlib
import os
import pkgutil
from typing import Any, Iterable

from mmengine.logging import MMLogger
from mmengine.registry import Registry


def _create_mmengine_logger() -> None:
    """Create mmengine's 'current' logger now, independent of the launcher's environment.

    mmengine creates it on the first registry lookup, and its constructor indexes ``CUDA_VISIBLE_DEVICES`` by
    ``LOCAL_RANK`` (only to name a per-device log file, which mmaction never asks for): with CUDA available and more
    processes than visible GPUs (``torchrun --nproc_per_node=2`` with ``CUDA_VISIBLE_DEVICES=0``) importing mmaction
    died with ``IndexError``. Created here with ``LOCAL_RANK`` read as 0, every later lookup reuses it.
    """
    if MMLogger.check_instance_created('mmengine'):
        return
    saved = os.environ.get('LOCAL_RANK')
    os.environ['LOCAL_RANK'] = '0'
    try:
        MMLogger.get_instance('mmengine')
    finally:
        if saved is None:
            del os.environ['LOCAL_RANK']
        else:
            os.environ['LOCAL_RANK'] = saved


_create_mmengine_logger()

# Model building blocks (names as in the original MMAction, §3 of the v0 reference).
# ``locations`` tell mmengine which package to import to fill a registry (without them it would try
# ``mmaction.utils.register_all_modules``, the mmaction2 convention).
_MODELS = ['mmaction.models']
_DATA = ['mmaction.datasets']
BACKBONES = Registry('backbone', locations=_MODELS)
FLOWNETS = Registry('flownet', locations=_MODELS)
SPATIAL_TEMPORAL_MODULES = Registry('spatial_temporal_module', locations=_MODELS)
SEGMENTAL_CONSENSUSES = Registry('segmental_consensus', locations=_MODELS)
HEADS = Registry('head', locations=_MODELS)
NECKS = Registry('neck', locations=_MODELS)
ROI_EXTRACTORS = Registry('roi_extractor', locations=_MODELS)
RECOGNIZERS = Registry('recognizer', locations=_MODELS)
LOCALIZERS = Registry('localizer', locations=_MODELS)
DETECTORS = Registry('detector', locations=_MODELS)
BBOX_ASSIGNERS = Registry('bbox assigner', locations=_MODELS)
BBOX_SAMPLERS = Registry('bbox sampler', locations=_MODELS)
# Non-module objects.
DATASETS = Registry('dataset', locations=_DATA)
PIPELINES = Registry('pipeline transform', locations=_DATA)
DECODERS = Registry('video decoder', locations=_DATA)
OPTIMIZERS = Registry('optimizer', locations=['mmaction.engine'])
# Evaluators named in mmaction2 configs (``val_evaluator`` / ``test_evaluator``: ``AccMetric``, ``ANetMetric``,
# ``AVAMetric``). Each class takes the config's keyword arguments and has
# ``evaluate(results: list, dataset) -> dict[str, float]`` over the per-sample results of the task's inference step,
# returning mmaction2's metric names (``acc/top1``, ``auc``, ``mAP@0.5IOU``...).
METRICS = Registry('metric', locations=['mmaction.evaluation'])
# mmaction2 1.x models (recognizers, backbones, necks, heads, localizers, detectors and their data preprocessors),
# built from an mmaction2 ``model`` dict unchanged. A separate registry because several mmaction2 types share a name
# with an original-MMAction type of another key layout (``ResNet``, ``C3D``, ``BMN``, ...).
MODELS = Registry('mmaction2 model', locations=_MODELS)


class ConfigError(ValueError):
    """A config value is missing, of the wrong type or names an unknown class."""


def _closest(name: str, candidates: Iterable[str]) -> list[str]:
    return difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.5)


def build_from_cfg(cfg: Any, registry: Registry, default_args: dict | None = None,
                   where: str | None = None) -> Any:
    """Build an object from ``cfg = dict(type=..., **kwargs)`` using ``registry``.

    ``default_args`` fill keys that ``cfg`` does not set (the original's ``setdefault``). A list of
    cfgs builds an ``nn.Sequential`` (as the original builder did). ``where`` names the config key
    for error messages (e.g. ``'model.backbone'``).
    """
    if isinstance(cfg, (list, tuple)):
        import torch.nn as nn
        return nn.Sequential(*[build_from_cfg(c, registry, default_args, where) for c in cfg])
    where = where or registry.name
    if not isinstance(cfg, dict):
        raise ConfigError(f"config '{where}' must be a dict with a 'type' key, got {type(cfg).__name__}: {cfg!r}")
    if 'type' not in cfg:
        raise ConfigError(f"config '{where}' has no 'type' key (keys: {sorted(cfg)}); "
                          f"valid types in the {registry.name} registry: {sorted(registry.module_dict)}")
    args = dict(copy.deepcopy(cfg))
    obj_type = args.pop('type')
    if default_args:
        for key, value in default_args.items():
            args.setdefault(key, value)
    if isinstance(obj_type, str):
        obj_cls = registry.module_dict.get(obj_type) or registry.get(obj_type)
        if obj_cls is None:
            near = _closest(obj_type, registry.module_dict)
            hint = f"; did you mean {', '.join(repr(n) for n in near)}?" if near else ''
            raise ConfigError(f"config '{where}': type '{obj_type}' is not in the {registry.name} registry{hint} "
                              f"(registered: {', '.join(sorted(registry.module_dict))})")
    elif isinstance(obj_type, type):
        obj_cls = obj_type
    else:
        raise ConfigError(f"config '{where}': 'type' must be a string or a class, got {obj_type!r}")
    try:
        return obj_cls(**args)
    except TypeError as err:
        # Most often an unknown or missing keyword: say which config entry it came from.
        raise ConfigError(f"config '{where}' (type '{obj_cls.__name__}'): {err}") from err


def import_all_modules(package_name: str, package_path: Iterable[str]) -> None:
    """Import every module of a package so that its classes register themselves."""
    for info in pkgutil.iter_modules(package_path):
        if not info.name.startswith('_'):
            importlib.import_module(f'{package_name}.{info.name}')
