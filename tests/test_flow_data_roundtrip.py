"""Optical flow written by data_tools/build_rawframes.py is read directly by the datasets (TSN and I3D flow layouts)."""
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from mmaction.datasets import build_dataset
from mmaction.models import build_recognizer

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
sys.path.insert(0, REPO)


@pytest.fixture(scope='module')
def flow_root(tmp_path_factory):
    from data_tools.media import write_h264
    from data_tools.toy.generator import render_clip
    root = tmp_path_factory.mktemp('flow')
    os.makedirs(root / 'src')
    write_h264(str(root / 'src' / 'clip.mp4'), render_clip(0, 12, (64, 80), np.random.default_rng(0)))
    for naming, out in (('flow_x', 'tsn'), ('x', 'i3d')):
        subprocess.run([sys.executable, os.path.join(REPO, 'data_tools/build_rawframes.py'), str(root / 'src'),
                        str(root / out), '--task', 'flow', '--level', '1', '--ext', 'mp4', '--num-workers', '1',
                        '--flow-type', 'farneback', '--flow-naming', naming], check=True, capture_output=True)
    return root


def _flow_dataset(root, prefix: str, tmpl: str, layout: str, new_length: int) -> object:
    ann = root / f'{prefix}_list.txt'
    num_pairs = len([n for n in os.listdir(root / prefix / 'clip') if 'x_' in n])
    ann.write_text(f'clip {num_pairs} 3\n')
    return build_dataset(dict(
        type='RawFramesDataset', ann_file=str(ann), img_prefix=str(root / prefix),
        img_norm_cfg=dict(mean=[128, 128], std=[1, 1], to_rgb=False), num_segments=2, new_length=new_length,
        new_step=1, random_shift=False, modality='Flow', image_tmpl=tmpl, img_scale=64, input_size=56,
        flip_ratio=0, resize_keep_ratio=True, oversample=None, multiscale_crop=False, test_mode=True,
        input_format=layout))


def test_tsn_flow_layout_reads_build_rawframes_output(flow_root):
    names = sorted(os.listdir(flow_root / 'tsn' / 'clip'))
    assert names[:2] == ['flow_x_00001.jpg', 'flow_x_00002.jpg'] and len(names) == 22  # 11 pairs from 12 frames
    dataset = _flow_dataset(flow_root, 'tsn', 'flow_{}_{:05d}.jpg', 'NCHW', new_length=5)
    item = dataset[0]
    imgs = item['img_group_0']
    assert tuple(imgs.shape) == (2 * 5, 2, 56, 56) and int(item['gt_label']) == 3
    # test-mode offsets: tick = (11 - 5 + 1) / 2 = 3.5 -> int(1.75) = 1, int(5.25) = 5 -> 1-based frames 2 and 6
    for row, frame in ((0, 2), (4, 6), (5, 6), (9, 10)):
        x = cv2.imread(str(flow_root / 'tsn' / 'clip' / f'flow_x_{frame:05d}.jpg'), cv2.IMREAD_GRAYSCALE)
        y = cv2.imread(str(flow_root / 'tsn' / 'clip' / f'flow_y_{frame:05d}.jpg'), cv2.IMREAD_GRAYSCALE)
        crop = (slice(4, 60), slice(12, 68))  # centre 56x56 crop of 64x80
        # the original inverts every x image (v0 reference §5.3), then subtracts the mean 128
        np.testing.assert_allclose(imgs[row, 0].numpy(), 255.0 - x[crop] - 128.0)
        np.testing.assert_allclose(imgs[row, 1].numpy(), y[crop] - 128.0)
    # the TSN flow model takes the 5 stacked pairs as 10 channels
    model = build_recognizer(dict(
        type='TSN2D', modality='Flow', in_channels=10,
        backbone=dict(type='ResNet', depth=18, base_channels=8, out_indices=(3,), pretrained=None),
        spatial_temporal_module=dict(type='SimpleSpatialModule', spatial_type='avg', spatial_size=2),
        segmental_consensus=dict(type='SimpleConsensus', consensus_type='avg'),
        cls_head=dict(type='ClsHead', with_avg_pool=False, temporal_feature_size=1, spatial_feature_size=1,
                      dropout_ratio=0.5, in_channels=64, num_classes=5)))
    model.eval()
    with torch.no_grad():
        scores = model(img_group_0=imgs[None], return_loss=False)
    assert scores.shape == (1, 5)


def test_i3d_flow_layout_reads_x_y_naming(flow_root):
    assert os.path.isfile(flow_root / 'i3d' / 'clip' / 'x_00001.jpg')
    dataset = _flow_dataset(flow_root, 'i3d', '{}_{:05d}.jpg', 'NCTHW', new_length=4)
    imgs = dataset[0]['img_group_0']
    assert tuple(imgs.shape) == (2, 2, 4, 56, 56)  # clips x (x, y) x T x H x W
    y = cv2.imread(str(flow_root / 'i3d' / 'clip' / 'y_00003.jpg'), cv2.IMREAD_GRAYSCALE)
    # tick = (11 - 4 + 1) / 2 = 4 -> offsets int(2) = 2 -> frames 3..6 for the first clip
    np.testing.assert_allclose(imgs[0, 1, 0].numpy(), y[4:60, 12:68] - 128.0)
