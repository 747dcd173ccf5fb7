"""Datasets, transforms, decoders and loaders. Importing the package registers every module in it
(drop a dataset file in and it registers)."""
from mmaction.registry import import_all_modules

from . import decoders, pipelines  # noqa: F401  (registration)
from .base import BadSampleError, BaseRecognitionDataset
from .builder import DistributedInterleavedSampler, build_dataloader, build_dataset, collate, worker_init_fn
from .pipelines.compose import Compose
from .rawframes_dataset import RawFramesDataset
from .video_dataset import VideoDataset

import_all_modules(__name__, __path__)


def __getattr__(name: str):
    # Dataset classes added by other modules of the package (SSNDataset, AVADataset, ...) are exported by name.
    from mmaction.registry import DATASETS
    cls = DATASETS.get(name) if name[:1].isupper() else None
    if cls is None:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    return cls


__all__ = ['BadSampleError', 'BaseRecognitionDataset', 'Compose', 'DistributedInterleavedSampler', 'RawFramesDataset',
           'VideoDataset', 'build_dataloader', 'build_dataset', 'collate', 'worker_init_fn']
