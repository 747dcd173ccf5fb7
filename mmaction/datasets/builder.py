"""``build_dataset``, ``collate`` and ``build_dataloader`` (original §5.9 semantics on torch samplers)."""
from __future__ import annotations

import math
import random
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

from mmaction.registry import DATASETS, ConfigError, build_from_cfg


def build_dataset(cfg: dict | Sequence[dict], default_args: dict | None = None,
                  where: str = 'data') -> Dataset:
    """Build a dataset from ``cfg = dict(type=..., ...)``; a list of cfgs gives a ``ConcatDataset``.

    An original flag-form config is translated into a ``pipeline`` here, once
    (:func:`~mmaction.datasets.flag_pipeline.translate_dataset_cfg`). ``where`` names the config key in
    errors (e.g. ``'data.train'``).
    """
    if isinstance(cfg, (list, tuple)):
        from torch.utils.data import ConcatDataset
        return ConcatDataset([build_dataset(c, default_args, f'{where}[{i}]') for i, c in enumerate(cfg)])
    if cfg is None:
        raise ConfigError(f"config '{where}' is missing: expected a dataset dict with a 'type' key")
    if not isinstance(cfg, dict):
        raise ConfigError(f"config '{where}' must be a dict with a 'type' key, got {type(cfg).__name__}: {cfg!r}")
    from .flag_pipeline import translate_dataset_cfg
    cfg = dict(cfg)
    for key, value in (default_args or {}).items():
        cfg.setdefault(key, value)
    return build_from_cfg(translate_dataset_cfg(cfg, where), DATASETS, where=where)


def collate(batch: Sequence[dict]) -> dict[str, Any]:
    """Merge sample dicts: same-shape tensors are stacked along a new batch dim; tensors whose shapes differ
    across the batch (AVA boxes, SSN proposals) and every other value (``img_meta`` dicts) stay lists."""
    if len(batch) == 0:
        raise ValueError('collate: empty batch')
    if not isinstance(batch[0], dict):
        raise TypeError(f'collate: samples must be dicts, got {type(batch[0]).__name__}')
    out: dict[str, Any] = {}
    for key in batch[0]:
        values = [sample[key] for sample in batch]
        if all(isinstance(v, torch.Tensor) for v in values) and len({tuple(v.shape) for v in values}) == 1:
            out[key] = torch.stack(values, 0)
        else:
            out[key] = values
    return out


class DistributedInterleavedSampler(Sampler[int]):
    """Rank ``r`` of ``W`` gets indices ``r, r + W, r + 2W, ...`` with NO padding, so the tester can put
    result ``j`` of rank ``r`` back at dataset index ``r + j * W`` (the original padded instead)."""

    def __init__(self, dataset: Dataset, num_replicas: int, rank: int):
        if not 0 <= rank < num_replicas:
            raise ValueError(f'rank {rank} out of range for {num_replicas} replicas')
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.rank, len(self.dataset), self.num_replicas))

    def __len__(self) -> int:
        return max(0, math.ceil((len(self.dataset) - self.rank) / self.num_replicas))

    def set_epoch(self, epoch: int) -> None:  # same order every epoch
        pass


class RepeatAugSampler(Sampler[int]):
    """Repeated augmentation (Hoffer et al. 2020; DeiT; mmpretrain's ``RepeatAugSampler``): every index appears
    ``num_repeats`` times in a row in the shuffled order, the list is dealt round-robin to the ranks (so the
    copies of one video land on different ranks, each with its own random augmentation), and each rank keeps
    ceil(len / world) indices: an epoch is as long as without repeats.
    """

    def __init__(self, dataset: Dataset, num_repeats: int = 3, shuffle: bool = True, seed: int = 0,
                 num_replicas: int | None = None, rank: int | None = None):
        if not isinstance(num_repeats, int) or num_repeats < 1:
            raise ConfigError(f"config 'sampler.num_repeats' must be a positive int, got {num_repeats!r}")
        dist_rank, dist_world = _dist_info()
        self.rank = dist_rank if rank is None else rank
        self.world = dist_world if num_replicas is None else num_replicas
        self.dataset, self.num_repeats, self.shuffle, self.seed = dataset, num_repeats, shuffle, seed
        self.epoch = 0
        self.total_size = math.ceil(len(dataset) * num_repeats / self.world) * self.world
        self.num_selected = math.ceil(len(dataset) / self.world)

    def __iter__(self) -> Iterator[int]:
        if self.shuffle:
            generator = torch.Generator()
            generator.manual_seed(self.seed + self.epoch)
            order = torch.randperm(len(self.dataset), generator=generator).tolist()
        else:
            order = list(range(len(self.dataset)))
        indices = [i for i in order for _ in range(self.num_repeats)]
        indices += indices[:self.total_size - len(indices)]
        return iter(indices[self.rank:self.total_size:self.world][:self.num_selected])

    def __len__(self) -> int:
        return self.num_selected

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch


