"""What mmaction2's BMN, TEM and PEM entry points share: reading ``data_samples`` and checking ``loss_cls``.

mmaction2 feeds its localizers ``ActionDataSample`` objects whose ``gt_instances`` (an ``InstanceData``) hold the
annotations (``gt_bbox``; for PEM ``bsp_feature``, ``reference_temporal_iou``, ``tmin`` ...) and whose ``metainfo``
holds ``video_name``, ``duration_second``, ``duration_frame``. Any object with those two attributes works here
(mmengine's ``BaseDataElement``, mmaction2's samples); so does a plain dict with ``gt_instances`` / ``metainfo`` keys.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import torch

from mmaction.registry import ConfigError


def sample_meta(sample: Any) -> dict:
    """The sample's metainfo as a dict (``{}`` when it has none)."""
    meta = sample.get('metainfo', {}) if isinstance(sample, dict) else getattr(sample, 'metainfo', {})
    return dict(meta or {})


def gt_field(sample: Any, key: str, where: str) -> Any:
    """``sample.gt_instances[key]``; a clear error naming the model and the key when it is missing."""
    gt = sample.get('gt_instances') if isinstance(sample, dict) else getattr(sample, 'gt_instances', None)
    if gt is not None:
        value = gt.get(key) if isinstance(gt, dict) else getattr(gt, key, None)
        if value is not None:
            return value
    raise ValueError(f"{where}: every data sample needs gt_instances['{key}']")


def stack_inputs(inputs: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
    """mmaction2's localizers take a list of per-video tensors and stack them; a batched tensor passes through."""
    return inputs if isinstance(inputs, torch.Tensor) else torch.stack(list(inputs))


def check_loss_cfg(loss_cls: Any, expected: str, where: str) -> None:
    """mmaction2 builds ``loss_cls`` from a registry; the localizers here compute that one loss themselves, so the
    config may only name it (a different loss would be silently ignored otherwise)."""
    loss_type = loss_cls.get('type') if isinstance(loss_cls, dict) else None
    if loss_type not in (expected, f'mmaction.{expected}'):
        raise ConfigError(f"config '{where}': only dict(type='{expected}') is supported, got {loss_cls!r}")
    extra = sorted(set(loss_cls) - {'type'})
    if extra:
        raise ConfigError(f"config '{where}': {expected} takes no arguments, got {extra}")


def check_mode(mode: str, model: str) -> None:
    if mode not in ('tensor', 'predict', 'loss'):
        raise ValueError(f"{model}: mode must be 'tensor', 'predict' or 'loss', got {mode!r}")


def run_mode(model: str, mode: str, data_samples: Any, tensor: Callable[[], Any], loss: Callable[[], Any],
             predict: Callable[[], Any]) -> Any:
    """mmaction2's ``forward(inputs, data_samples, mode)`` dispatch: ``tensor()`` for ``'tensor'``; ``loss()`` /
    ``predict()``, which need ``data_samples``, for ``'loss'`` / ``'predict'``."""
    check_mode(mode, model)
    if mode == 'tensor':
        return tensor()
    if data_samples is None:
        raise ValueError(f"{model}: mode='{mode}' needs data_samples")
    return loss() if mode == 'loss' else predict()
