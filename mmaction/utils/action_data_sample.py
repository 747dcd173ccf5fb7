"""``ActionDataSample``: the per-video annotation/prediction record of mmaction2 1.x models.

Same fields and setters as mmaction2's (``gt_label``, ``pred_score``, ``pred_label``, metainfo ``num_classes``), so
code written for mmaction2's ``data_samples`` runs unchanged. :func:`as_data_samples` also turns the simple forms
this project accepts (``None``, a label tensor, a list of ints, a list of dicts with ``gt_label``) into samples.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from mmengine.structures import BaseDataElement


def format_label(value: Any) -> torch.Tensor:
    """A label as a 1-d LongTensor (an int ``3`` becomes ``tensor([3])``; a list of class indices stays a list)."""
    if isinstance(value, (torch.Tensor, np.ndarray)) and value.ndim == 0:
        value = int(value.item())
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value).long()
    if isinstance(value, (list, tuple)):
        return torch.tensor(value).long()
    if isinstance(value, (int, np.integer)):
        return torch.LongTensor([int(value)])
    if isinstance(value, torch.Tensor):
        return value
    raise TypeError(f'a label must be an int, a sequence, an array or a tensor, got {type(value).__name__}')


def format_score(value: Any) -> torch.Tensor | dict:
    """Scores as a float tensor (or a dict of them)."""
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value).float()
    if isinstance(value, (list, tuple)):
        return torch.tensor(value).float()
    if isinstance(value, dict):
        return {k: format_score(v) for k, v in value.items()}
    if isinstance(value, torch.Tensor):
        return value
    raise TypeError(f'scores must be an array, a sequence, a dict or a tensor, got {type(value).__name__}')


class ActionDataSample(BaseDataElement):
    """One video's ``gt_label`` / ``pred_score`` / ``pred_label`` (mmaction2's ``ActionDataSample`` fields)."""

    def set_gt_label(self, value: Any) -> 'ActionDataSample':
        self.set_field(format_label(value), 'gt_label', dtype=torch.Tensor)
        return self

    def set_pred_label(self, value: Any) -> 'ActionDataSample':
        self.set_field(format_label(value), 'pred_label', dtype=torch.Tensor)
        return self

    def set_pred_score(self, value: Any) -> 'ActionDataSample':
        score = format_score(value)
        self.set_field(score, 'pred_score')
        if 'num_classes' in self.metainfo_keys():
            if len(score) != self.num_classes:
                raise ValueError(f'pred_score has {len(score)} entries but the sample has num_classes='
                                 f'{self.num_classes}')
        else:
            self.set_field(name='num_classes', value=len(score), field_type='metainfo')
        return self


def as_data_samples(data_samples: Any, batch_size: int) -> list:
    """``data_samples`` in the forms a recognizer accepts, as a list of ``batch_size`` sample objects.

    Accepted: ``None`` (samples without labels, for prediction), objects with a ``gt_label`` attribute (mmaction2's
    ``ActionDataSample`` or this one; returned as they are), a label tensor ``(B,)`` / ``(B, 1)`` or
    ``(B, num_classes)`` for soft/multi-class labels, a list of ints, or a list of dicts with a ``'gt_label'`` key.
    """
    if data_samples is None:
        return [ActionDataSample() for _ in range(batch_size)]
    if isinstance(data_samples, (torch.Tensor, np.ndarray)):
        labels = torch.as_tensor(data_samples)
        if labels.dim() == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        data_samples = list(labels)
    if not isinstance(data_samples, Sequence) or isinstance(data_samples, str):
        raise TypeError(f'data_samples must be None, a label tensor or a list, got {type(data_samples).__name__}')
    if len(data_samples) != batch_size:
        raise ValueError(f'{len(data_samples)} data_samples for a batch of {batch_size} videos')
    samples = []
    for i, item in enumerate(data_samples):
        if hasattr(item, 'gt_label') or hasattr(item, 'set_pred_score'):
            samples.append(item)
        elif isinstance(item, dict):
            if 'gt_label' not in item:
                raise ValueError(f"data_samples[{i}] is a dict without 'gt_label' (keys: {sorted(item)})")
            samples.append(ActionDataSample(metainfo={k: v for k, v in item.items() if k != 'gt_label'})
                           .set_gt_label(item['gt_label']))
        else:
            label = item.float() if isinstance(item, torch.Tensor) and item.is_floating_point() else item
            samples.append(ActionDataSample().set_gt_label(label))
    return samples
