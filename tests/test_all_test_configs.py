"""Every recognizer test config of §4.5 runs through ``tools/dist_test_recognizer.sh`` (2 CPU processes) with
weights saved by our own ``tools/train_recognizer.py``.

For each file of ``test_configs/{TSN,I3D_RGB,I3D_Flow,SlowOnly,SlowFast,R2plus1D,CSN}`` (recursively):
1. one training iteration on two sample clips: the test config plus ``--cfg-options`` adding an optimizer, an lr
   schedule, ``total_epochs`` and a ``data.train`` copied from ``data.test`` (test_mode=False, no oversampling);
2. ``bash tools/dist_test_recognizer.sh CONFIG CKPT 2 --out x.pkl`` on five listed sample clips, shrunk with
   ``--cfg-options`` (one clip of a few frames, 64-pixel crops, the config's own crop scheme): plain for the 2D TSN
   configs, ``--fcn_testing`` for the 3D three-crop configs (as the original model zoo tested them);
3. the configs the original documented for the heavy tester (CSN, R(2+1)D, I3D-Inception) also go through
   ``dist_test_recognizer_heavy.sh``, whose FCN softmax average must equal the ``--fcn_testing`` scores;
4. for two configs a 1-process run of tools/test_recognizer.py gives the same rows (dataset order is kept).

The five test videos are the sample frames rotated by the video index (so rows differ); flow configs read the
sample ``x_/y_`` pairs under the names each config expects. Shrinking notes: fixed
2D pooling windows become 2 (the 2x2 map of a 64 crop at stride 32) and the fixed I3D-R50 3D window becomes adaptive;
pooling has no weights, so the checkpoints load unchanged. Marked slow; prints each config's runtime.
"""
from __future__ import annotations

import glob
import os
import sys
import time

import numpy as np
import pytest
from mmengine.config import Config

from _dist_test_helpers import (LABELS, REPO, check_metrics, check_weights_loaded, load_scores, rotated_videos, run,
                                train)

FAMILIES = ('TSN', 'I3D_RGB', 'I3D_Flow', 'SlowOnly', 'SlowFast', 'R2plus1D', 'CSN')
CONFIGS = sorted(os.path.relpath(p, REPO) for family in FAMILIES
                 for p in glob.glob(os.path.join(REPO, 'test_configs', family, '**', '*.py'), recursive=True))
CROP = 64
# Families the original README tested with test_recognizer_heavy.py (big 3D models).
HEAVY = ('CSN', 'R2plus1D', 'inception_v1')
# Also compared against a single-process run (the 2-process run must keep dataset order).
SINGLE = ('test_configs/TSN/ucf101/tsn_flow_bninception.py',
          'test_configs/CSN/ircsn_kinetics400_se_rgb_r152_seg1_32x2.py')


def _clip(config: str, test: dict) -> dict:
    """Few frames per clip (the sample has 10 RGB frames / 5 flow pairs), fitting each network's time strides."""
    if test['modality'] == 'Flow':
        # TSN stacks new_length flow pairs as channels (10 for 5 pairs); I3D-Flow takes a 4-frame clip.
        return dict(new_length=5 if 'TSN' in config else 4, new_step=1)
    if 'TSN' in config:
        return dict(new_length=1, new_step=1)
    if 'CSN' in config:
        return dict(new_length=2, new_step=1)  # R152: the smallest clip (temporal strides pad to 1)
    if test['new_length'] == 4:  # SlowOnly 4x16: keep 4 frames, step 2 spans 8 of the 10
        return dict(new_length=4, new_step=2)
    return dict(new_length=8, new_step=1)


def _flatten(prefix: str, value) -> list[str]:
    """``--cfg-options`` items setting the (nested) dict ``value`` at the dotted key ``prefix``."""
    if isinstance(value, dict):
        return [item for k, v in value.items() for item in _flatten(f'{prefix}.{k}', v)]
    if isinstance(value, (list, tuple)):
        return [f'{prefix}=[{",".join(str(v) for v in value)}]']
    return [f'{prefix}={value}']


def _model_options(config: str, cfg: Config) -> list[str]:
    # No ImageNet download: train from scratch (SlowFast's pathways carry no top-level ``pretrained``).
    options = ['model.backbone.pretrained=None'] if 'pretrained' in cfg.model.backbone else []
    module = cfg.model.get('spatial_temporal_module') or {}
    if module.get('type') == 'SimpleSpatialModule':
        options.append('model.spatial_temporal_module.spatial_size=2')
    elif module.get('type') == 'SimpleSpatialTemporalModule' and module.get('spatial_size') != -1:
        options += ['model.spatial_temporal_module.spatial_size=-1', 'model.spatial_temporal_module.temporal_size=-1']
    return options


