"""Config and data-sample access shared by mmaction2's AVA detector pieces (mmdet-style configs and samples)."""
from __future__ import annotations

from typing import Any


def cfg_value(cfg: Any, key: str, default: Any = None) -> Any:
    """``cfg[key]`` of a dict or an mmengine ``ConfigDict`` (mmdet reads ``train_cfg.rcnn`` as an attribute)."""
    if cfg is None:
        return default
    return cfg.get(key, default) if hasattr(cfg, 'get') else getattr(cfg, key, default)


def sample_field(obj: Any, key: str, where: str) -> Any:
    """``obj.key`` of an mmengine data element (or ``obj[key]`` of a dict); a clear error when it is missing."""
    value = obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)
    if value is None:
        raise ValueError(f"{where}: every data sample needs '{key}'")
    return value


def without_scope(cfg: Any) -> Any:
    """``cfg`` without mmdet's ``_scope_`` keys (the types they scope are all in ``MODELS`` here)."""
    if isinstance(cfg, dict):
        return {k: without_scope(v) for k, v in cfg.items() if k != '_scope_'}
    return cfg
