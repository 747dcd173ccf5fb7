"""train_detector / test_detector end to end on the shared AVA sample annotations with generated frames."""
import os
import shutil
import sys

import cv2
import numpy as np
import pytest

from mmaction.utils.io import load_pickle

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tools'))

CONFIG = '''
model = dict(
    type='FastRCNN',
    backbone=dict(type='ResNet_I3D', depth=18, num_stages=3, spatial_strides=(1, 2, 2), temporal_strides=(1, 1, 1),
                  dilations=(1, 1, 1), out_indices=(2,), conv1_kernel_t=1, conv1_stride_t=1, pool1_stride_t=1,
                  inflate_freq=0, bn_eval=False),
    shared_head=dict(type='ResI3DLayer', depth=18, stage=3, spatial_stride=2, inflate_freq=0, bn_eval=False,
                     bn_frozen=False),
    bbox_roi_extractor=dict(type='SingleRoIStraight3DExtractor', roi_layer=dict(type='RoIAlign', out_size=4,
                            sample_num=2), out_channels=256, featmap_strides=[16], with_temporal_pool=True),
    dropout_ratio=0.3,
    bbox_head=dict(type='BBoxHead', with_reg=False, with_spatial_pool=True, roi_feat_size=(1, 2, 2),
                   in_channels=512, num_classes=81, multilabel_classification=True))
train_cfg = dict(train_detector=False, person_det_score_thr=0.9, rcnn=dict(
    assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.9, neg_iou_thr=0.9, min_pos_iou=0.9),
    sampler=dict(type='RandomSampler', num=8, pos_fraction=1, neg_pos_ub=-1, add_gt_as_proposals=True)))
test_cfg = dict(person_det_score_thr=0.85, rcnn=dict(score_thr=0.0, nms=dict(type='nms', iou_thr=1.0),
                                                     max_per_img=100, action_thr=0.0))
common = dict(type='AVADataset', ann_file='{root}/ava_sample.csv', label_file='{root}/action_list.txt',
              proposal_file='{root}/ava_proposals_sample.pkl', img_prefix='{root}/frames',
              image_tmpl='img_{{:05d}}.jpg', fps=4, timestamp_start=900, new_length=2, new_step=2,
              input_format='NCTHW', img_scale=(64, 48), size_divisor=16, with_label=True,
              img_norm_cfg=dict(mean=[128, 128, 128], std=[64, 64, 64], to_rgb=True))
data = dict(videos_per_gpu=1, workers_per_gpu=0,
            train=dict(common, flip_ratio=0.5, input_size=48),
            test=dict(common, flip_ratio=0, with_label=False, test_mode=True))
optimizer = dict(type='SGD', lr=0.001, momentum=0.9, weight_decay=1e-6)
optimizer_config = dict(grad_clip=dict(max_norm=35, norm_type=2))
lr_config = dict(policy='step', step=[2])
checkpoint_config = dict(interval=1)
log_config = dict(interval=1, hooks=[dict(type='TextLoggerHook')])
total_epochs = 1
work_dir = '{root}/work'
workflow = [('train', 1)]
'''


@pytest.fixture()
def ava_setup(tmp_path, samples_dir):
    src = os.path.join(samples_dir, 'tests', 'data', 'ava_dataset')
    for name in os.listdir(src):
        shutil.copy(os.path.join(src, name), tmp_path / name)
    rng = np.random.default_rng(0)
    for vid in ('0f39OWEqJ24', '_-Z6wFjXtGQ'):
        os.makedirs(tmp_path / 'frames' / vid)
        for k in range(1, 21):
            cv2.imwrite(str(tmp_path / 'frames' / vid / f'img_{k:05d}.jpg'), rng.integers(0, 255, (48, 64, 3), np.uint8))
    cfg = tmp_path / 'tiny_ava.py'
    cfg.write_text(CONFIG.replace('{root}', str(tmp_path)).replace('{{', '{').replace('}}', '}'))
    return tmp_path, str(cfg)


def test_train_then_test_detector(ava_setup):
    import test_detector
    import train_detector
    root, cfg = ava_setup
    train_detector.main([cfg, '--seed', '0'])
    ckpt = root / 'work' / 'epoch_1.pth'
    assert ckpt.is_file()
    out = str(root / 'res.pkl')
    test_detector.main([cfg, str(ckpt), '--out', out, '--eval', 'bbox'])
    res = load_pickle(out)
    assert len(res) == 3 and len(res[0]) == 80
    assert all(a.shape[1] == 5 and a.dtype == np.float32 for a in res[0])
    # Proposals of key-frame 0 above min(.85, max) -> 1 box, in 64x48 video pixels.
    np.testing.assert_allclose(res[0][0][:, :4], [[0.011 * 64, 0.157 * 48, 0.655 * 64, 0.983 * 48]], rtol=1e-4)
    lines = open(root / 'res.csv').read().splitlines()
    assert len(lines) == sum(len(a) for r in res for a in r)
    assert lines[0].startswith('0f39OWEqJ24,902,0.011,0.157,0.655,0.983,1,')
    # Cached --out is reused: remove the checkpoint, testing still evaluates.
    os.remove(ckpt)
    test_detector.main([cfg, str(ckpt), '--out', out, '--eval', 'bbox', 'proposal'])
