"""Heavy tester: view chunking gives the scores of one big batch; end-to-end run on the shared sample frames."""
from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from mmaction.apis import heavy_test
from mmaction.apis.heavy_test import ChunkedViews
from mmaction.engine.dist_utils import get_device
from mmaction.models import build_recognizer
from mmaction.utils.checkpoint import save_checkpoint
from mmaction.utils.config import load_config
from mmaction.utils.io import load_pickle

from _tolerances import tolerance  # noqa: E402 (tests/ helper)

TINY_MODEL = dict(
    type='TSN3D',
    backbone=dict(type='ResNet_I3D', depth=18, pretrained=None, num_stages=2, spatial_strides=(1, 2),
                  temporal_strides=(1, 1), dilations=(1, 1), out_indices=(1,), conv1_kernel_t=1, conv1_stride_t=1,
                  pool1_kernel_t=1, pool1_stride_t=1, inflate_freq=(0, 1), no_pool2=True, bn_eval=False),
    spatial_temporal_module=dict(type='SimpleSpatialTemporalModule', spatial_type='avg', temporal_size=-1,
                                 spatial_size=-1),
    segmental_consensus=dict(type='SimpleConsensus', consensus_type='avg'),
    cls_head=dict(type='ClsHead', with_avg_pool=False, temporal_feature_size=1, spatial_feature_size=1,
                  dropout_ratio=0.5, in_channels=128, num_classes=5))


def test_chunking_matches_one_big_batch():
    torch.manual_seed(0)
    model = build_recognizer(TINY_MODEL).eval()
    model.fcn_testing = True
    views = torch.randn(1, 6, 3, 2, 16, 16)
    with torch.no_grad():
        full = ChunkedViews(model, -1)(img_group_0=views)
        direct = model(return_loss=False, img_group_0=views)
        chunks = {b: ChunkedViews(model, b)(img_group_0=views) for b in (1, 2, 3, 4)}  # 4: remainder chunk of 2
        first_two = model(return_loss=False, img_group_0=views[:, :2])
    np.testing.assert_allclose(full, direct, rtol=1e-6)
    for b, out in chunks.items():
        assert out.shape == (1, 5) and out.dtype == np.float32
        np.testing.assert_allclose(out, full, rtol=1e-5, atol=1e-7, err_msg=f'batch_size={b}')
    assert not np.allclose(first_two, full)  # the views really differ, so averaging is exercised
    np.testing.assert_allclose(full.sum(), 1.0, rtol=1e-5)  # FCN probabilities
    with pytest.raises(ValueError, match='testing only'):
        ChunkedViews(model)(return_loss=True, img_group_0=views)


CONFIG = """
model = {model!r}
train_cfg = None
test_cfg = None
dataset_type = 'RawFramesDataset'
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
data = dict(
    videos_per_gpu=1,
    workers_per_gpu=0,
    test=dict(
        type=dataset_type,
        ann_file={ann!r},
        img_prefix={prefix!r},
        img_norm_cfg=img_norm_cfg,
        input_format='NCTHW',
        num_segments=2,
        new_length=2,
        new_step=2,
        random_shift=False,
        modality='RGB',
        image_tmpl='img_{{:05d}}.jpg',
        img_scale=40,
        input_size=40,
        div_255=False,
        flip_ratio=0,
        resize_keep_ratio=True,
        oversample='three_crop',
        random_crop=False,
        more_fix_crop=False,
        multiscale_crop=False,
        test_mode=True))
dist_params = dict(backend='gloo')
"""


def test_heavy_tester_end_to_end_on_sample_frames(samples_dir, tmp_path, capsys):
    prefix = os.path.join(samples_dir, 'tests', 'data')
    ann = tmp_path / 'list.txt'
    ann.write_text('imgs 10 1\nimgs 10 3\n')
    other = tmp_path / 'other.txt'
    other.write_text('imgs 10 4\n')
    cfg_path = tmp_path / 'heavy_cfg.py'
    cfg_path.write_text(CONFIG.format(model=TINY_MODEL, ann=str(ann), prefix=prefix))
    cfg = load_config(str(cfg_path))
    torch.manual_seed(0)
    ckpt = tmp_path / 'tiny.pth'
    save_checkpoint(build_recognizer(cfg.model), str(ckpt))

    out_all = tmp_path / 'all.pkl'
    outputs, metrics = heavy_test.test_recognizer_heavy(cfg, str(ckpt), out=str(out_all), batch_size=-1, progress=False)
    printed = capsys.readouterr().out
    assert 'Top-1 Accuracy' in printed and 'Mean Class Accuracy' in printed
    # 2 clips x 3 crops = 6 views per video; chunks of 4 leave a remainder of 2
    chunked, _ = heavy_test.test_recognizer_heavy(cfg, str(ckpt), out=str(tmp_path / 'c.pkl'), batch_size=4, progress=False)
    saved = load_pickle(str(out_all))
    assert len(saved) == 2 and all(r.shape == (1, 5) and r.dtype == np.float32 for r in saved)
    from mmaction.utils.results import scores_kind
    assert scores_kind(str(out_all)) == 'probabilities'  # FCN testing: the sidecar says so
    on_device = tolerance(get_device())  # chunks of 4 and of 6 views may take other kernels on a GPU
    for a, b in zip(saved, chunked):
        np.testing.assert_allclose(a, b, **on_device)
        np.testing.assert_allclose(a.sum(), 1.0, rtol=1e-5)
    assert set(metrics) == {'mean_class_accuracy', 'top1_acc', 'top5_acc'}
    # --testfile replaces the annotation list; without --out nothing is evaluated
    single, none_metrics = heavy_test.test_recognizer_heavy(cfg, str(ckpt), out=None, testfile=str(other), progress=False)
    assert len(single) == 1 and none_metrics is None
    # the same video gives the same scores whatever list it comes from
    np.testing.assert_allclose(single[0], saved[0], **on_device)
