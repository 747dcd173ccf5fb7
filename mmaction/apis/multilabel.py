"""Multi-label recognition (Charades / HVU-style lists, ``multi_class=True`` datasets): the mAP that
``--validate`` and ``tools/test_recognizer.py`` report for them instead of top-k accuracy.

A multi-label list line is ``path [num_frames] label1 label2 ...``; the dataset gives ``gt_label`` as a multi-hot
float vector ``(num_classes,)``, which mmaction2's heads train with ``loss_cls=dict(type='BCELossWithLogits')``.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
import torch.nn as nn

from mmaction.engine.test_loop import inference
from mmaction.evaluation.accuracy import mean_average_precision


def is_multi_label(dataset: Any) -> bool:
    return bool(getattr(dataset, 'multi_class', False))


def multi_label_targets(dataset: Any) -> np.ndarray:
    """``(N, num_classes)`` 0/1 targets of a ``multi_class`` dataset, in dataset order."""
    infos = getattr(dataset, 'video_infos', None)
    if not isinstance(infos, list) or not hasattr(dataset, 'label_tensor'):
        raise ValueError(f'{type(dataset).__name__}: multi-label evaluation needs video_infos with labels')
    return np.stack([dataset.label_tensor(info['label']).numpy() for info in infos]).astype(np.float32)


def multi_label_metrics(outputs: Sequence[np.ndarray], targets: np.ndarray, verbose: bool = True) -> dict:
    """mAP over classes of each video's mean score row (classes without a positive are left out)."""
    scores = np.stack([np.asarray(out, dtype=np.float32).reshape(-1, targets.shape[1]).mean(axis=0)
                       for out in outputs])
    if scores.shape != targets.shape:
        raise ValueError(f'{scores.shape[0]} score rows of {scores.shape[1]} classes but targets {targets.shape}')
    value = mean_average_precision(scores, targets)
    if verbose:
        print(f'mean_average_precision = {value * 100:.02f}')
    return {'mean_average_precision': value}


def evaluate_map(model: nn.Module, data_loader: Any, device: torch.device | None = None) -> dict:
    """The ``--validate`` metric of a multi-label val set (all ranks run, rank 0 gets the numbers)."""
    outputs = inference(model, data_loader, device=device, progress=False)
    if outputs is None:
        return {}
    return {'mAP': multi_label_metrics(outputs, multi_label_targets(data_loader.dataset), verbose=False)[
        'mean_average_precision']}