def worker_init_fn(worker_id: int) -> None:
    """Seed numpy and ``random`` in each worker from its torch seed (distinct per worker, rank and epoch
    once the loader's generator is seeded), so random augmentations differ between workers."""
    seed = torch.initial_seed() % 2 ** 32
    np.random.seed(seed)
    random.seed(seed)


def _dist_info() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def build_dataloader(dataset: Dataset, videos_per_gpu: int, workers_per_gpu: int, num_gpus: int = 1,
                     dist: bool = False, shuffle: bool = True, seed: int | None = None, drop_last: bool = False,
                     pin_memory: bool = False, persistent_workers: bool = False,
                     prefetch_factor: int | None = None, sampler_cfg: dict | None = None, **kwargs) -> DataLoader:
    """DataLoader with the original batch semantics.

    Non-distributed: batch ``num_gpus * videos_per_gpu``, ``num_gpus * workers_per_gpu`` workers, a seeded
    shuffle when ``seed`` is given. ``dist`` + ``shuffle``: ``DistributedSampler`` (seeded; the trainer calls
    ``set_epoch``). ``dist`` without shuffle: :class:`DistributedInterleavedSampler` (no padding).
    ``imgs_per_gpu`` (the original's name) is accepted in ``kwargs``. ``sampler_cfg=dict(type='RepeatAugSampler',
    num_repeats=3)`` (training) replaces the shuffling sampler, distributed or not.
    """
    if 'imgs_per_gpu' in kwargs:
        videos_per_gpu = kwargs.pop('imgs_per_gpu')
    if kwargs:
        raise TypeError(f'build_dataloader: unexpected arguments {sorted(kwargs)}')
    for name, v in (('videos_per_gpu', videos_per_gpu), ('workers_per_gpu', workers_per_gpu)):
        if not isinstance(v, int) or isinstance(v, bool) or v < (1 if name == 'videos_per_gpu' else 0):
            raise ConfigError(f"config key 'data.{name}' must be a {'positive' if name == 'videos_per_gpu' else 'non-negative'} "
                              f'int, got {v!r}')
    generator = None
    if sampler_cfg is not None:
        args = dict(sampler_cfg)
        kind = args.pop('type', None)
        if kind != 'RepeatAugSampler':
            raise ConfigError(f"config 'sampler.type': only 'RepeatAugSampler' is supported here, got {kind!r}")
        sampler = RepeatAugSampler(dataset, seed=seed if seed is not None else 0, **args)
        scale = 1 if dist else num_gpus
        batch_size, num_workers, shuffle_arg = scale * videos_per_gpu, scale * workers_per_gpu, False
    elif dist:
        rank, world = _dist_info()
        if shuffle:
            sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True,
                                         seed=seed if seed is not None else 0, drop_last=drop_last)
        else:
            sampler = DistributedInterleavedSampler(dataset, world, rank)
        batch_size, num_workers, shuffle_arg = videos_per_gpu, workers_per_gpu, False
    else:
        sampler = None
        batch_size, num_workers, shuffle_arg = num_gpus * videos_per_gpu, num_gpus * workers_per_gpu, shuffle
        if shuffle and seed is not None:
            generator = torch.Generator()
            generator.manual_seed(seed)
    extra: dict[str, Any] = {}
    if num_workers > 0:
        extra['persistent_workers'] = persistent_workers
        if prefetch_factor is not None:
            extra['prefetch_factor'] = prefetch_factor
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, shuffle=shuffle_arg if sampler is None else False,
                      num_workers=num_workers, collate_fn=collate, pin_memory=pin_memory, drop_last=drop_last,
                      worker_init_fn=worker_init_fn, generator=generator, **extra)
