"""The one inference loop (engine/test_loop.inference), the one model-loading path (apis/model_loading.load_model)
and the score sidecar (utils/results.write_scores / scores_kind)."""
import json
import os
import pickle

import numpy as np
import pytest
import torch
import torch.nn as nn

from mmaction.apis.model_loading import load_model, output_kind
from mmaction.engine import dist_utils, test_loop
from mmaction.engine.test_loop import inference, inference_loader
from mmaction.utils.checkpoint import CheckpointError, save_checkpoint
from mmaction.utils.results import describe_score_kinds, scores_kind, write_scores


class Doubler(nn.Module):
    """Test-mode output ``(B, 2)``: ``[2 * x, label]`` per sample, so the order of the results is visible."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(2.0))

    def forward(self, return_loss=False, img_group_0=None, gt_label=None, **kwargs):
        return torch.stack([self.scale * img_group_0[:, 0], gt_label[:, 0].float()], dim=1)


def _samples(n):
    return [dict(img_group_0=torch.tensor([float(i)]), gt_label=torch.tensor([i % 3]), img_meta=dict(i=i))
            for i in range(n)]


def test_loop_gives_rows_and_labels_in_dataset_order():
    pairs = inference(Doubler(), inference_loader(_samples(5), batch_size=2), with_labels=True, progress=False)
    assert [p[1] for p in pairs] == [0, 1, 2, 0, 1]
    for i, (row, _) in enumerate(pairs):
        assert row.dtype == np.float32 and row.shape == (1, 2)
        np.testing.assert_array_equal(row, [[2.0 * i, i % 3]])


def test_loop_runs_a_task_step_and_checks_one_result_per_sample():
    def names(model, batch):
        return [meta['i'] * 10 for meta in batch['img_meta']]
    assert inference(Doubler(), inference_loader(_samples(3), batch_size=2), step=names, progress=False) == [0, 10, 20]

    def one_per_batch(model, batch):
        return ['x']
    with pytest.raises(RuntimeError, match='ranks returned \\[2\\] results, expected \\[3\\]'):
        inference(Doubler(), inference_loader(_samples(3), batch_size=2), step=one_per_batch, progress=False)


def test_loop_splits_over_ranks_and_gathers_in_order(monkeypatch, tmp_path):
    """Two ranks simulated one after the other: the test sampler gives rank r the indices r, r+2, ...; the
    parts meet in ``tmpdir`` and rank 0 gets every result in dataset order."""
    from mmaction.datasets import builder
    got = {}
    for rank in (1, 0):  # rank 0 last: it merges the parts
        monkeypatch.setattr(builder, '_dist_info', lambda rank=rank: (rank, 2))
        monkeypatch.setattr(test_loop, 'get_dist_info', lambda rank=rank: (rank, 2))
        monkeypatch.setattr(dist_utils, 'get_dist_info', lambda rank=rank: (rank, 2))
        loader = inference_loader(_samples(5), distributed=True)
        assert list(loader.sampler) == list(range(rank, 5, 2))
        got[rank] = inference(Doubler(), loader, tmpdir=str(tmp_path / 'parts'), progress=False)
    assert got[1] is None
    np.testing.assert_array_equal(np.concatenate(got[0])[:, 0], 2.0 * np.arange(5))


def test_score_sidecar(tmp_path):
    rows = [np.array([[0.5, -1.0]], np.float32), np.array([[2.0, 1.0]], np.float32)]
    logits, probs = str(tmp_path / 'a.pkl'), str(tmp_path / 'b.pkl')
    write_scores(rows, logits, 'logits', checkpoint='c.pth')
    write_scores(rows, probs, 'probabilities')
    with open(logits, 'rb') as f:  # the original pickle format: a list of (1, C) float32 arrays
        saved = pickle.load(f)
    assert isinstance(saved, list) and all(r.shape == (1, 2) and r.dtype == np.float32 for r in saved)
    with open(logits + '.meta.json') as f:
        assert json.load(f) == dict(scores='logits', num_videos=2, num_classes=2, checkpoint='c.pth')
    assert scores_kind(logits) == 'logits' and scores_kind(probs) == 'probabilities'
    assert scores_kind(str(tmp_path / 'none.pkl')) is None  # original tools' pickles have no sidecar
    assert describe_score_kinds([logits], softmax=True) == []
    assert 'second time' in describe_score_kinds([probs], softmax=True)[0]
    assert 'fusing logits with probabilities' in describe_score_kinds([logits, probs], softmax=False)[0]
    with pytest.raises(ValueError, match='kind must be one of'):
        write_scores(rows, logits, 'scores')
    with open(probs + '.meta.json', 'w') as f:
        json.dump({'scores': 'softmax'}, f)
    with pytest.raises(ValueError, match='b.pkl.meta.json.*"scores" must be one of'):
        scores_kind(probs)


TINY = dict(type='TSN2D',
            backbone=dict(type='ResNet', depth=18, pretrained='/nonexistent/weights.pth', num_stages=1,
                          strides=(1,), dilations=(1,), out_indices=(0,), base_channels=8),
            spatial_temporal_module=dict(type='SimpleSpatialModule', spatial_type='avg', spatial_size=1),
            segmental_consensus=dict(type='SimpleConsensus', consensus_type='avg'),
            cls_head=dict(type='ClsHead', with_avg_pool=True, temporal_feature_size=1, spatial_feature_size=1,
                          dropout_ratio=0, in_channels=8, num_classes=3))


def test_load_model_strict_by_default(tmp_path):
    from mmengine.config import Config
    from mmaction.models import build_recognizer
    cfg = Config(dict(model=TINY))
    source = build_recognizer(dict(TINY, backbone=dict(TINY['backbone'], pretrained=None)))
    full, partial = str(tmp_path / 'full.pth'), str(tmp_path / 'partial.pth')
    save_checkpoint(source, full, meta=dict(CLASSES=['a', 'b', 'c']))
    state = {k: v for k, v in source.state_dict().items() if not k.startswith('cls_head')}
    torch.save({'state_dict': state}, partial)

    # the backbone's pretrained file is not read when a checkpoint is given (it would be overwritten)
    model = load_model(cfg, full, 'cpu')
    assert not model.training and model.cfg is not cfg and model.CLASSES == ['a', 'b', 'c']
    assert output_kind(model) == 'logits'
    for key, value in source.state_dict().items():
        torch.testing.assert_close(model.state_dict()[key], value)
    with pytest.raises(CheckpointError, match='cls_head'):
        load_model(cfg, partial, 'cpu')
    loose = load_model(cfg, partial, 'cpu', strict=False)  # --non-strict: the differences become a warning
    torch.testing.assert_close(loose.backbone.conv1.weight, source.backbone.conv1.weight)
    with pytest.raises(ValueError, match="kind must be"):
        load_model(cfg, full, 'cpu', kind='segmenter')
    assert os.path.isfile(full)
