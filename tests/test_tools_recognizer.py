"""tools/train_recognizer.py and tools/test_recognizer.py end to end on a tiny TSN2D (ResNet-18, 2 stages)
and a generated rawframes dataset: checkpoints, logs, printed metrics and the result pickle."""
import importlib.util
import os
import pickle
import re
import subprocess

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config

from _dist_test_helpers import cpu_env, free_port  # noqa: E402 (tests/ helper)
from _tolerances import tolerance  # noqa: E402 (tests/ helper)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUM_VIDEOS, NUM_FRAMES, NUM_CLASSES = 5, 6, 3

CONFIG = '''
model = dict(
    type='TSN2D',
    backbone=dict(type='ResNet', depth=18, pretrained=None, num_stages=2, strides=(1, 2), dilations=(1, 1),
                  out_indices=(1,), bn_eval=False,
                  partial_bn=False),
    spatial_temporal_module=dict(type='SimpleSpatialModule', spatial_type='avg', spatial_size=4),
    segmental_consensus=dict(type='SimpleConsensus', consensus_type='avg'),
    cls_head=dict(type='ClsHead', with_avg_pool=False, temporal_feature_size=1, spatial_feature_size=1,
                  dropout_ratio=0.5, in_channels=128, num_classes={num_classes}))
train_cfg = None
test_cfg = None
img_norm_cfg = dict(mean=[104, 117, 128], std=[58, 57, 57], to_rgb=False)
common = dict(type='RawFramesDataset', ann_file='{root}/list.txt', img_prefix='{root}/frames',
              img_norm_cfg=img_norm_cfg, new_length=1, new_step=1, modality='RGB', image_tmpl='img_{{:05d}}.jpg',
              img_scale=40, input_size=32, div_255=False, resize_keep_ratio=True, random_crop=False,
              more_fix_crop=False)
data = dict(
    videos_per_gpu=2,
    workers_per_gpu=0,
    train=dict(common, num_segments=2, random_shift=True, flip_ratio=0.5, oversample=None, multiscale_crop=True,
               scales=[1, 0.875], max_distort=1, test_mode=False),
    val=dict(common, num_segments=2, random_shift=False, flip_ratio=0, oversample=None, multiscale_crop=False,
             test_mode=False),
    test=dict(common, num_segments=2, random_shift=False, flip_ratio=0, oversample=None, multiscale_crop=False,
              test_mode=True))
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4)
optimizer_config = dict(grad_clip=dict(max_norm=40, norm_type=2))
lr_config = dict(policy='step', step=[1])
checkpoint_config = dict(interval=1)
workflow = [('train', 1)]
log_config = dict(interval=1, hooks=[dict(type='TextLoggerHook')])
total_epochs = 2
dist_params = dict(backend='nccl', port=16187)
log_level = 'INFO'
work_dir = None
load_from = None
resume_from = None
'''


