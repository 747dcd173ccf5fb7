"""The one way a trained model is made ready for testing or inference: build from the config, load the
checkpoint (strictly unless asked otherwise), normalise the input once, move to the device, eval mode.

    from mmaction.apis.model_loading import load_model
    model = load_model('configs/TSN/toy/tsn_r18_toy.py', 'work_dirs/tsn_r18_toy/latest.pth', device='cpu')

Every test tool (recognizer, heavy, detector, localizer, BSN TEM), ``init_recognizer``/``init_detector``/
``init_localizer``, the demos and feature extraction go through :func:`load_model`.
"""
from __future__ import annotations

import copy
import logging
import os
from typing import Any

import torch
import torch.nn as nn

from mmaction.registry import ConfigError

def resolve_device(device: str | torch.device | None) -> torch.device:
    """``device`` as a ``torch.device``; ``None`` is this process's device (``cuda:<LOCAL_RANK>`` or CPU)."""
    if device is None:
        from mmaction.engine.dist_utils import get_device
        return get_device()
    dev = torch.device(device)
    if dev.type == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError(f"device '{device}' was requested but CUDA is not available here; use device='cpu'")
    return dev


def pipeline_normalizes(test_cfg: dict) -> bool:
    """Whether a ``data.test``-like dict normalises the frames (the flag form always does)."""
    pipeline = test_cfg.get('pipeline')
    if pipeline is None:
        return True
    return any(isinstance(step, dict) and step.get('type') == 'Normalize' for step in pipeline)


def normalize_once(model: nn.Module, test_cfg: dict) -> bool:
    """Switch off the mmaction2 data preprocessor's normalisation when the test pipeline normalises already.
    Returns whether it was switched off."""
    preprocessor = getattr(model, 'data_preprocessor', None)
    if not getattr(preprocessor, 'normalizes', False) or not pipeline_normalizes(test_cfg):
        return False
    preprocessor.disable_normalization()
    logging.getLogger('mmaction').info('the test pipeline normalises the frames: model.data_preprocessor keeps '
                                       'them as they are (normalisation happens once)')
    return True


def output_kind(model: nn.Module) -> str:
    """What a recognizer's test output holds: ``'probabilities'`` in FCN testing and for mmaction2 heads that
    average softmaxed clips (``average_clips='prob'``), else ``'logits'``."""
    probs = getattr(model, 'fcn_testing', False) or getattr(model, 'outputs_probabilities', False)
    return 'probabilities' if probs else 'logits'


def _builder(kind: str | None, model_cfg: dict) -> Any:
    from mmaction.models import builder
    if kind is None:
        registry = builder._registry_of(model_cfg)
        kind = {builder.LOCALIZERS: 'localizer', builder.DETECTORS: 'detector'}.get(registry, 'recognizer')
    try:
        return {'recognizer': builder.build_recognizer, 'detector': builder.build_detector,
                'localizer': builder.build_localizer}[kind]
    except KeyError:
        raise ValueError(f"kind must be 'recognizer', 'detector' or 'localizer', got {kind!r}") from None


def load_model(config: Any, checkpoint: str | None = None, device: str | torch.device | None = None,
               strict: bool = True, trust_checkpoint: bool = False, kind: str | None = None,
               model_cfg: dict | None = None, test_data: dict | None = None) -> nn.Module:
    """Build ``config``'s model (path or ``Config``), load ``checkpoint``, move it to ``device``, eval mode.

    Args:
        strict: the checkpoint must match the model key for key (``False``: the missing, unexpected and
            shape-mismatched keys are logged as a warning); a figure from half-loaded weights is not a result.
        trust_checkpoint: unpickle the checkpoint without the safe unpickler (``--trust-checkpoint``).
        kind: ``'recognizer'``, ``'detector'`` or ``'localizer'``; ``None`` finds it from ``model.type``.
        model_cfg: the model dict to build instead of ``config.model`` (SSN's reorganised test consensus).
        test_data: the ``data.test``-like dict the inputs come from; an mmaction2 data preprocessor stops
            normalising when its pipeline normalises already (the input is normalised once).
    With a checkpoint no ``pretrained`` weights of any sub-model are loaded (they would be overwritten and may need
    a download that an offline machine cannot do). The checkpoint's ``meta.CLASSES`` becomes ``model.CLASSES``; the config is ``model.cfg``.
    """
    from mmaction.utils.checkpoint import load_checkpoint
    from mmaction.utils.config import load_config
    cfg = load_config(config) if isinstance(config, (str, os.PathLike)) else copy.deepcopy(config)
    if model_cfg is None and 'model' not in cfg:
        raise ConfigError(f"{getattr(cfg, 'filename', '<config>')}: config has no 'model' key")
    model_cfg = copy.deepcopy(dict(model_cfg if model_cfg is not None else cfg.model))
    if checkpoint is not None:
        from mmaction.models.builder import without_pretrained
        model_cfg = without_pretrained(model_cfg)
    dev = resolve_device(device)
    model = _builder(kind, model_cfg)(model_cfg, train_cfg=None, test_cfg=cfg.get('test_cfg'))
    if checkpoint is not None:
        ckpt = load_checkpoint(model, checkpoint, map_location='cpu', strict=strict, trust=trust_checkpoint)
        meta = ckpt.get('meta', {}) if isinstance(ckpt, dict) else {}
        if isinstance(meta, dict) and meta.get('CLASSES'):
            model.CLASSES = list(meta['CLASSES'])
    if test_data is not None:
        normalize_once(model, test_data)
    model.cfg = cfg
    return model.to(dev).eval()
