"""tools/extract_features.py and mmaction.apis.feature_extraction on a toy untrimmed video with tiny models."""
import importlib.util
import json
import os

import numpy as np
import pytest
import torch

from mmaction.apis.feature_extraction import (CachedFrames, extract_video_features, num_windows, pooled_features,
                                              resample_indices)
from mmaction.apis.inference import init_recognizer
from mmaction.datasets.activitynet_dataset import ActivityNetDataset
from mmaction.utils.checkpoint import save_checkpoint
from mmaction.utils.visualization import write_video

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
NORM = "dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)"
TSN2D_CFG = f"""
model = dict(
    type='TSN2D',
    backbone=dict(type='ResNet', depth=18, base_channels=8, pretrained=None, out_indices=(3,), bn_eval=False),
    spatial_temporal_module=dict(type='SimpleSpatialModule', spatial_type='avg', spatial_size=1),
    segmental_consensus=dict(type='SimpleConsensus', consensus_type='avg'),
    cls_head=dict(type='ClsHead', with_avg_pool=False, temporal_feature_size=1, spatial_feature_size=1,
                  dropout_ratio=0.5, in_channels=64, num_classes=4, init_std=0.5))
data = dict(videos_per_gpu=1, workers_per_gpu=0,
            test=dict(type='VideoDataset', ann_file='unused.txt', img_prefix='', img_norm_cfg={NORM},
                      num_segments=2, new_length=1, random_shift=False, modality='RGB', img_scale=32,
                      input_size=32, flip_ratio=0, resize_keep_ratio=True, oversample=None, test_mode=True))
"""
TSN3D_CFG = f"""
model = dict(
    type='TSN3D',
    backbone=dict(type='ResNet_I3D', depth=18, pretrained=None, num_stages=2, spatial_strides=(1, 2),
                  temporal_strides=(1, 1), dilations=(1, 1), out_indices=(1,), conv1_kernel_t=1, conv1_stride_t=1,
                  pool1_kernel_t=1, pool1_stride_t=1, inflate_freq=(0, 1), no_pool2=True, bn_eval=False),
    spatial_temporal_module=dict(type='SimpleSpatialTemporalModule', spatial_type='avg', temporal_size=-1,
                                 spatial_size=-1),
    segmental_consensus=dict(type='SimpleConsensus', consensus_type='avg'),
    cls_head=dict(type='ClsHead', with_avg_pool=False, temporal_feature_size=1, spatial_feature_size=1,
                  dropout_ratio=0.5, in_channels=128, num_classes=5))
data = dict(videos_per_gpu=1, workers_per_gpu=0,
            test=dict(type='VideoDataset', ann_file='unused.txt', img_prefix='', img_norm_cfg={NORM},
                      num_segments=1, new_length=4, new_step=1, random_shift=False, modality='RGB',
                      img_scale=32, input_size=32, flip_ratio=0, resize_keep_ratio=True, oversample=None,
                      input_format='NCTHW', test_mode=True))
"""
NUM_FRAMES, FPS = 45, 10


def load_tool(rel_path):
    path = os.path.join(ROOT, rel_path)
    spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def toy_untrimmed_frames(num_frames=NUM_FRAMES, size=32):
    """Grey background; a red square moves across during frames 15..29 (the 'action')."""
    frames = np.full((num_frames, size, size, 3), 40, np.uint8)
    for t in range(15, min(30, num_frames)):
        x = t - 15
        frames[t, 8:20, x:x + 12] = (220, 50, 40)
    return frames


@pytest.fixture(scope='module')
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp('extract')
    (d / 'tsn2d.py').write_text(TSN2D_CFG)
    (d / 'tsn3d.py').write_text(TSN3D_CFG)
    torch.manual_seed(0)
    save_checkpoint(init_recognizer(str(d / 'tsn2d.py')), str(d / 'tsn2d.pth'), meta=dict(epoch=1))
    save_checkpoint(init_recognizer(str(d / 'tsn3d.py')), str(d / 'tsn3d.pth'), meta=dict(epoch=1))
    (d / 'videos').mkdir()
    write_video(list(toy_untrimmed_frames()), str(d / 'videos' / 'long_a.mp4'), fps=FPS)
    write_video(list(toy_untrimmed_frames(12)), str(d / 'videos' / 'short_b.mp4'), fps=FPS)
    return d


def test_window_count_and_resampling_formulas():
    assert num_windows(45, 8, 4) == (45 - 8) // 4 + 1 == 10
    assert num_windows(45, 45, 4) == 1 and num_windows(5, 8, 4) == 1 and num_windows(48, 16, 16) == 3
    with pytest.raises(ValueError, match='stride'):
        num_windows(10, 4, 0)
    np.testing.assert_array_equal(resample_indices(6, 10.0, None), np.arange(6))
    # 10 fps read at 4 fps: output i shows time i/4 s -> source floor(2.5 i)
    np.testing.assert_array_equal(resample_indices(10, 10.0, 4.0), [0, 2, 5, 7])
    np.testing.assert_array_equal(resample_indices(4, 10.0, 20.0), [0, 0, 1, 1, 2, 2, 3, 3])


class _CountingReader:
    def __init__(self, n):
        self.frames = np.arange(n, dtype=np.uint8)[:, None, None, None] * np.ones((1, 2, 2, 3), np.uint8)
        self.requests = []

    def get_frames(self, idx):
        self.requests.append(list(idx))
        return self.frames[idx]


