"""Config loading: Python files via mmengine ``Config`` (``_base_`` inheritance, ``--cfg-options``),
plus type checks of the original top-level keys so that a wrong value fails with the key's name."""
from __future__ import annotations

import os
from typing import Any

from mmengine.config import Config, DictAction  # noqa: F401  (DictAction re-exported for the tools)

from mmaction.registry import ConfigError

# Original top-level keys (v0 reference §4) and the types they must have when present and not None.
_TOP_LEVEL_TYPES: dict[str, tuple] = {
    'model': (dict,),
    'data': (dict,),
    'optimizer': (dict,),
    'optimizer_config': (dict,),
    'lr_config': (dict,),
    'checkpoint_config': (dict,),
    'log_config': (dict,),
    'total_epochs': (int,),
    'workflow': (list, tuple),
    'dist_params': (dict,),
    'log_level': (str, int),
    'work_dir': (str,),
    'load_from': (str,),
    'resume_from': (str,),
    'cudnn_benchmark': (bool,),
    'find_unused_parameters': (bool,),
}
_DATA_TYPES: dict[str, tuple] = {
    'videos_per_gpu': (int,),
    'workers_per_gpu': (int,),
    'train': (dict, list),
    'val': (dict,),
    'test': (dict,),
}


def _check(mapping: Any, types: dict[str, tuple], prefix: str, path: str) -> None:
    for key, expected in types.items():
        if key in mapping and mapping[key] is not None:
            value = mapping[key]
            ok = isinstance(value, expected) and not (expected == (int,) and isinstance(value, bool))
            if not ok:
                names = ' or '.join(t.__name__ for t in expected)
                raise ConfigError(f"{path}: config key '{prefix}{key}' must be {names}, "
                                  f"got {type(value).__name__}: {value!r}")


def validate_config(cfg: Config, path: str = '<config>') -> None:
    """Check the types of the original top-level keys; raises :class:`ConfigError` naming the key."""
    _check(cfg, _TOP_LEVEL_TYPES, '', path)
    if 'data' in cfg and cfg.data is not None:
        _check(cfg.data, _DATA_TYPES, 'data.', path)


def load_config(path: str, cfg_options: dict | None = None) -> Config:
    """Read a Python config file, apply ``--cfg-options`` overrides and validate the known keys."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    try:
        cfg = Config.fromfile(path)
    except Exception as err:  # syntax errors, bad _base_ paths: say which file
        raise ConfigError(f'{path}: cannot load config: {type(err).__name__}: {err}') from err
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    validate_config(cfg, path)
    return cfg


def config_text(cfg: Config) -> str:
    """The full config text stored in checkpoint meta (original: ``cfg.text``)."""
    try:
        return cfg.pretty_text
    except Exception:  # noqa: BLE001 - pretty printing can fail on exotic values; fall back to the file
        return cfg.text

