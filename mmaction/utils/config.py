"""Config loading: Python files via mmengine ``Config`` (``_base_`` inheritance, ``--cfg-options``),
plus type checks of the original top-level keys so that a wrong value fails with the key's name."""
from __future__ import annotations

import argparse
import ast
import difflib
import logging
import os
from typing import Any, Sequence

from mmengine.config import Config

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


def parse_option_value(text: str) -> Any:
    """A ``--cfg-options`` value: Python literals (numbers, ``[1, 2]``, ``(a, b)``, quoted strings), ``true``/
    ``false``/``none``, ``a,b`` as a list; anything else is kept verbatim, spaces and non-ASCII included
    (mmengine's parser dropped every space: ``'/a/dír ü'`` became ``'/a/dírü'``)."""
    stripped = text.strip()
    try:
        return ast.literal_eval(stripped)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        pass
    if stripped.lower() in ('true', 'false'):
        return stripped.lower() == 'true'
    if stripped.lower() == 'none':
        return None
    if len(stripped) >= 2 and stripped[0] + stripped[-1] in ('[]', '()'):
        items = [parse_option_value(v.strip()) for v in _split_top_level(stripped[1:-1]) if v.strip()]
        return items if stripped[0] == '[' else tuple(items)
    if ',' in stripped:
        return [parse_option_value(v.strip()) for v in _split_top_level(stripped)]
    return text


def _split_top_level(text: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch in '([' and 1 or (ch in ')]' and -1 or 0)
        if ch == ',' and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return parts + [text[start:]]


class DictAction(argparse.Action):
    """``--cfg-options key=value ...`` into a dict (see :func:`parse_option_value` for the values). An item
    without ``=`` is a usage error that says the expected form."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Sequence[str] | str | None, option_string: str | None = None) -> None:
        options = dict(getattr(namespace, self.dest, None) or {})
        for item in [values] if isinstance(values, str) else values or []:
            key, sep, value = item.partition('=')
            if not sep or not key.strip():
                parser.error(f'{option_string or "--cfg-options"} expects KEY=VALUE items (e.g. '
                             f'data.videos_per_gpu=8 optimizer.lr=0.01), got {item!r}')
            options[key.strip()] = parse_option_value(value)
        setattr(namespace, self.dest, options)


# Top-level keys the code reads besides the original ones: a --cfg-options that adds them is not a typo.
_KNOWN_OPTIONAL = {'fp16', 'seed', 'auto_scale_batch', 'label_map', 'train_cfg', 'test_cfg', 'gpus', 'evaluation',
                   'img_norm_cfg', 'opencv_num_threads', 'tf32', 'watchdog_seconds'}


def warn_unknown_options(cfg: Config, cfg_options: dict, path: str) -> list[str]:
    """A warning (closest existing names) for each ``--cfg-options`` key whose path the config never had: a
    typo like ``totl_epochs=1`` would otherwise add a key nobody reads. Returns the warnings."""
    messages = []
    for key in cfg_options:
        node, parts = dict(cfg.items()), key.split('.')
        for depth, part in enumerate(parts):
            if isinstance(node, (list, tuple)) and part.isdigit():
                node = node[int(part)] if int(part) < len(node) else None
                continue
            if not isinstance(node, dict) or part in node:
                node = node.get(part) if isinstance(node, dict) else None
                if node is None:
                    break
                continue
            if depth == 0 and part in _TOP_LEVEL_TYPES.keys() | _KNOWN_OPTIONAL:
                break
            where = '.'.join(parts[:depth]) or 'the config'
            close = difflib.get_close_matches(part, [str(k) for k in node], n=3, cutoff=0.6)
            hint = f'; closest: {", ".join(".".join(parts[:depth] + [c]) for c in close)}' if close else ''
            messages.append(f"{path}: --cfg-options {key}: {where} has no key '{part}' (it is added as a new "
                            f"key, which nothing may read){hint}")
            break
    for message in messages:
        logging.getLogger('mmaction').warning(message)
    return messages


def load_config(path: str, cfg_options: dict | None = None) -> Config:
    """Read a Python config file, apply ``--cfg-options`` overrides and validate the known keys."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    try:
        cfg = Config.fromfile(path)
    except Exception as err:  # syntax errors, bad _base_ paths: say which file
        raise ConfigError(f'{path}: cannot load config: {type(err).__name__}: {err}') from err
    if cfg_options:
        warn_unknown_options(cfg, cfg_options, path)
        cfg.merge_from_dict(cfg_options)
    validate_config(cfg, path)
    return cfg


def config_text(cfg: Config) -> str:
    """The full config text stored in checkpoint meta (original: ``cfg.text``)."""
    try:
        return cfg.pretty_text
    except Exception:  # noqa: BLE001 - pretty printing can fail on exotic values; fall back to the file
        return cfg.text