def _train_options(cfg: Config, ann: str, prefix: str, clip: dict) -> list[str]:
    train_set = dict(cfg.data.test, ann_file=ann, img_prefix=prefix, num_segments=1, img_scale=CROP,
                     input_size=CROP, oversample=None, random_shift=True, flip_ratio=0.5, test_mode=False, **clip)
    return ['optimizer.type=SGD', 'optimizer.lr=0.01', 'optimizer.momentum=0.9', 'optimizer.weight_decay=0.0001',
            'lr_config.policy=step', 'lr_config.step=[1]', 'checkpoint_config.interval=1', 'data.videos_per_gpu=2',
            *_flatten('data.train', train_set)]


def _test_options(ann: str, prefix: str, clip: dict) -> list[str]:
    return [f'data.test.ann_file={ann}', f'data.test.img_prefix={prefix}', 'data.test.num_segments=1',
            f'data.test.img_scale={CROP}', f'data.test.input_size={CROP}', 'data.workers_per_gpu=0',
            *[f'data.test.{k}={v}' for k, v in clip.items()]]


@pytest.mark.slow
@pytest.mark.parametrize('config', CONFIGS)
def test_config_runs_through_dist_test(config, tmp_path, samples_dir):
    start = time.time()
    cfg = Config.fromfile(os.path.join(REPO, config))
    test = cfg.data.test
    num_classes = cfg.model.cls_head.num_classes
    flow = test.modality == 'Flow'
    test_ann, prefix = rotated_videos(tmp_path, samples_dir, LABELS, test.image_tmpl, flow)
    train_ann, _ = rotated_videos(tmp_path, samples_dir, LABELS[:2], test.image_tmpl, flow, 'train')
    clip = _clip(config, test)
    model_options = _model_options(config, cfg)

    ckpt = train(tmp_path, config, [*model_options, *_train_options(cfg, train_ann, prefix, clip)])
    options = ['--cfg-options', *model_options, *_test_options(test_ann, prefix, clip)]
    three_d = cfg.model.type == 'TSN3D'
    fcn = ['--fcn_testing'] if three_d else []
    dist_out = str(tmp_path / 'dist.pkl')
    output = run(['bash', 'tools/dist_test_recognizer.sh', config, ckpt, '2', '--out', dist_out, *fcn, *options])
    check_weights_loaded(output, ckpt)
    scores = load_scores(dist_out, len(LABELS), num_classes)
    check_metrics(output, scores, LABELS)
    if three_d:  # FCN testing averages softmax probabilities: each row is a distribution
        for s in scores:
            assert s.min() >= 0 and abs(float(s.sum()) - 1.0) < 1e-4

    if any(key in config for key in HEAVY):
        heavy_out = str(tmp_path / 'heavy.pkl')
        output = run(['bash', 'tools/dist_test_recognizer_heavy.sh', config, ckpt, '2', '--out', heavy_out,
                      '--batch_size', '2', *options])
        check_weights_loaded(output, ckpt)
        heavy = load_scores(heavy_out, len(LABELS), num_classes)
        check_metrics(output, heavy, LABELS)
        for h, s in zip(heavy, scores):  # same views, same FCN softmax average; only the view batching differs
            np.testing.assert_allclose(h, s, rtol=1e-4, atol=1e-6)

    if config in SINGLE:
        single_out = str(tmp_path / 'single.pkl')
        output = run([sys.executable, 'tools/test_recognizer.py', config, ckpt, '--out', single_out, *fcn, *options])
        check_weights_loaded(output, ckpt)
        # The videos differ (rotated frames), so row-by-row agreement means the 2-process run kept dataset order.
        assert not np.allclose(scores[0], scores[1], rtol=0, atol=1e-7)
        for d, s in zip(scores, load_scores(single_out, len(LABELS), num_classes)):
            np.testing.assert_allclose(d, s, rtol=1e-4, atol=1e-6)
    print(f'\n{config}: {time.time() - start:.1f} s')


def test_every_family_has_configs():
    """The parametrization covers every file of §4.5's recognizer rows (a missing folder would shrink it)."""
    counts = {family: sum(c.split(os.sep)[1] == family for c in CONFIGS) for family in FAMILIES}
    assert counts == {'TSN': 3, 'I3D_RGB': 4, 'I3D_Flow': 3, 'SlowOnly': 3, 'SlowFast': 1, 'R2plus1D': 2, 'CSN': 2}