def test_cached_frames_decode_each_frame_once():
    base = _CountingReader(20)
    frames = CachedFrames(base, resample_indices(20, 10.0, None), 10.0)
    assert frames.get_frames([0, 3, 3, 7])[:, 0, 0, 0].tolist() == [0, 3, 3, 7]
    assert frames.get_frames([3, 7, 9])[:, 0, 0, 0].tolist() == [3, 7, 9]
    assert base.requests == [[0, 3, 7], [9]] and frames.decoded == 4
    frames.forget_before(7)
    assert sorted(frames.cache) == [7, 9]


def test_pooled_features_are_backbone_plus_pooling(env):
    model = init_recognizer(str(env / 'tsn2d.py'), str(env / 'tsn2d.pth'))
    x = torch.randn(2, 3, 3, 32, 32)  # (B, M, C, H, W)
    with torch.no_grad():
        feats = pooled_features(model, x)
        direct = model.backbone(x.reshape(6, 3, 32, 32)).mean(dim=(2, 3)).reshape(2, 3, -1).mean(1)
        logits = model(return_loss=False, img_group_0=x)
        head = model.cls_head.fc_cls(feats).numpy()
    assert feats.shape == (2, 64)
    torch.testing.assert_close(feats, direct, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(head, logits, rtol=1e-5, atol=1e-6)  # the head on our features = the classifier


@pytest.mark.parametrize('cfg,dim', [('tsn2d', 64), ('tsn3d', 128)])
def test_extract_video_features_shapes_and_windows(env, cfg, dim):
    model = init_recognizer(str(env / f'{cfg}.py'), str(env / f'{cfg}.pth'))
    feats, info = extract_video_features(model, str(env / 'videos' / 'long_a.mp4'), window=8, stride=4,
                                         batch_size=3)
    assert feats.shape == (num_windows(NUM_FRAMES, 8, 4), dim) == (10, dim) and feats.dtype == np.float32
    assert info['num_frames'] == NUM_FRAMES and info['feature_frame'] == 9 * 4 + 8
    assert info['fps'] == pytest.approx(FPS) and info['feature_dim'] == dim
    assert info['decoded_frames'] <= NUM_FRAMES
    # the action (frames 15..29) changes the features: window 0 (frames 0..7) vs window 5 (20..27) differ,
    # while the two background-only windows 0 and 1 are (nearly) identical
    assert np.abs(feats[0] - feats[1]).max() < 0.2 * np.abs(feats[0] - feats[5]).max()
    # batching does not change the result
    again, _ = extract_video_features(model, str(env / 'videos' / 'long_a.mp4'), window=8, stride=4, batch_size=10)
    np.testing.assert_allclose(again, feats, rtol=1e-5, atol=1e-6)


def test_extract_at_lower_fps(env):
    model = init_recognizer(str(env / 'tsn2d.py'), str(env / 'tsn2d.pth'))
    feats, info = extract_video_features(model, str(env / 'videos' / 'long_a.mp4'), window=4, stride=2, fps=5.0)
    n = len(resample_indices(NUM_FRAMES, FPS, 5.0))
    assert n == 22 and info['num_frames'] == n and info['fps'] == 5.0
    # 2 segments sampled per 4-frame window: only the sampled frames are decoded, each once
    assert feats.shape == ((n - 4) // 2 + 1, 64) and 0 < info['decoded_frames'] <= n


def test_tool_writes_npy_csv_sidecar_and_activitynet_index(env):
    tool = load_tool('tools/extract_features.py')
    (env / 'list.txt').write_text('# toy videos\nlong_a.mp4 3\nshort_b.mp4\n')
    out = env / 'feats'
    tool.main([str(env / 'tsn2d.py'), str(env / 'tsn2d.pth'), '--video-list', str(env / 'list.txt'),
               '--video-root', str(env / 'videos'), '--out-dir', str(out), '--clip-len', '16', '--stride', '8',
               '--format', 'npy', 'csv'])
    npy = np.load(out / 'long_a.npy')
    assert npy.shape == ((NUM_FRAMES - 16) // 8 + 1, 64) == (4, 64)
    csv = np.loadtxt(out / 'long_a.csv', delimiter=',', skiprows=1, ndmin=2)
    np.testing.assert_allclose(csv, npy, rtol=1e-6, atol=1e-6)
    assert (out / 'long_a.csv').read_text().split('\n')[0].split(',')[:2] == ['f0', 'f1']
    side = json.loads((out / 'long_a.json').read_text())
    assert {k: side[k] for k in ('fps', 'stride', 'window', 'num_frames', 'feature_dim', 'num_windows')} == \
        dict(fps=FPS, stride=8, window=16, num_frames=NUM_FRAMES, feature_dim=64, num_windows=4)
    assert side['config'] == str(env / 'tsn2d.py') and side['checkpoint'] == str(env / 'tsn2d.pth')
    assert np.load(out / 'short_b.npy').shape == (1, 64)  # shorter than one window: one feature
    # the features feed the localizers' dataset as they are
    ds = ActivityNetDataset(str(out / 'video_info.json'), str(out), temporal_scale=8)
    item = ds[0]
    assert item['raw_feature'].shape == (64, 8) and item['gt_bbox'].shape == (0, 2)
    assert item['img_meta']['feature_frame'] == 3 * 8 + 16 and item['img_meta']['duration_frame'] == NUM_FRAMES


def test_tool_bad_list_names_the_line(env):
    tool = load_tool('tools/extract_features.py')
    (env / 'bad.txt').write_text('long_a.mp4\nmissing.mp4\n')
    with pytest.raises(FileNotFoundError, match=r'bad.txt:2: video not found'):
        tool.main([str(env / 'tsn2d.py'), 'none', '--video-list', str(env / 'bad.txt'), '--video-root',
                   str(env / 'videos'), '--out-dir', str(env / 'x')])
