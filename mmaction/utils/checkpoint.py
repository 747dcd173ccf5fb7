"""Checkpoint reading and writing.

Checkpoints keep the original container ``{'meta', 'state_dict', 'optimizer'}`` with unprefixed keys.
Files are loaded with ``torch.load(weights_only=True)``: a checkpoint is a pickle, and a full unpickle
of a downloaded file can run arbitrary code. Only numpy arrays and plain containers are allowed in
addition to tensors; anything else needs ``trust=True`` (``--trust-checkpoint`` in the tools).
"""
from __future__ import annotations

import logging
import os
import re
import time
from collections import OrderedDict
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from .io import atomic_open

# The original model-zoo names (torchvision's legacy ImageNet weights and mmcv's open-mmlab list).
MODELZOO_URLS = {
    'resnet18': 'https://download.pytorch.org/models/resnet18-5c106cde.pth',
    'resnet34': 'https://download.pytorch.org/models/resnet34-333f7ec4.pth',
    'resnet50': 'https://download.pytorch.org/models/resnet50-19c8e357.pth',
    'resnet101': 'https://download.pytorch.org/models/resnet101-5d3b4d8f.pth',
    'resnet152': 'https://download.pytorch.org/models/resnet152-b121ed2d.pth',
}
OPEN_MMLAB_URLS = {
    'bninception_caffe': 'https://download.openmmlab.com/pretrain/third_party/bn_inception_caffe-ed2e8665.pth',
    'resnet50_caffe': 'https://download.openmmlab.com/pretrain/third_party/resnet50_caffe-788b5fa3.pth',
    'resnet101_caffe': 'https://download.openmmlab.com/pretrain/third_party/resnet101_caffe-3ad79236.pth',
    'vgg16_caffe': 'https://download.openmmlab.com/pretrain/third_party/vgg16_caffe-292e1171.pth',
}
MMACTION_MODEL_URL = 'https://open-mmlab.s3.ap-northeast-2.amazonaws.com/mmaction/models/'


class CheckpointError(RuntimeError):
    """A checkpoint cannot be found, read or matched to the model."""


def _numpy_safe_globals() -> list:
    names = []
    for mod_name in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        try:
            mod = __import__(mod_name, fromlist=['_reconstruct'])
            names += [mod._reconstruct, mod.scalar]
        except (ImportError, AttributeError):
            pass
    names += [np.ndarray, np.dtype]
    names += [getattr(np.dtypes, n) for n in dir(np.dtypes) if n.endswith('DType')]
    return names


def resolve_checkpoint(filename: str) -> str:
    """Turn ``modelzoo://``, ``open-mmlab://``, ``mmaction://`` and http(s) names into a local file.

    URLs are downloaded once into the torch hub cache (:func:`mmaction.utils.download.download_checkpoint`).
    Local paths must exist.
    """
    url = None
    if filename.startswith('modelzoo://') or filename.startswith('torchvision://'):
        name = filename.split('://', 1)[1]
        if name not in MODELZOO_URLS:
            raise CheckpointError(f"unknown model-zoo name '{filename}'; known: {sorted(MODELZOO_URLS)}")
        url = MODELZOO_URLS[name]
    elif filename.startswith('open-mmlab://'):
        name = filename.split('://', 1)[1]
        if name not in OPEN_MMLAB_URLS:
            raise CheckpointError(f"unknown open-mmlab name '{filename}'; known: {sorted(OPEN_MMLAB_URLS)}")
        url = OPEN_MMLAB_URLS[name]
    elif filename.startswith('mmaction://'):
        url = MMACTION_MODEL_URL + filename.split('://', 1)[1]
    elif filename.startswith(('http://', 'https://')):
        url = filename
    if url is None:
        if not os.path.isfile(filename):
            raise CheckpointError(f'checkpoint file not found: {filename}')
        return filename
    from .download import download_checkpoint
    return download_checkpoint(url)


def load_file(filename: str, map_location: Any = 'cpu', trust: bool = False) -> Any:
    """``torch.load`` a checkpoint safely (tensors, numpy arrays, containers only unless ``trust``)."""
    path = resolve_checkpoint(filename)
    if trust:
        return torch.load(path, map_location=map_location, weights_only=False)
    try:
        with torch.serialization.safe_globals(_numpy_safe_globals()):
            return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - turned into a precise message
        text = str(err)
        if 'weights_only' in text or 'Unsupported global' in text or 'UnpicklingError' in type(err).__name__:
            found = re.search(r'GLOBAL ([\w.]+)', text)
            what = f' (it holds {found.group(1)})' if found else ''
            raise CheckpointError(
                f'{path}: refused to load{what}: only tensors, numpy arrays and plain containers are loaded by '
                f'default, because unpickling other objects can run arbitrary code. If you trust this file, '
                f'pass --trust-checkpoint (or trust=True).') from err
        raise CheckpointError(f'{path}: cannot read checkpoint: {err}') from err


