"""Spatio-temporal detection (AVA) testing: inference in dataset order, the ``--out`` pickle, CSV and metrics."""
from __future__ import annotations

import copy
import logging
import os
from typing import Any, Sequence

import torch
import torch.nn as nn

from mmaction.engine.dist_utils import get_dist_info
from mmaction.engine.test_loop import forward_step, inference, inference_loader
from mmaction.registry import ConfigError
from mmaction.utils.io import check_pickle_path, dump_pickle, load_pickle

from .model_loading import load_model


def detection_inference(model: nn.Module, data_loader: Any, size: int | None = None,
                        device: torch.device | None = None, tmpdir: str | None = None,
                        progress: bool = False) -> list | None:
    """Per key-frame results of the one inference loop (:func:`mmaction.engine.test_loop.inference`) in dataset
    order (``None`` on ranks other than 0 of a split loader)."""
    return inference(model, data_loader, size=size, device=device, tmpdir=tmpdir, progress=progress,
                     step=forward_step, desc='detecting')


def evaluate_detections(results: Sequence, dataset: Any, out_csv: str, eval_types: Sequence[str],
                        ann_file: str | None = None, label_file: str | None = None,
                        exclude_file: str | None = None, logger: logging.Logger | None = None) -> dict[str, float]:
    """Write ``out_csv`` (AVA detection CSV) and run ``ava_eval`` for each of ``eval_types`` (bbox/proposal)."""
    from mmaction.evaluation.ava import ava_eval, results2csv
    if len(results) != len(dataset):
        raise ValueError(f'{len(results)} results for a test set of {len(dataset)} key-frames '
                         f'(a cached --out from another dataset?)')
    results2csv(results, dataset.keyframe_keys(), out_csv)
    metrics: dict[str, float] = {}
    for eval_type in eval_types:
        metrics.update(ava_eval(out_csv, eval_type, label_file or dataset.label_file, ann_file or dataset.ann_file,
                                exclude_file if exclude_file is not None else dataset.exclude_file, logger=logger))
    return metrics


def evaluate_detector(model: nn.Module, data_loader: Any, device: torch.device | None = None,
                      eval_types: Sequence[str] = ('bbox',), tmpdir: str | None = None,
                      per_class: bool = False) -> dict[str, float]:
    """Frame-mAP of ``model`` on an ``AVADataset`` loader: the ``--validate`` metric of the detector tools.

    All ranks run inference; rank 0 writes the detections CSV to a temporary folder, evaluates it with the
    dataset's own annotation, exclusion and label files and returns ``{'mAP@0.5IOU': ...}`` (mmaction2's
    ``save_best`` key; plus the per-class APs with ``per_class``, the proposal recall for ``'proposal'``);
    other ranks return ``{}``. The model is left in eval mode (the runner switches it back to train).
    """
    import tempfile
    dataset = data_loader.dataset
    if not hasattr(dataset, 'keyframe_keys'):
        raise ConfigError(f'--validate for a detector needs an AVADataset as data.val, got {type(dataset).__name__}')
    results = detection_inference(model, data_loader, len(dataset), device, tmpdir)
    if results is None:
        return {}
    with tempfile.TemporaryDirectory(prefix='mmaction_val_') as tmp:
        metrics = evaluate_detections(results, dataset, os.path.join(tmp, 'val_detections.csv'), eval_types,
                                      logger=logging.getLogger('mmaction.val'))
    out = {}
    for key, value in metrics.items():
        if key.endswith('mAP@0.5IOU'):
            out['mAP@0.5IOU'] = float(value)  # 'PascalBoxes_Precision/mAP@0.5IOU' in the full report
        elif per_class or 'PerformanceByCategory' not in key:
            out[key] = float(value)
    return out


def test_detector(cfg: Any, checkpoint: str, out: str = 'detection_result.pkl', eval_types: Sequence[str] = (),
                  ann_file: str | None = None, label_file: str | None = None, exclude_file: str | None = None,
                  distributed: bool = False, trust: bool = False, tmpdir: str | None = None,
                  logger: logging.Logger | None = None, strict: bool = True) -> tuple[list, dict] | None:
    """Test ``checkpoint`` on ``cfg.data.test``; reuse ``out`` when it exists (original behaviour).

    Rank 0 returns ``(results, metrics)``; other ranks ``None``.
    """
    from mmaction.datasets import build_dataset
    check_pickle_path(out)
    cfg = copy.deepcopy(cfg)
    if 'data' not in cfg or 'test' not in cfg.data:
        raise ConfigError("config has no 'data.test' entry (the test dataset)")
    cfg.data.test.test_mode = True
    logger = logger or logging.getLogger('mmaction')
    dataset = build_dataset(cfg.data.test)
    rank, _ = get_dist_info()
    if os.path.isfile(out):
        logger.info(f'{out} exists: evaluating the cached results (delete it to run inference again)')
        results = load_pickle(out) if rank == 0 else None
    else:
        model = load_model(cfg, checkpoint, strict=strict, trust_checkpoint=trust, kind='detector')
        loader = inference_loader(dataset, 1, cfg.data.get('workers_per_gpu', 1), distributed)
        results = detection_inference(model, loader, tmpdir=tmpdir, progress=True)
        if rank == 0:
            dump_pickle(results, out)
            logger.info(f'writing results to {out}')
    if rank != 0:
        return None
    metrics = {}
    if eval_types:
        metrics = evaluate_detections(results, dataset, os.path.splitext(out)[0] + '.csv', eval_types, ann_file,
                                      label_file, exclude_file, logger)
    return results, metrics
