"""Utilities. Names are imported on first use (PEP 562): ``mmaction.utils.io`` and ``.config`` serve the command-line
tools before argument parsing, which must not pay for importing torch."""
from .lazy import lazy_exports

_EXPORTS = {
    'CheckpointError': 'checkpoint', 'load_checkpoint': 'checkpoint', 'load_file': 'checkpoint',
    'load_state_dict': 'checkpoint', 'resolve_checkpoint': 'checkpoint', 'save_checkpoint': 'checkpoint',
    'atomic_open': 'io', 'dump_pickle': 'io', 'load_pickle': 'io', 'get_root_logger': 'logger',
}
__all__ = list(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
