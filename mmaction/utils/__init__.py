"""Utilities. Names are imported on first use (PEP 562): ``mmaction.utils.io`` and ``.config`` serve the command-line
tools before argument parsing, which must not pay for importing torch."""
import importlib

_EXPORTS = {
    'CheckpointError': 'checkpoint', 'load_checkpoint': 'checkpoint', 'load_file': 'checkpoint',
    'load_state_dict': 'checkpoint', 'resolve_checkpoint': 'checkpoint', 'save_checkpoint': 'checkpoint',
    'atomic_open': 'io', 'dump_pickle': 'io', 'load_pickle': 'io', 'get_root_logger': 'logger',
}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    return getattr(importlib.import_module(f'{__name__}.{_EXPORTS[name]}'), name)


def __dir__() -> list:
    return sorted(set(globals()) | set(_EXPORTS))
