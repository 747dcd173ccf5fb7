"""Heavy testing of big 3D recognizers: what ``tools/test_recognizer_heavy.py`` runs.

Original behaviour (v0 reference §2.4): FCN testing is always on, the 3-crop ``spatial_size`` override is not
applied, ``--testfile`` replaces ``cfg.data.test.ann_file``, and ``--batch_size B`` runs each video's views
(clips x crops, decoded once) through the model ``B`` at a time to bound memory. Each chunk returns the mean
softmax over its views; chunks are averaged weighted by their size, so any ``B`` gives the scores of one big
batch (the original required B to divide the number of views; a remainder chunk is allowed here).
Output pickle and printed metrics are those of ``test_recognizer``.
"""
from __future__ import annotations

import copy
import logging
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from mmaction.engine.test_loop import inference, inference_loader
from mmaction.registry import ConfigError
from mmaction.evaluation.accuracy import recognition_metrics
from mmaction.utils.io import check_pickle_path
from mmaction.utils.results import write_scores

from .model_loading import load_model, output_kind
from .test import _set_fcn_testing, dataset_labels, views_per_video


class ChunkedViews(nn.Module):
    """Wraps a recognizer so that ``forward(return_loss=False, img_group_0=(B, V, ...))`` runs ``batch_size``
    views at a time and returns the view-weighted mean of the chunk outputs ``(B, num_classes)``.

    ``batch_size <= 0`` runs all views at once. Valid for models whose test output is a mean over views
    (FCN testing, or a linear head after mean consensus).
    """

    def __init__(self, model: nn.Module, batch_size: int = -1) -> None:
        super().__init__()
        self.model = model
        self.batch_size = batch_size

    def forward(self, return_loss: bool = False, img_group_0: torch.Tensor | None = None, **kwargs: Any) -> Any:
        if return_loss:
            raise ValueError('ChunkedViews is for testing only (return_loss=False)')
        if img_group_0 is None:
            raise KeyError("the batch has no 'img_group_0'")
        views = img_group_0.shape[1]
        step = views if self.batch_size <= 0 else self.batch_size
        total: np.ndarray | None = None
        for start in range(0, views, step):
            chunk = img_group_0[:, start:start + step]
            out = np.asarray(self.model(return_loss=False, img_group_0=chunk, **kwargs), dtype=np.float64)
            total = out * chunk.shape[1] if total is None else total + out * chunk.shape[1]
        return (total / views).astype(np.float32)


def test_recognizer_heavy(cfg: Any, checkpoint: str, out: str | None = None, use_softmax: bool = False,
                          batch_size: int = -1, testfile: str | None = None, distributed: bool = False,
                          device: torch.device | None = None, trust: bool = False, tmpdir: str | None = None,
                          progress: bool = True, strict: bool = True) -> tuple[list, dict | None] | None:
    """Heavy (FCN, chunked) test of ``checkpoint`` on ``cfg.data.test``.

    Rank 0 returns ``(outputs, metrics)``; metrics are printed (and ``out`` written) only when ``out`` is given,
    as in the original. Other ranks return ``None``.
    """
    from mmaction.datasets import build_dataset
    check_pickle_path(out)
    cfg = copy.deepcopy(cfg)
    if 'data' not in cfg or 'test' not in cfg.data:
        raise ConfigError("config has no 'data.test' entry (the test dataset)")
    cfg.data.test.test_mode = True
    if testfile is not None:
        cfg.data.test.ann_file = testfile
    model = load_model(cfg, checkpoint, device, strict=strict, trust_checkpoint=trust, kind='recognizer',
                       test_data=cfg.data.test)
    _set_fcn_testing(model)
    score_kind = output_kind(model)
    dataset = build_dataset(cfg.data.test)
    loader = inference_loader(dataset, 1, cfg.data.get('workers_per_gpu', 1), distributed)
    pairs = inference(ChunkedViews(model, batch_size), loader, device=next(model.parameters()).device,
                      tmpdir=tmpdir, with_labels=True, progress=progress)
    if pairs is None:
        return None
    outputs = [p[0] for p in pairs]
    metrics = None
    if out is not None:
        write_scores(outputs, out, score_kind, checkpoint=str(checkpoint),
                     ann_file=str(cfg.data.test.get('ann_file')))
        print(f'writing results to {out}')
        # With --use_softmax the probabilities get a second softmax, as in the original.
        metrics = recognition_metrics(outputs, dataset_labels(dataset, [p[1] for p in pairs]),
                                      use_softmax=use_softmax, verbose=True, views=views_per_video(dataset))
    else:
        logging.getLogger('mmaction').info('no --out given: results are not written and metrics are not computed')
    return outputs, metrics
