"""Recognizer testing: what ``tools/test_recognizer.py`` runs (original HEAD behaviour, single or multi process).

Prints ``Averaging score over N views per video with/without softmax``, ``Mean Class Accuracy = xx.xx``,
``Top-1 Accuracy = xx.xx`` and ``Top-5 Accuracy = xx.xx`` and writes the ``--out`` pickle: a list, in
annotation-file order, of float32 ``(1, num_classes)`` arrays (v0 reference §2.3).
"""
from __future__ import annotations

import copy
import logging
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn as nn

from mmaction.engine.test_loop import (inference, inference_loader, multi_gpu_test,  # noqa: F401 (public API)
                                       single_gpu_test)
from mmaction.evaluation.accuracy import recognition_metrics, top_k_accuracy
from mmaction.registry import ConfigError
from mmaction.utils.io import check_pickle_path
from mmaction.utils.results import check_finite_scores, write_scores

from .model_loading import load_model, output_kind


def _set_fcn_testing(model: nn.Module) -> list[str]:
    """``--fcn_testing``: set the flag on the model and its ``cls_head`` when they have it."""
    changed = []
    for name, module in (('model', model), ('model.cls_head', getattr(model, 'cls_head', None))):
        if module is not None and hasattr(module, 'fcn_testing'):
            module.fcn_testing = True
            changed.append(name)
    if not changed:
        logging.getLogger('mmaction').warning(f'--fcn_testing: {type(model).__name__} has no fcn_testing option; '
                                              f'ignored')
    return changed


def apply_three_crop_override(cfg: Any, fcn_testing: bool = False) -> bool:
    """3-crop tests see 256x256 crops, so a fixed 7x7 pooling window must become 8x8 (original behaviour).

    Applied only when the module has a fixed size: adaptive modules (``spatial_size=-1``, or
    ``adaptive_pool=True`` as in SlowFast, whose sizes are output sizes) and identity modules are left alone (the
    original broke them), and so is FCN testing, which bypasses the module.
    Returns whether the config was changed.
    """
    test_cfg = cfg.data.test
    if test_cfg.get('oversample') != 'three_crop' or fcn_testing:
        return False
    module = cfg.model.get('spatial_temporal_module')
    if not module or module.get('spatial_type') == 'identity' or module.get('adaptive_pool', False):
        return False
    size = module.get('spatial_size')
    if size is None or size == -1 or (isinstance(size, (list, tuple)) and -1 in size):
        return False
    module['spatial_size'] = 8
    return True


def views_per_video(dataset: Any) -> int | None:
    """How many views (clips x crops) of one test video the model averages into its score row, read off the first
    video's pipeline output; ``None`` for datasets without pipelines."""
    if not hasattr(dataset, 'run_pipelines') or len(dataset) == 0:
        return None
    try:
        results = dataset.run_pipelines(0)[0]
    except Exception:  # noqa: BLE001 - only for the message; the test itself already read this video
        return None
    imgs = results['imgs']
    # NCTHW: one entry per clip and crop; NCHW: clip_len frames of each view are stacked along the first axis
    return int(imgs.shape[0]) if imgs.ndim == 5 else int(imgs.shape[0]) // max(1, int(results.get('clip_len', 1)))


def dataset_labels(dataset: Any, gathered: Sequence[int] | None = None) -> list[int]:
    """Labels in dataset order: from the batches when they carried ``gt_label``, else ``get_ann_info(i)``."""
    if gathered is not None and all(label >= 0 for label in gathered):
        return list(gathered)
    if not hasattr(dataset, 'get_ann_info'):
        raise ValueError(f'{type(dataset).__name__} gives neither gt_label in its batches nor get_ann_info(i)')
    return [int(dataset.get_ann_info(i)['label']) for i in range(len(dataset))]


def evaluate_top_k(model: nn.Module, data_loader: Any, device: torch.device | None = None,
                   k: Sequence[int] = (1, 5)) -> dict:
    """Top-k accuracy over a loader (all ranks run, rank 0 gets the numbers): the ``--validate`` metric."""
    pairs = inference(model, data_loader, device=device, with_labels=True, progress=False)
    if pairs is None:
        return {}
    scores = np.concatenate([p[0] for p in pairs])
    labels = dataset_labels(data_loader.dataset, [p[1] for p in pairs])
    accs = top_k_accuracy(scores, labels, k=k)
    return {f'top{kk} acc': acc for kk, acc in zip(k, accs)}


def sample_names(dataset: Any) -> list[str] | None:
    """A name per sample for messages (video path / frame folder), ``None`` when the dataset has no infos."""
    infos = getattr(dataset, 'video_infos', None)
    if not isinstance(infos, (list, tuple)):
        return None
    keys = ('path', 'filename', 'frame_dir', 'video_id')
    return [str(next((info[k] for k in keys if isinstance(info, dict) and k in info), f'sample {i}'))
            for i, info in enumerate(infos)]


def test_recognizer(cfg: Any, checkpoint: str, out: str | None = 'default.pkl', use_softmax: bool = False,
                    fcn_testing: bool = False, distributed: bool = False, device: torch.device | None = None,
                    trust: bool = False, tmpdir: str | None = None, progress: bool = True,
                    strict: bool = True) -> tuple[list, dict] | None:
    """Test ``checkpoint`` on ``cfg.data.test``; rank 0 writes ``out``, prints metrics and returns
    ``(outputs, metrics)`` (other ranks return ``None``).

    The checkpoint must match the model exactly (``strict``; ``--non-strict`` lists the missing, unexpected and
    shape-mismatched keys as a warning instead): a figure from half-loaded weights is not a test result.
    NaN/inf scores stop the run before anything is written (count and first video named)."""
    from mmaction.datasets import build_dataset
    check_pickle_path(out)
    cfg = copy.deepcopy(cfg)
    if 'data' not in cfg or 'test' not in cfg.data:
        raise ConfigError("config has no 'data.test' entry (the test dataset)")
    cfg.data.test.test_mode = True
    if apply_three_crop_override(cfg, fcn_testing):
        logging.getLogger('mmaction').info('three_crop test: spatial_temporal_module.spatial_size set to 8')
    model = load_model(cfg, checkpoint, device, strict=strict, trust_checkpoint=trust, kind='recognizer',
                       test_data=cfg.data.test)
    if fcn_testing:
        _set_fcn_testing(model)
    score_kind = output_kind(model)
    dataset = build_dataset(cfg.data.test)
    loader = inference_loader(dataset, 1, cfg.data.get('workers_per_gpu', 1), distributed)
    pairs = inference(model, loader, tmpdir=tmpdir, with_labels=True, progress=progress)
    if pairs is None:
        return None
    outputs = [p[0] for p in pairs]
    names = sample_names(dataset)
    source = f'scores of {checkpoint} on {cfg.data.test.get("ann_file", "data.test")}'
    check_finite_scores(np.stack([np.asarray(o).mean(axis=0) for o in outputs]), source, names)
    if out is not None:
        write_scores(outputs, out, score_kind, checkpoint=str(checkpoint),
                     ann_file=str(cfg.data.test.get('ann_file')))
        print(f'writing results to {out}')
    from .multilabel import is_multi_label, multi_label_metrics, multi_label_targets
    if is_multi_label(dataset):  # multi_class lists: mAP instead of top-k (h15engine's hook)
        return outputs, multi_label_metrics(outputs, multi_label_targets(dataset))
    labels = dataset_labels(dataset, [p[1] for p in pairs])
    metrics = recognition_metrics(outputs, labels, use_softmax=use_softmax, verbose=True,
                                  views=views_per_video(dataset), source=source, names=names)
    return outputs, metrics
