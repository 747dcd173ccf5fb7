"""``ActionDataPreprocessor`` (mmaction2's): batch the inputs, optional BGR->RGB swap, ``(x - mean) / std``.

The model applies it in ``train_step`` / ``val_step`` / ``test_step`` (and in the original-style
``model(img_group_0=..., return_loss=...)`` call); ``model(inputs, mode=...)`` takes inputs that went through it
already, as in mmaction2. ``mean``/``std`` are non-persistent buffers: they follow ``.to(device)`` but are not in
the state dict, so mmaction2 checkpoints load with ``strict=True``.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch
from mmengine.model import BaseDataPreprocessor, stack_batch

from mmaction.registry import MODELS, ConfigError, build_from_cfg

# Shape of the mean/std buffers per input layout: one value per channel, broadcast over (T,) H, W.
_NORM_VIEW = {'NCHW': (-1, 1, 1), 'NCTHW': (-1, 1, 1, 1), 'MIX2d3d': (-1, 1, 1, 1),
              'NCTHW_Heatmap': (-1, 1, 1, 1)}


@MODELS.register_module()
class ActionDataPreprocessor(BaseDataPreprocessor):
    """Args (mmaction2's names):
        mean, std: per-channel statistics (0-255 scale for RGB); both or neither.
        to_rgb: swap the channel order (the inputs are BGR).
        to_float32: cast to float32 when not normalising.
        blending: a batch-blending config (``MixupBlending``, ``CutmixBlending``, ``RandomBatchAugment``), applied
            in training only; the labels become soft labels ``(num_classes,)``.
        format_shape: ``'NCHW'`` (inputs ``(B, M, C, H, W)``), ``'NCTHW'`` / ``'NCTHW_Heatmap'`` (inputs
            ``(B, M, C, T, H, W)``) or ``'MIX2d3d'`` (either, told apart by the number of dimensions).
    """

    def __init__(self, mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                 to_rgb: bool = False, to_float32: bool = True, blending: dict | None = None,
                 format_shape: str = 'NCHW'):
        super().__init__()
        if format_shape not in _NORM_VIEW:
            raise ConfigError(f"config 'model.data_preprocessor.format_shape': {format_shape!r} is not one of "
                              f'{sorted(_NORM_VIEW)}')
        self.to_rgb = to_rgb
        self.to_float32 = to_float32
        self.format_shape = format_shape
        if (mean is None) != (std is None):
            raise ConfigError("config 'model.data_preprocessor': set both 'mean' and 'std' to normalise, or neither")
        self._enable_normalize = mean is not None
        if mean is not None:
            view = _NORM_VIEW[format_shape]
            self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(view), False)
            self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(view), False)
        if blending is not None:
            self.blending = build_from_cfg(blending, MODELS, where='model.data_preprocessor.blending')
        else:
            self.blending = None

    @property
    def normalizes(self) -> bool:
        return self._enable_normalize

    def disable_normalization(self) -> None:
        """Leave the inputs' values alone: for data that a pipeline ``Normalize`` has normalised already."""
        self._enable_normalize = False

    def forward(self, data: dict | Sequence[dict], training: bool = False) -> dict | tuple:
        """``data = dict(inputs=[(M, C, ...) per video] or (B, M, C, ...), data_samples=...)`` -> the same dict
        with ``inputs`` batched and normalised. A tuple of such dicts (multi-view data) gives a tuple."""
        data = self.cast_data(data)
        if isinstance(data, dict):
            return self.forward_onesample(data, training=training)
        if isinstance(data, (tuple, list)):
            return tuple(self.forward_onesample(d, training=training) for d in data)
        raise TypeError(f'ActionDataPreprocessor: expected a dict with inputs/data_samples, got {type(data).__name__}')

    def forward_onesample(self, data: dict, training: bool = False) -> dict:
        if 'inputs' not in data:
            raise KeyError(f"ActionDataPreprocessor: the data dict has no 'inputs' (keys: {sorted(data)})")
        inputs, data_samples = self.preprocess(data['inputs'], data.get('data_samples'), training)
        return dict(data, inputs=inputs, data_samples=data_samples)

    def preprocess(self, inputs: Sequence[torch.Tensor] | torch.Tensor, data_samples: Any,
                   training: bool = False) -> tuple[torch.Tensor, Any]:
        batch = inputs if isinstance(inputs, torch.Tensor) else stack_batch(list(inputs))
        if self.format_shape == 'MIX2d3d':
            layout, view = ('NCHW', (-1, 1, 1)) if batch.ndim == 4 else ('NCTHW', None)
        else:
            layout, view = self.format_shape, None
        if self.to_rgb:
            if layout == 'NCHW':
                batch = batch[..., [2, 1, 0], :, :]
            elif layout == 'NCTHW':
                batch = batch[..., [2, 1, 0], :, :, :]
            else:
                raise ConfigError(f"config 'model.data_preprocessor': to_rgb is not defined for {layout!r}")
        if self._enable_normalize:
            mean, std = (self.mean, self.std) if view is None else (self.mean.view(view), self.std.view(view))
            batch = (batch - mean) / std
        elif self.to_float32:
            batch = batch.to(torch.float32)
        if training and self.blending is not None:
            batch, data_samples = self._blend(batch, data_samples)
        return batch, data_samples

    def _blend(self, batch: torch.Tensor, data_samples: Any) -> tuple[torch.Tensor, Any]:
        """Blend the batch (``blending(imgs, labels) -> (imgs, soft labels (B, num_classes))``); the soft labels go
        back onto the samples (mmaction2's behaviour), or replace a label tensor."""
        if data_samples is None:
            raise ValueError('ActionDataPreprocessor: blending in training needs the labels (data_samples)')
        if isinstance(data_samples, torch.Tensor):
            return self.blending(batch, data_samples)
        labels = torch.stack([torch.as_tensor(s.gt_label) for s in data_samples]).to(batch.device)
        batch, soft = self.blending(batch, labels)
        for sample, row in zip(data_samples, soft):
            if hasattr(sample, 'set_gt_label'):
                sample.set_gt_label(row)
            else:
                sample.gt_label = row
        return batch, data_samples