def _load_tool(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, 'tools', f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp('tiny_rawframes')
    rng = np.random.default_rng(0)
    lines = []
    for v in range(NUM_VIDEOS):
        folder = root / 'frames' / f'video_{v}'
        folder.mkdir(parents=True)
        for f in range(1, NUM_FRAMES + 1):
            image = rng.integers(0, 256, size=(40, 48, 3), dtype=np.uint8)
            image[..., v % 3] = 200  # a class-dependent colour channel
            cv2.imwrite(str(folder / f'img_{f:05d}.jpg'), image)
        lines.append(f'video_{v} {NUM_FRAMES} {v % NUM_CLASSES}')
    (root / 'list.txt').write_text('\n'.join(lines) + '\n')
    config = root / 'tsn_tiny.py'
    config.write_text(CONFIG.format(root=root, num_classes=NUM_CLASSES))
    work = root / 'work'
    _load_tool('train_recognizer').main([str(config), '--work_dir', str(work), '--seed', '0', '--validate'])
    return root, config, work


def test_train_tool_writes_checkpoints_and_logs(setup):
    root, config, work = setup
    files = sorted(os.listdir(work))
    assert [f for f in files if f.endswith('.pth')] == ['epoch_1.pth', 'epoch_2.pth', 'latest.pth']
    logs = [f for f in files if re.fullmatch(r'\d{8}_\d{6}\.log', f)]
    assert len(logs) == 1 and logs[0] + '.json' in files
    text = (work / logs[0]).read_text()
    assert 'Epoch [1][1/3]' in text and 'Epoch(val) [2]' in text  # 5 videos / 2 per batch = 3 iterations
    import json
    records = [json.loads(line) for line in (work / (logs[0] + '.json')).read_text().splitlines()]
    train = [r for r in records if r['mode'] == 'train']
    val = [r for r in records if r['mode'] == 'val']
    assert len(train) == 6 and len(val) == 2
    assert train[0]['lr'] == pytest.approx(0.01) and train[-1]['lr'] == pytest.approx(0.001)
    assert {'loss_cls', 'loss', 'grad_norm', 'time', 'data_time'} <= set(train[0])
    assert all(0.0 <= r['top1 acc'] <= r['top5 acc'] == 1.0 for r in val)  # 3 classes: top-5 always hits
    ckpt = torch.load(work / 'latest.pth', weights_only=True)
    assert ckpt['meta']['epoch'] == 2 and "type='TSN2D'" in ckpt['meta']['config']
    assert 'backbone.conv1.weight' in ckpt['state_dict'] and 'cls_head.fc_cls.weight' in ckpt['state_dict']


def _expected_scores(config, checkpoint):
    from mmaction.datasets import build_dataset
    from mmaction.models import build_recognizer
    from mmaction.utils import load_checkpoint
    cfg = Config.fromfile(str(config))
    model = build_recognizer(cfg.model)
    load_checkpoint(model, str(checkpoint), strict=True)
    model.eval()
    dataset = build_dataset(cfg.data.test)
    from mmaction.datasets import collate
    with torch.no_grad():
        return [model(return_loss=False, **collate([dataset[i]])) for i in range(len(dataset))]


def test_test_tool_prints_metrics_and_writes_ordered_pickle(setup, tmp_path, capsys):
    root, config, work = setup
    out = tmp_path / 'result.pkl'
    _load_tool('test_recognizer').main([str(config), str(work / 'latest.pth'), '--out', str(out)])
    printed = capsys.readouterr().out
    assert 'Averaging score over 2 views per video without softmax'  # 2 segments x 1 crop in printed
    values = {name: float(v) for name, v in re.findall(r'(Mean Class Accuracy|Top-1 Accuracy|Top-5 Accuracy) = '
                                                       r'(\d+\.\d\d)\n', printed)}
    assert set(values) == {'Mean Class Accuracy', 'Top-1 Accuracy', 'Top-5 Accuracy'}
    with open(out, 'rb') as f:
        results = pickle.load(f)
    assert isinstance(results, list) and len(results) == NUM_VIDEOS
    from mmaction.utils.results import scores_kind
    assert scores_kind(str(out)) == 'logits'  # the <out>.meta.json sidecar
    expected = _expected_scores(config, work / 'latest.pth')  # float32 on the CPU
    from mmaction.apis import get_device
    for got, want in zip(results, expected):  # the tool ran on the device present, TF32 on (docs/gpu.md)
        assert got.dtype == np.float32 and got.shape == (1, NUM_CLASSES)
        np.testing.assert_allclose(got, want, **tolerance(get_device()))
    labels = np.arange(NUM_VIDEOS) % NUM_CLASSES
    top1 = np.mean(np.concatenate(results).argmax(1) == labels) * 100
    assert values['Top-1 Accuracy'] == pytest.approx(round(top1, 2))
    assert values['Top-5 Accuracy'] == 100.0

    _load_tool('test_recognizer').main([str(config), str(work / 'latest.pth'), '--out', str(out), '--use_softmax'])
    assert 'Averaging score over 2 views per video with softmax' in capsys.readouterr().out


def test_test_tool_rejects_bad_out(setup):
    root, config, work = setup
    with pytest.raises(SystemExit):
        _load_tool('test_recognizer').main([str(config), str(work / 'latest.pth'), '--out', 'result.json'])


def test_three_crop_override_only_for_fixed_size_modules():
    from mmaction.apis import apply_three_crop_override
    cfg = Config(dict(model=dict(spatial_temporal_module=dict(type='SimpleSpatialTemporalModule', spatial_size=7,
                                                              temporal_size=4)),
                      data=dict(test=dict(oversample='three_crop'))))
    assert apply_three_crop_override(cfg) and cfg.model.spatial_temporal_module.spatial_size == 8
    cfg.model.spatial_temporal_module.spatial_size = 7
    assert not apply_three_crop_override(cfg, fcn_testing=True)  # FCN testing bypasses the module
    cfg.model.spatial_temporal_module.update(spatial_size=-1, temporal_size=-1)
    assert not apply_three_crop_override(cfg) and cfg.model.spatial_temporal_module.spatial_size == -1
    cfg.data.test.oversample = 'ten_crop'
    cfg.model.spatial_temporal_module.spatial_size = 7
    assert not apply_three_crop_override(cfg) and cfg.model.spatial_temporal_module.spatial_size == 7
    # SlowFast pools adaptively to (1, 1, 1): its sizes are output sizes, never a window to enlarge
    cfg = Config(dict(model=dict(spatial_temporal_module=dict(type='SlowFastSpatialTemporalModule', adaptive_pool=True,
                                                              spatial_size=1, temporal_size=1)),
                      data=dict(test=dict(oversample='three_crop'))))
    assert not apply_three_crop_override(cfg) and cfg.model.spatial_temporal_module.spatial_size == 1


def test_resume_and_auto_resume_continue_the_run(setup, tmp_path):
    root, config, work = setup
    resumed = tmp_path / 'resumed'
    train = _load_tool('train_recognizer')
    train.main([str(config), '--work_dir', str(resumed), '--resume_from', str(work / 'epoch_1.pth'),
                '--seed', '0'])
    assert torch.load(resumed / 'latest.pth', weights_only=True)['meta']['epoch'] == 2
    assert not (resumed / 'epoch_1.pth').exists()
    # --auto-resume finds epoch_2 = total_epochs: nothing left to train, no new checkpoint
    mtime = os.path.getmtime(resumed / 'epoch_2.pth')
    train.main([str(config), '--work_dir', str(resumed), '--auto-resume', '--cfg-options', 'total_epochs=2'])
    assert os.path.getmtime(resumed / 'epoch_2.pth') == mtime


@pytest.mark.slow
def test_dist_wrappers_two_cpu_processes(setup, tmp_path):
    """dist_train_recognizer.sh and dist_test_recognizer.sh with 2 CPU processes: same pickle as 1 process."""
    root, config, work = setup
    env = cpu_env()
    dist_work = tmp_path / 'dist_work'
    proc = subprocess.run(['bash', os.path.join(ROOT, 'tools', 'dist_train_recognizer.sh'), str(config), '2',
                           '--work_dir', str(dist_work), '--seed', '0', '--cfg-options', 'total_epochs=1'],
                          env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-6000:]
    assert (dist_work / 'epoch_1.pth').is_file()
    env['PORT'] = str(free_port())
    proc = subprocess.run(['bash', os.path.join(ROOT, 'tools', 'dist_test_recognizer.sh'), str(config),
                           str(work / 'latest.pth'), '2', '--out', str(tmp_path / 'dist.pkl')],
                          env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-6000:]
    assert proc.stdout.count('Top-1 Accuracy = ') == 1  # printed by rank 0 only
    with open(tmp_path / 'dist.pkl', 'rb') as f:
        results = pickle.load(f)
    expected = _expected_scores(config, work / 'latest.pth')
    assert len(results) == NUM_VIDEOS  # 5 videos over 2 ranks: no duplicates, no padding
    for got, want in zip(results, expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_fcn_testing_flag_gives_probabilities(setup, tmp_path, capsys):
    root, config, work = setup
    out = tmp_path / 'fcn.pkl'
    _load_tool('test_recognizer').main([str(config), str(work / 'latest.pth'), '--out', str(out), '--fcn_testing'])
    with open(out, 'rb') as f:
        results = pickle.load(f)
    assert len(results) == NUM_VIDEOS
    for row in results:  # FCN testing averages softmax probabilities: each row sums to 1
        assert row.shape == (1, NUM_CLASSES) and row.min() >= 0
        assert row.sum() == pytest.approx(1.0, abs=1e-5)
    from mmaction.utils.results import scores_kind
    assert scores_kind(str(out)) == 'probabilities'
