"""Checkpoint reading and writing.

Checkpoints keep the original container ``{'meta', 'state_dict', 'optimizer'}`` with unprefixed keys.
A checkpoint is a pickle, and a full unpickle of a downloaded file can run arbitrary code, so files are read
by ``torch.load`` through :class:`mmaction.utils.io.SafeUnpickler` (the loader result and proposal pickles use
too): torch's ``weights_only`` allow-list for tensors, numpy arrays of plain numeric dtypes, plain containers,
OpenMMLab objects (mmengine's ``message_hub`` buffers...) as inert placeholders, and a size budget against the
file size. Anything else needs ``trust=True`` (``--trust-checkpoint`` in the tools), the only path that
unpickles fully. mmaction2/mmengine checkpoints (``meta``, ``state_dict``, ``message_hub``, ``optimizer``,
``param_schedulers``) load this way; their weights come out as they were saved.
"""
from __future__ import annotations

import errno
import logging
import os
import time
from collections import OrderedDict
from typing import Any

import torch
import torch.nn as nn

from .io import CheckpointPickleModule, PickleLoadError, atomic_open

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


class CheckpointUnreadableError(CheckpointError):
    """The file is truncated or corrupt (as opposed to refused as unsafe): ``--auto-resume`` may fall back."""


class _WriteErrors:
    """A file wrapper that remembers the ``OSError`` of a failed write: torch's zip writer turns it into
    ``RuntimeError: [enforce fail at inline_container.cc]`` without the cause."""

    def __init__(self, f: Any):
        self.f, self.error = f, None

    def write(self, data: Any) -> int:
        try:
            return self.f.write(data)
        except OSError as err:
            self.error = err
            raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self.f, name)


def resolve_checkpoint(filename: str) -> str:
    """Turn ``modelzoo://``, ``open-mmlab://``, ``mmaction://``, mmaction2 model-zoo names (``NAME`` or
    ``mmaction2://NAME``, see ``modelzoo/mmaction2.md``) and http(s) names into a local file.

    URLs are downloaded once into the torch hub cache (:func:`mmaction.utils.download.download_checkpoint`), their
    SHA-256 prefix checked. Local paths must exist; a path that does not exist but is a zoo name means that model.
    """
    url = None
    if filename.startswith('mmaction2://') or (not os.path.exists(filename) and '/' not in filename
                                               and not filename.endswith('.pth') and '://' not in filename):
        from .zoo import find_zoo_model
        name = filename.split('://', 1)[-1]
        try:
            url = find_zoo_model(name)['url']
        except KeyError as err:
            raise CheckpointError(f'checkpoint file not found: {filename} (and {err.args[0]})') from None
    elif filename.startswith('modelzoo://') or filename.startswith('torchvision://'):
        name = filename.split('://', 1)[1]
        if name not in MODELZOO_URLS:
            raise CheckpointError(f"unknown model-zoo name '{filename}'; known: {sorted(MODELZOO_URLS)}")
        url = MODELZOO_URLS[name]
    elif filename.startswith('open-mmlab://'):
        name = filename.split('://', 1)[1]
        if name not in OPEN_MMLAB_URLS:
            gone = (' (the original MMAction model zoo, whose Kinetics-pretrained weights such names pointed to, is no '
                    'longer published)' if name.startswith('kin400/') else '')
            raise CheckpointError(f"unknown open-mmlab name '{filename}'{gone}; known: {sorted(OPEN_MMLAB_URLS)}. "
                                  f"Set the config's pretrained to a local file, a URL or an mmaction2 zoo name "
                                  f"(modelzoo/mmaction2.md), or None to start from scratch")
        url = OPEN_MMLAB_URLS[name]
    elif filename.startswith('mmaction://'):
        # The original bucket answers NoSuchBucket since 2021; the download error says so and where to look.
        url = MMACTION_MODEL_URL + filename.split('://', 1)[1]
    elif filename.startswith(('http://', 'https://')):
        url = filename
    if url is None:
        if not os.path.isfile(filename):
            raise CheckpointError(f'checkpoint file not found: {filename}')
        return filename
    from .download import DownloadError, download_checkpoint
    try:
        return download_checkpoint(url)
    except DownloadError as err:
        if url.startswith(MMACTION_MODEL_URL):
            raise DownloadError(f'{err} -- note: the original MMAction bucket ({MMACTION_MODEL_URL}) has answered '
                                f'NoSuchBucket since 2021; mmaction2 checkpoints of the same families are listed '
                                f'in modelzoo/mmaction2.md (pass their name as the checkpoint)') from None
        raise


def load_file(filename: str, map_location: Any = 'cpu', trust: bool = False) -> Any:
    """``torch.load`` a checkpoint safely (see the module docstring); ``trust`` unpickles fully."""
    path = resolve_checkpoint(filename)
    if trust:
        return torch.load(path, map_location=map_location, weights_only=False)
    try:
        # pickle_module replaces torch's unpickler by the safe one; weights_only=True would ignore it.
        return torch.load(path, map_location=map_location, weights_only=False,
                          pickle_module=CheckpointPickleModule(path, os.path.getsize(path)))
    except PickleLoadError as err:
        raise CheckpointError(f'{err}. If you trust this file, pass --trust-checkpoint (or trust=True).') from None
    except Exception as err:  # noqa: BLE001 - turned into a precise message
        first = str(err).strip().splitlines()[0] if str(err).strip() else ''
        raise CheckpointUnreadableError(f'{path}: cannot read checkpoint ({type(err).__name__}: {first}); the file '
                                        f'is truncated, corrupt or not a torch checkpoint') from err


