"""AVADataset: annotation grouping, clip sampling, proposals, box transforms under resize/crop/flip."""
import os
import shutil

import cv2
import numpy as np
import pytest
import torch

from mmaction.datasets import build_dataset
from mmaction.datasets.ava_dataset import load_ava_csv, load_video_stats
from mmaction.datasets.pipelines.augmentations import rescale_size
from mmaction.registry import ConfigError

VIDS = ('0f39OWEqJ24', '_-Z6wFjXtGQ')


@pytest.fixture()
def ava_root(tmp_path, samples_dir):
    src = os.path.join(samples_dir, 'tests', 'data', 'ava_dataset')
    for name in os.listdir(src):
        shutil.copy(os.path.join(src, name), tmp_path / name)
    # Frame k of each video is a flat image of value k (png: lossless), 40 wide x 30 high.
    for vid in VIDS:
        os.makedirs(tmp_path / 'frames' / vid)
        for k in range(1, 21):
            cv2.imwrite(str(tmp_path / 'frames' / vid / f'img_{k:05d}.png'), np.full((30, 40, 3), k, np.uint8))
    with open(tmp_path / 'stats.txt', 'w') as f:
        f.write(f'{VIDS[0]} 40x30\n{VIDS[1]} 40x30\n')
    return tmp_path


def _ds(root, **kw):
    args = dict(ann_file=str(root / 'ava_sample.csv'), exclude_file=str(root / 'ava_excluded_timestamps_sample.csv'),
                label_file=str(root / 'action_list.txt'), video_stat_file=str(root / 'stats.txt'),
                proposal_file=str(root / 'ava_proposals_sample.pkl'), img_prefix=str(root / 'frames'),
                image_tmpl='img_{:05d}.png', img_norm_cfg=dict(mean=[0, 0, 0], std=[1, 1, 1], to_rgb=True),
                fps=4, timestamp_start=900, new_length=4, new_step=2, random_shift=False, img_scale=(40, 30),
                input_format='NCTHW', flip_ratio=0.0, with_label=True)
    args.update(kw)
    return build_dataset(dict(type='AVADataset', **args))  # the original flag form, translated at build time


def test_csv_grouping(samples_dir):
    ann = load_ava_csv(os.path.join(samples_dir, 'tests/data/ava_dataset/ava_sample.csv'))
    assert list(ann) == ['0f39OWEqJ24,0902', '0f39OWEqJ24,0903', '_-Z6wFjXtGQ,0902']
    a = ann['0f39OWEqJ24,0902']
    assert a['bboxes'].shape == (1, 4) and a['labels'].shape == (1, 81)
    assert a['labels'][0, :4].tolist() == [12, 17, 79, -1]
    np.testing.assert_allclose(a['bboxes'][0], [0.031, 0.162, 0.670, 0.995], rtol=1e-6)
    custom = load_ava_csv(os.path.join(samples_dir, 'tests/data/ava_dataset/ava_sample.csv'), 4,
                          {12: 1, 17: 2, 79: 3})
    assert custom['_-Z6wFjXtGQ,0902']['labels'][0].tolist() == [1, -1, -1, -1]


def test_train_item(ava_root):
    ds = _ds(ava_root)
    # The two excluded key-frames are dropped in training.
    assert [i['img_key'] for i in ds.video_infos] == ['0f39OWEqJ24,0902']
    item = ds[0]
    img = item['img_group_0']
    assert img.shape == (1, 3, 4, 30, 40)
    # Key-frame 902 -> centre 4 * 2 + 1 = 9; clip 9 + (-2, -1, 0, 1) * 2 = 5, 7, 9, 11.
    assert img[0, 0, :, 0, 0].tolist() == [5, 7, 9, 11]
    np.testing.assert_allclose(item['gt_bboxes'].numpy(), [[0.031 * 40, 0.162 * 30, 0.670 * 40, 0.995 * 30]],
                               rtol=1e-5)
    np.testing.assert_allclose(item['proposals'].numpy(), [[0.011 * 40, 0.157 * 30, 0.655 * 40, 0.983 * 30,
                                                            0.998163]], rtol=1e-5)
    assert item['gt_labels'][0, :3].tolist() == [12, 17, 79]
    assert item['img_meta']['img_key'] == '0f39OWEqJ24,0902'


def test_resize_crop_flip_move_boxes(ava_root):
    ds = _ds(ava_root, img_scale=(80, 60), input_size=50, flip_ratio=1.0, size_divisor=32)
    item = ds[0]
    assert item['img_group_0'].shape == (1, 3, 4, 64, 64)  # 50x50 crop padded to 64
    meta = item['img_meta']
    assert meta['flip'] and meta['img_shape'] == (50, 50, 3) and meta['pad_shape'] == (64, 64, 3)
    np.testing.assert_allclose(meta['crop_quadruple'], [15, 5, 50, 50])
    x1, y1, x2, y2 = 0.031 * 80 - 15, 0.162 * 60 - 5, 0.670 * 80 - 15, 0.995 * 60 - 5
    x1, y1, x2, y2 = max(x1, 0), y1, min(x2, 49), min(y2, 49)
    np.testing.assert_allclose(item['gt_bboxes'][0].numpy(), [50 - x2 - 1, y1, 50 - x1 - 1, y2], rtol=1e-5)
    # The padded margin is zero, the image is flipped (flat frames: value unchanged).
    assert item['img_group_0'][0, 0, 0, 60:, :].abs().sum() == 0


def test_test_mode_views_and_missing_proposals(ava_root):
    ds = _ds(ava_root, test_mode=True, img_scale=[(40, 30), (80, 60)], flip_ratio=0.5, proposal_file=None,
             with_label=False)
    assert len(ds) == 3  # test keeps excluded key-frames
    item = ds[1]
    assert len(item['img_group_0']) == 4 and [m['flip'] for m in item['img_meta']] == [False, True, False, True]
    assert item['img_group_0'][2].shape == (1, 3, 4, 60, 80)
    # No proposal file -> one full-frame proposal.
    np.testing.assert_allclose(item['proposals'][2].numpy(), [[0, 0, 80, 60, 1]])
    assert ds.keyframe_keys()[2] == ('_-Z6wFjXtGQ', 902, 40, 30)
    # Key-frame 903 -> centre 13; no random shift in test mode.
    assert item['img_group_0'][0][0, 0, :, 0, 0].tolist() == [9, 11, 13, 15]


def test_score_threshold_and_errors(ava_root):
    ds = _ds(ava_root, test_mode=True, person_det_score_thr=0.9)
    props = ds.get_proposals('_-Z6wFjXtGQ,0902')
    assert props.shape == (2, 5) and (props[:, 4] >= 0.9).all()
    assert rescale_size(400, 300, (800, 256))[0] == (341, 256)
    with pytest.raises(FileNotFoundError, match='ann_file'):
        _ds(ava_root, ann_file=str(ava_root / 'missing.csv'))
    bad = ava_root / 'bad_stats.txt'
    bad.write_text('vid 40-30\n')
    with pytest.raises(ValueError, match=r'bad_stats.txt:1'):
        load_video_stats(str(bad))
    with pytest.raises(ConfigError, match="AVADataset.*unexpected keyword argument 'bogus'"):
        _ds(ava_root, bogus=1)
    assert isinstance(_ds(ava_root, input_format='NCHW')[0]['img_group_0'], torch.Tensor)
