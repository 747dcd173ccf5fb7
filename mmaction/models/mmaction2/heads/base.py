"""Pieces shared by the mmaction2 classification heads: the losses, ``AvgConsensus`` and ``BaseHead``.

``BaseHead`` carries mmaction2's head protocol: ``forward(x, **kwargs) -> cls_score (N, num_classes)``,
``loss(feats, data_samples, **kwargs) -> dict`` (``loss_cls`` plus ``top{k}_acc`` for hard labels; label smoothing
with ``label_smooth_eps``), ``predict(feats, data_samples, **kwargs) -> data_samples`` with ``pred_score`` /
``pred_label`` set, after averaging the clips of a video with ``average_clips`` (``'score'``: mean logits,
``'prob'``: mean softmax, ``None``: per-clip scores ``(num_clips, num_classes)``).
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.model.weight_init import normal_init

from mmaction.registry import MODELS, ConfigError, build_from_cfg


class _WeightedLoss(nn.Module):
    """``loss_weight`` times the loss of :meth:`compute` (every ``loss*`` entry when it returns a dict)."""

    def __init__(self, loss_weight: float = 1.0, class_weight: Sequence[float] | None = None):
        super().__init__()
        self.loss_weight = loss_weight
        # A plain attribute, not a buffer: mmaction2 keeps it out of the state dict.
        self.class_weight = None if class_weight is None else torch.tensor(class_weight, dtype=torch.float32)

    def compute(self, cls_score: torch.Tensor, label: torch.Tensor, **kwargs: Any) -> torch.Tensor | dict:
        raise NotImplementedError

    def forward(self, cls_score: torch.Tensor, label: torch.Tensor, **kwargs: Any) -> torch.Tensor | dict:
        out = self.compute(cls_score, label, **kwargs)
        if isinstance(out, dict):
            return {k: v * self.loss_weight if 'loss' in k else v for k, v in out.items()}
        return out * self.loss_weight


@MODELS.register_module()
class CrossEntropyLoss(_WeightedLoss):
    """Cross entropy on hard labels ``(N,)`` or soft labels ``(N, num_classes)`` (told apart by shape)."""

    def compute(self, cls_score: torch.Tensor, label: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        weight = None if self.class_weight is None else self.class_weight.to(cls_score.device)
        if cls_score.size() != label.size():
            return F.cross_entropy(cls_score, label, weight=weight, **kwargs)
        if cls_score.dim() != 2:
            raise ValueError(f'soft labels must be (N, num_classes), got {tuple(label.shape)}')
        log_probs = F.log_softmax(cls_score, 1)
        if weight is not None:
            log_probs = log_probs * weight.unsqueeze(0)
        loss = -(label * log_probs).sum(1)
        if weight is not None:  # weighted mean, as torch's cross_entropy does for hard labels
            return loss.sum() / (weight.unsqueeze(0) * label).sum()
        return loss.mean()


@MODELS.register_module()
class BCELossWithLogits(_WeightedLoss):
    """Binary cross entropy on logits: the multi-label loss (``multi_class=True`` configs)."""

    def compute(self, cls_score: torch.Tensor, label: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        weight = None if self.class_weight is None else self.class_weight.to(cls_score.device)
        return F.binary_cross_entropy_with_logits(cls_score, label, weight=weight, **kwargs)


class AvgConsensus(nn.Module):
    """Mean over ``dim`` (the segments), keeping the dimension."""

    def __init__(self, dim: int = 1):
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=self.dim, keepdim=True)


def build_consensus(cfg: dict, where: str) -> AvgConsensus:
    """``consensus=dict(type='AvgConsensus', dim=1)``, the only consensus mmaction2's heads implement."""
    args = dict(cfg)
    consensus_type = args.pop('type', None)
    name = consensus_type if isinstance(consensus_type, str) else getattr(consensus_type, '__name__', None)
    if name != 'AvgConsensus':
        raise ConfigError(f"config '{where}.consensus': type {consensus_type!r} is not supported; "
                          f"mmaction2's heads implement 'AvgConsensus' only")
    return AvgConsensus(**args)


def topk_accuracy(scores: torch.Tensor, labels: torch.Tensor, topk: Sequence[int]) -> list[float]:
    """Fraction of rows whose label is among the ``k`` highest scores, for each ``k``."""
    order = scores.argsort(dim=1, descending=True)
    hits = order == labels.reshape(-1, 1)
    return [float(hits[:, :k].any(dim=1).float().mean()) for k in topk]