def get_state_dict(checkpoint: Any, filename: str = '<checkpoint>',
                   prefix: str | None = None) -> 'OrderedDict[str, torch.Tensor]':
    """Accept a raw state dict or ``{'state_dict': ...}`` / ``{'model': ...}``; strip ``module.`` prefixes.

    ``prefix`` (e.g. ``'backbone.'``) keeps only the keys under it, without it: the backbone of an mmaction2
    recognizer checkpoint (whose keys are ``backbone.*``, ``cls_head.*``), as mmaction2's
    ``init_cfg=dict(type='Pretrained', prefix='backbone.')`` does.
    """
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
    if prefix:
        selected = OrderedDict((k[len(prefix):], v) for k, v in out.items() if k.startswith(prefix))
        if not selected:
            tops = sorted({k.split('.')[0] + '.' for k in out})
            raise CheckpointError(f"{filename}: no key starts with '{prefix}' (the checkpoint's top-level names: "
                                  f"{', '.join(tops[:10])})")
        out = selected
    return out


def unwrap_model(model: nn.Module) -> nn.Module:
    return model.module if hasattr(model, 'module') and isinstance(model.module, nn.Module) else model


def load_state_dict(model: nn.Module, state: dict, strict: bool = False, logger: logging.Logger | None = None,
                    source: str = '<state_dict>') -> dict:
    """Copy matching tensors into ``model``; report missing, unexpected and shape-mismatched keys.

    Returns ``dict(missing=[...], unexpected=[...], mismatched=[(key, ckpt_shape, model_shape)])``.
    With ``strict=True`` any of those raises :class:`CheckpointError` naming the keys.
    """
    bad = nonfinite_tensors(state)
    if bad:
        raise CheckpointError(f'{source}: refusing to load non-finite tensors: {describe_nonfinite(bad)} (the '
                              f'run that wrote it had diverged)')
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
                    logger: logging.Logger | None = None, trust: bool = False, prefix: str | None = None) -> dict:
    """Load weights from a file/URL into ``model`` (original ``mmcv.runner.load_checkpoint`` semantics);
    ``prefix`` selects a sub-model's keys (see :func:`get_state_dict`)."""
    checkpoint = load_file(filename, map_location=map_location, trust=trust)
    state = get_state_dict(checkpoint, filename, prefix=prefix)
    load_state_dict(model, state, strict=strict, logger=logger, source=filename)
    return checkpoint if isinstance(checkpoint, dict) else {'state_dict': state}


def nonfinite_tensors(state: dict) -> list[tuple[str, int, int]]:
    """``(key, non-finite count, numel)`` for every floating-point tensor of ``state`` holding NaN or inf."""
    found = []
    for key, value in state.items():
        if isinstance(value, torch.Tensor) and (value.is_floating_point() or value.is_complex()):
            bad = int((~torch.isfinite(value.detach())).sum())
            if bad:
                found.append((key, bad, value.numel()))
    return found


def describe_nonfinite(found: list[tuple[str, int, int]]) -> str:
    return ', '.join(f'{key} ({bad} of {numel} values NaN/inf)' for key, bad, numel in found[:10]) + \
        (f' and {len(found) - 10} more' if len(found) > 10 else '')


def weights_to_cpu(state: dict) -> 'OrderedDict[str, torch.Tensor]':
    return OrderedDict((k, v.detach().cpu()) for k, v in state.items())


def save_checkpoint(model: nn.Module, filename: str, optimizer: torch.optim.Optimizer | None = None,
                    meta: dict | None = None, **extra: Any) -> None:
    """Write ``{'meta', 'state_dict', 'optimizer', **extra}`` atomically (temp file, fsync, rename)."""
    from mmaction.version import mmact_version
    meta = dict(meta or {})
    meta.setdefault('mmact_version', mmact_version)
    meta.setdefault('time', time.asctime())
    state = weights_to_cpu(unwrap_model(model).state_dict())
    bad = nonfinite_tensors(state)
    if bad:
        raise FloatingPointError(f'refusing to save {filename}: the model holds non-finite weights or buffers: '
                                 f'{describe_nonfinite(bad)}. Training diverged (lower optimizer.lr, use '
                                 f'grad_clip) or a skipped step leaked into the BatchNorm statistics.')
    checkpoint = {'meta': meta, 'state_dict': state}
    if optimizer is not None:
        checkpoint['optimizer'] = optimizer.state_dict()
    checkpoint.update(extra)
    try:
        with atomic_open(filename, 'wb') as f:
            writer = _WriteErrors(f)
            try:
                torch.save(checkpoint, writer)
            except (RuntimeError, OSError) as err:
                cause = writer.error or (err if isinstance(err, OSError) else None)
                if cause is not None:
                    raise cause from None
                raise
    except OSError as err:
        if err.errno == errno.ENOSPC:
            raise OSError(errno.ENOSPC, f'no space left on device: {filename} (the previous checkpoints are '
                                        f'intact; free space or point work_dir elsewhere)') from None
        raise OSError(err.errno, f'cannot write checkpoint {filename}: {err.strerror or err}') from None
