from .checkpoint import (CheckpointError, load_checkpoint, load_file, load_state_dict, resolve_checkpoint,
                         save_checkpoint)
from .io import atomic_open, dump_pickle, load_pickle
from .logger import get_root_logger

__all__ = ['CheckpointError', 'load_checkpoint', 'load_file', 'load_state_dict', 'resolve_checkpoint',
           'save_checkpoint', 'atomic_open', 'dump_pickle', 'load_pickle', 'get_root_logger']
