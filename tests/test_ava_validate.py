"""AVA validation during training: evaluate_detector (the --validate metric for detectors) on the toy data."""
import csv
import json
import os

import numpy as np
import pytest
import torch
import torch.nn as nn

from data_tools.toy.build_toy_ava import build
from mmaction.apis.detection import detection_inference, evaluate_detections, evaluate_detector
from mmaction.datasets import build_dataloader, build_dataset
from mmaction.models import build_detector
from mmaction.utils.config import load_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, 'configs', 'ava', 'toy', 'fast_rcnn_i3d_r18_thin_toy_ava.py')


@pytest.fixture(scope='module')
def toy_cfg(tmp_path_factory):
    root = tmp_path_factory.mktemp('ava_val')
    build(str(root / 'toy_ava'), num_train=1, num_val=2, seconds=3, size=(48, 64), seed=2)
    cfg = load_config(CONFIG)
    for split in ('train', 'val', 'test'):
        for k, v in cfg.data[split].items():
            if isinstance(v, str) and v.startswith('data/'):
                cfg.data[split][k] = v.replace('data/', str(root) + '/')
    cfg.data.workers_per_gpu = 0
    return cfg, root


def _val_loader(cfg):
    val = dict(cfg.data.val, test_mode=True)
    return build_dataloader(build_dataset(val), 1, 0, num_gpus=1, dist=False, shuffle=False)


class _Oracle(nn.Module):
    """Returns every ground-truth box of the key-frame with score 1 in its classes' columns."""

    def __init__(self, ann_file, num_actions):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1))
        self.num_actions = num_actions
        self.gt = {}
        for row in csv.reader(open(ann_file)):
            self.gt.setdefault(f'{row[0]},{int(row[1]):04d}', []).append(([float(v) for v in row[2:6]], int(row[6])))

    def forward(self, return_loss=False, img_meta=None, **unused):
        out = []
        for meta in img_meta:
            meta = meta[0] if isinstance(meta, (list, tuple)) else meta
            per_class = [np.zeros((0, 5), np.float32) for _ in range(self.num_actions)]
            scale = np.array([meta['width'], meta['height']] * 2)
            for box, label in self.gt.get(meta['img_key'], []):
                per_class[label - 1] = np.vstack([per_class[label - 1], np.r_[np.array(box) * scale, 1.0]])
            out.append(per_class)
        return out


def test_evaluate_detector_oracle_scores_one_and_matches_test_path(toy_cfg):
    cfg, _ = toy_cfg
    loader = _val_loader(cfg)
    oracle = _Oracle(cfg.data.val.ann_file, 8)
    assert evaluate_detector(oracle, loader, torch.device('cpu')) == {'mAP@0.5IOU': pytest.approx(1.0)}
    torch.manual_seed(0)
    model = build_detector(cfg.model, train_cfg=None, test_cfg=cfg.test_cfg)
    metrics = evaluate_detector(model, loader, torch.device('cpu'), per_class=True)
    # The same numbers as the test tool's path (inference -> CSV -> ava_eval).
    results = detection_inference(model, loader, len(loader.dataset), torch.device('cpu'))
    ref = evaluate_detections(results, loader.dataset, str(toy_cfg[1] / 'ref.csv'), ['bbox'])
    ref_map = next(v for k, v in ref.items() if k.endswith('mAP@0.5IOU'))
    assert metrics['mAP@0.5IOU'] == pytest.approx(ref_map) and 0 <= ref_map < 1
    assert len(metrics) == len(ref)  # mAP + one AP per class with per_class=True


def test_evaluate_detector_needs_an_ava_dataset(toy_cfg):
    from mmaction.registry import ConfigError

    class _Loader:
        dataset = [1, 2]
    with pytest.raises(ConfigError, match='AVADataset'):
        evaluate_detector(nn.Linear(1, 1), _Loader())


def test_train_network_logs_val_map_with_the_detector_evaluator(toy_cfg, tmp_path, monkeypatch):
    """The runner's evaluate hook with evaluate_detector (the change train_network needs for detectors)."""
    import mmaction.apis.train as train_mod
    from mmaction.apis.test import evaluate_top_k
    cfg, _ = toy_cfg
    cfg.total_epochs, cfg.work_dir = 1, str(tmp_path / 'work')
    cfg.log_config = dict(interval=1, hooks=[dict(type='TextLoggerHook')])
    cfg.lr_config = dict(policy='step', step=[10])

    def dispatch(net, loader, device=None):
        fn = evaluate_detector if hasattr(loader.dataset, 'keyframe_keys') else evaluate_top_k
        return fn(net, loader, device=device)
    monkeypatch.setattr(train_mod, 'evaluate_top_k', dispatch)
    torch.manual_seed(0)
    model = build_detector(cfg.model, train_cfg=cfg.train_cfg, test_cfg=cfg.test_cfg)
    train_mod.train_network(model, build_dataset(cfg.data.train), cfg, validate=True, device=torch.device('cpu'))
    logs = [f for f in os.listdir(cfg.work_dir) if f.endswith('.log.json')]
    records = [json.loads(line) for line in open(os.path.join(cfg.work_dir, logs[0]))]
    val = [r for r in records if r.get('mode') == 'val']
    assert len(val) == 1 and val[0]['epoch'] == 1 and 0 <= val[0]['mAP@0.5IOU'] <= 1