class BaseHead(BaseModule):
    """mmaction2's classification-head protocol (see the module docstring).

    Args:
        num_classes: number of classes.
        in_channels: channels of the input feature.
        loss_cls: loss config, built from ``MODELS`` (``CrossEntropyLoss`` or ``BCELossWithLogits``).
        multi_class: kept for config compatibility; multi-label training is chosen by ``loss_cls``.
        label_smooth_eps: label smoothing, ``labels = (1 - eps) * onehot + eps / num_classes``.
        topk: the accuracies logged by :meth:`loss` (``top{k}_acc``).
        average_clips: ``'score'``, ``'prob'`` or ``None`` (see the module docstring).
        init_cfg: mmengine initialisation config.
    """

    def __init__(self, num_classes: int, in_channels: int,
                 loss_cls: dict = dict(type='CrossEntropyLoss', loss_weight=1.0), multi_class: bool = False,
                 label_smooth_eps: float = 0.0, topk: int | Sequence[int] = (1, 5), average_clips: str | None = None,
                 init_cfg: dict | list | None = None):
        super().__init__(init_cfg=init_cfg)
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.loss_cls = build_from_cfg(loss_cls, MODELS, where=f'{type(self).__name__}.loss_cls')
        self.multi_class = multi_class
        self.label_smooth_eps = label_smooth_eps
        if average_clips not in ('score', 'prob', None):
            raise ConfigError(f"config 'cls_head.average_clips': {average_clips!r} is not supported; "
                              f"expected 'score', 'prob' or None")
        self.average_clips = average_clips
        topk = (topk,) if isinstance(topk, int) else tuple(topk)
        if any(k <= 0 for k in topk):
            raise ConfigError(f"config 'cls_head.topk': every k must be > 0, got {topk}")
        self.topk = topk

    def _add_classifier(self, dropout_ratio: float, init_std: float, out_features: int | None = None) -> None:
        """The dropout (none for ratio 0) and linear ``fc_cls`` (``in_channels`` -> ``out_features``, default
        ``num_classes``) most heads end with; ``init_std`` is the std their ``init_weights`` uses."""
        self.dropout_ratio = dropout_ratio
        self.init_std = init_std
        self.dropout = nn.Dropout(p=dropout_ratio) if dropout_ratio != 0 else None
        self.fc_cls = nn.Linear(self.in_channels, self.num_classes if out_features is None else out_features)

    def init_weights(self) -> None:
        """Normal init (std ``init_std``, zero bias) of the ``fc_cls`` built by :meth:`_add_classifier`."""
        normal_init(self.fc_cls, std=self.init_std)

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, 1, ...)`` pooled features -> flattened, dropout (training), ``fc_cls`` -> ``(N, out_features)``."""
        x = torch.flatten(x, 1)
        return self.fc_cls(x if self.dropout is None else self.dropout(x))

    def loss(self, feats: Any, data_samples: Sequence[Any], **kwargs: Any) -> dict:
        return self.loss_by_feat(self(feats, **kwargs), data_samples)

    def loss_by_feat(self, cls_scores: torch.Tensor, data_samples: Sequence[Any]) -> dict:
        """Loss of ``cls_scores (N, num_classes)`` against the samples' ``gt_label``."""
        labels = torch.stack([s.gt_label for s in data_samples]).to(cls_scores.device).squeeze()
        if labels.dim() == 0:
            labels = labels.unsqueeze(0)
        elif labels.dim() == 1 and labels.shape[0] == self.num_classes and cls_scores.shape[0] == 1:
            labels = labels.unsqueeze(0)  # one soft label: squeeze() took its batch dimension
        losses = {}
        if cls_scores.size() != labels.size():
            for k, acc in zip(self.topk, topk_accuracy(cls_scores.detach(), labels, self.topk)):
                losses[f'top{k}_acc'] = torch.tensor(acc, dtype=torch.float64, device=cls_scores.device)
        if self.label_smooth_eps != 0:
            if cls_scores.size() != labels.size():
                labels = F.one_hot(labels, num_classes=self.num_classes)
            labels = (1 - self.label_smooth_eps) * labels + self.label_smooth_eps / self.num_classes
        loss_cls = self.loss_cls(cls_scores, labels)
        if isinstance(loss_cls, dict):
            losses.update(loss_cls)
        else:
            losses['loss_cls'] = loss_cls
        return losses

    def predict(self, feats: Any, data_samples: Sequence[Any], **kwargs: Any) -> Sequence[Any]:
        return self.predict_by_feat(self(feats, **kwargs), data_samples)

    def predict_by_feat(self, cls_scores: torch.Tensor, data_samples: Sequence[Any]) -> Sequence[Any]:
        """Set ``pred_score`` (clips averaged) and ``pred_label`` on each sample; the scores rows are the
        ``len(cls_scores) // len(data_samples)`` clips of each video in turn."""
        num_segs = cls_scores.shape[0] // len(data_samples)
        cls_scores = self.average_clip(cls_scores, num_segs=num_segs)
        pred_labels = cls_scores.argmax(dim=-1, keepdim=True).detach()
        for sample, score, pred_label in zip(data_samples, cls_scores, pred_labels):
            sample.set_pred_score(score)
            sample.set_pred_label(pred_label)
        return data_samples

    def average_clip(self, cls_scores: torch.Tensor, num_segs: int = 1) -> torch.Tensor:
        """``(B * num_segs, C)`` -> ``(B, C)`` by ``average_clips`` (``(B, num_segs, C)`` when it is None)."""
        cls_scores = cls_scores.view((cls_scores.shape[0] // num_segs, num_segs) + cls_scores.shape[1:])
        if self.average_clips == 'prob':
            return F.softmax(cls_scores, dim=2).mean(dim=1)
        if self.average_clips == 'score':
            return cls_scores.mean(dim=1)
        return cls_scores
