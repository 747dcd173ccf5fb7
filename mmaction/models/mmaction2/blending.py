"""Mini-batch blending of mmaction2's data preprocessor: ``MixupBlending``, ``CutmixBlending``,
``RandomBatchAugment`` (``data_preprocessor.blending``).

Each takes the batch (B, ...) and its labels — class indices (B,) or (B, 1), or already soft (B, num_classes) —
and returns the blended batch with soft labels (B, num_classes), pairing every sample with a random permutation of
the batch, exactly as mmaction2 1.2.0 does (mixing weight ~ Beta(alpha, alpha)).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.distributions.beta import Beta

from mmaction.registry import MODELS, ConfigError, build_from_cfg


def soft_labels(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Class indices (B,) / (B, 1) -> one-hot float (B, num_classes); soft labels pass through."""
    if labels.dim() == 2 and labels.shape[1] == num_classes and labels.is_floating_point():
        return labels
    return F.one_hot(labels.reshape(-1).long(), num_classes).float()


class _Blending:
    def __init__(self, num_classes: int, alpha: float = 0.2):
        self.num_classes = num_classes
        self.alpha = alpha
        self.beta = Beta(alpha, alpha)

    def __call__(self, imgs: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.do_blending(imgs, soft_labels(labels, self.num_classes).to(imgs.device))


@MODELS.register_module()
class MixupBlending(_Blending):
    """imgs' = lam * imgs + (1 - lam) * imgs[perm]; labels likewise."""

    def do_blending(self, imgs: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lam = self.beta.sample()
        perm = torch.randperm(imgs.shape[0])
        return lam * imgs + (1 - lam) * imgs[perm], lam * labels + (1 - lam) * labels[perm]


@MODELS.register_module()
class CutmixBlending(_Blending):
    """A box of area about (1 - lam) * H * W (same box for every frame) is pasted from imgs[perm]; the labels are
    mixed by the pasted area actually kept after clipping the box to the image."""

    @staticmethod
    def rand_bbox(size: torch.Size, lam: torch.Tensor) -> tuple[int, int, int, int]:
        w, h = size[-1], size[-2]
        cut = torch.sqrt(1.0 - lam)
        cut_w, cut_h = int(w * cut), int(h * cut)
        cx, cy = int(torch.randint(w, (1,))[0]), int(torch.randint(h, (1,))[0])
        x1, x2 = min(max(cx - cut_w // 2, 0), w), min(max(cx + cut_w // 2, 0), w)
        y1, y2 = min(max(cy - cut_h // 2, 0), h), min(max(cy + cut_h // 2, 0), h)
        return x1, y1, x2, y2

    def do_blending(self, imgs: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        perm = torch.randperm(imgs.shape[0])
        lam = self.beta.sample()
        x1, y1, x2, y2 = self.rand_bbox(imgs.shape, lam)
        imgs[..., y1:y2, x1:x2] = imgs[perm][..., y1:y2, x1:x2]
        kept = 1 - (x2 - x1) * (y2 - y1) / (imgs.shape[-1] * imgs.shape[-2])
        return imgs, kept * labels + (1 - kept) * labels[perm]


@MODELS.register_module()
class RandomBatchAugment(_Blending):
    """Pick one of ``augments`` per batch with ``probs`` (the rest of the probability: no blending)."""

    def __init__(self, augments: dict | Sequence[dict], probs: float | Sequence[float] | None = None):
        augments = [augments] if isinstance(augments, dict) else list(augments)
        self.augments: list[_Blending | None] = [
            build_from_cfg(a, MODELS, where='data_preprocessor.blending.augments') for a in augments]
        self.num_classes = augments[0].get('num_classes')
        probs = [probs] if isinstance(probs, float) else (list(probs) if probs is not None else None)
        if probs is not None:
            if len(probs) != len(augments):
                raise ConfigError(f"config 'data_preprocessor.blending': {len(augments)} augments but "
                                  f"{len(probs)} probs")
            if sum(probs) > 1 + 1e-9:
                raise ConfigError(f"config 'data_preprocessor.blending.probs' sum to {sum(probs)} > 1")
            self.augments.append(None)
            probs.append(1 - sum(probs))
        self.probs = probs

    def do_blending(self, imgs: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        augment = self.augments[np.random.choice(len(self.augments), p=self.probs)]
        return (imgs, labels) if augment is None else augment.do_blending(imgs, labels)