def get_state_dict(checkpoint: Any, filename: str = '<checkpoint>') -> 'OrderedDict[str, torch.Tensor]':
    """Accept a raw state dict or ``{'state_dict': ...}`` / ``{'model': ...}``; strip ``module.`` prefixes."""
    if isinstance(checkpoint, dict) and 'state_dict' in checkpoint:
        state = checkpoint['state_dict']
    elif isinstance(checkpoint, dict) and 'model' in checkpoint and isinstance(checkpoint['model'], dict):
        state = checkpoint['model']
    elif isinstance(checkpoint, dict):
        state = checkpoint
    else:
        raise CheckpointError(f'{filename}: expected a state dict or a dict with a "state_dict" key, '
                              f'got {type(checkpoint).__name__}')
    out = OrderedDict()
    for key, value in state.items():
        while key.startswith('module.'):
            key = key[len('module.'):]
        out[key] = value
    return out


def unwrap_model(model: nn.Module) -> nn.Module:
    return model.module if hasattr(model, 'module') and isinstance(model.module, nn.Module) else model


def load_state_dict(model: nn.Module, state: dict, strict: bool = False, logger: logging.Logger | None = None,
                    source: str = '<state_dict>') -> dict:
    """Copy matching tensors into ``model``; report missing, unexpected and shape-mismatched keys.

    Returns ``dict(missing=[...], unexpected=[...], mismatched=[(key, ckpt_shape, model_shape)])``.
    With ``strict=True`` any of those raises :class:`CheckpointError` naming the keys.
    """
    model = unwrap_model(model)
    own = model.state_dict()
    mismatched, to_load = [], OrderedDict()
    for key, value in state.items():
        if key in own:
            if tuple(own[key].shape) != tuple(value.shape):
                mismatched.append((key, tuple(value.shape), tuple(own[key].shape)))
            else:
                to_load[key] = value
    unexpected = [k for k in state if k not in own]
    missing = [k for k in own if k not in state and not k.endswith('num_batches_tracked')]
    model.load_state_dict(to_load, strict=False)
    report = dict(missing=missing, unexpected=unexpected, mismatched=mismatched)
    lines = []
    if mismatched:
        lines.append('size mismatch: ' + '; '.join(f'{k}: checkpoint {c} vs model {m}' for k, c, m in mismatched))
    if missing:
        lines.append(f'missing keys in checkpoint ({len(missing)}): {", ".join(missing[:20])}'
                     + (' ...' if len(missing) > 20 else ''))
    if unexpected:
        lines.append(f'unexpected keys in checkpoint ({len(unexpected)}): {", ".join(unexpected[:20])}'
                     + (' ...' if len(unexpected) > 20 else ''))
    if lines:
        message = f'{source} does not match the model:\n  ' + '\n  '.join(lines)
        if strict:
            raise CheckpointError(message)
        (logger or logging.getLogger('mmaction')).warning(message)
    return report


def load_checkpoint(model: nn.Module, filename: str, map_location: Any = 'cpu', strict: bool = False,
                    logger: logging.Logger | None = None, trust: bool = False) -> dict:
    """Load weights from a file/URL into ``model`` (original ``mmcv.runner.load_checkpoint`` semantics)."""
    checkpoint = load_file(filename, map_location=map_location, trust=trust)
    state = get_state_dict(checkpoint, filename)
    load_state_dict(model, state, strict=strict, logger=logger, source=filename)
    return checkpoint if isinstance(checkpoint, dict) else {'state_dict': state}


def weights_to_cpu(state: dict) -> 'OrderedDict[str, torch.Tensor]':
    return OrderedDict((k, v.detach().cpu()) for k, v in state.items())


def save_checkpoint(model: nn.Module, filename: str, optimizer: torch.optim.Optimizer | None = None,
                    meta: dict | None = None, **extra: Any) -> None:
    """Write ``{'meta', 'state_dict', 'optimizer', **extra}`` atomically (temp file, fsync, rename)."""
    from mmaction.version import mmact_version
    meta = dict(meta or {})
    meta.setdefault('mmact_version', mmact_version)
    meta.setdefault('time', time.asctime())
    checkpoint = {'meta': meta, 'state_dict': weights_to_cpu(unwrap_model(model).state_dict())}
    if optimizer is not None:
        checkpoint['optimizer'] = optimizer.state_dict()
    checkpoint.update(extra)
    with atomic_open(filename, 'wb') as f:
        torch.save(checkpoint, f)
