"""SlowFast FastRCNN (AVA): two-pathway RoI feature fusion, a tiny SlowFast detector, the R50 4x16 config."""
import os

import numpy as np
import pytest
import torch

from mmaction.models import build_detector
from mmaction.models.necks.single_roi_straight_3d_extractor import SingleRoIStraight3DExtractor
from mmaction.ops.roi_align import roi_align
from mmaction.utils.config import load_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, 'configs', 'ava', 'slowfast', 'slowfast_kinetics_pretrained_r50_4x16x1_20e_ava_rgb.py')


def test_extractor_fuses_pathways_by_pooling_then_concatenating():
    torch.manual_seed(0)
    slow, fast = torch.randn(2, 6, 2, 8, 8), torch.randn(2, 3, 8, 8, 8)
    rois = torch.tensor([[0, 0., 0., 63., 63.], [1, 16., 8., 40., 60.], [1, 4., 4., 20., 20.]])
    ext = SingleRoIStraight3DExtractor(dict(type='RoIAlign', out_size=4, sample_num=2), 9, [8],
                                       with_temporal_pool=True)
    out = ext((slow, fast), rois)
    assert out.shape == (3, 9, 1, 4, 4)
    expect = roi_align(torch.cat([slow.mean(2), fast.mean(2)], 1), rois, 4, 1 / 8, 2)
    torch.testing.assert_close(out[:, :, 0], expect)
    ext_max = SingleRoIStraight3DExtractor(dict(type='RoIAlign', out_size=4, sample_num=2), 9, [8],
                                           with_temporal_pool=True, temporal_pool_mode='max')
    expect_max = roi_align(torch.cat([slow.amax(2), fast.amax(2)], 1), rois, 4, 1 / 8, 2)
    torch.testing.assert_close(ext_max((slow, fast), rois)[:, :, 0], expect_max)
    # Without temporal pooling the slow frames are repeated (nearest) up to the fast length: frame k of the
    # output holds slow frame k // 4 next to fast frame k.
    ext_t = SingleRoIStraight3DExtractor(dict(type='RoIAlign', out_size=4, sample_num=2), 9, [8])
    full = ext_t((slow, fast), rois)
    assert full.shape == (3, 9, 8, 4, 4)
    for k in (0, 3, 4, 7):
        torch.testing.assert_close(full[:, :, k], roi_align(torch.cat([slow[:, :, k // 4], fast[:, :, k]], 1),
                                                            rois, 4, 1 / 8, 2))
    with pytest.raises(ValueError, match='spatial size'):
        ext((slow, torch.randn(2, 3, 8, 4, 4)), rois)
    with pytest.raises(ValueError, match="'avg' or 'max'"):
        SingleRoIStraight3DExtractor(dict(type='RoIAlign', out_size=4), 9, [8], temporal_pool_mode='mean')


def _tiny_slowfast():
    model = dict(
        type='FastRCNN',
        backbone=dict(type='ResNet_I3D_SlowFast', depth=18, alpha=4, beta_inv=8, num_stages=4,
                      spatial_strides=(1, 2, 2, 1), dilations=(1, 1, 1, 1), out_indices=(3,), bn_eval=False),
        bbox_roi_extractor=dict(type='SingleRoIStraight3DExtractor',
                                roi_layer=dict(type='RoIAlign', out_size=4, sample_num=0), out_channels=576,
                                featmap_strides=[16], with_temporal_pool=True),
        dropout_ratio=0.5,
        bbox_head=dict(type='BBoxHead', with_reg=False, with_spatial_pool=True, roi_feat_size=(1, 4, 4),
                       in_channels=576, num_classes=5, multilabel_classification=True))
    train_cfg = dict(train_detector=False, person_det_score_thr=0.9,
                     rcnn=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.9, neg_iou_thr=0.9, min_pos_iou=0.9),
                               sampler=dict(type='RandomSampler', num=8, pos_fraction=1, neg_pos_ub=-1,
                                            add_gt_as_proposals=True)))
    test_cfg = dict(person_det_score_thr=0.9, rcnn=dict(action_thr=0.0))
    return model, train_cfg, test_cfg


def test_tiny_slowfast_fast_rcnn_shapes_train_and_test():
    torch.manual_seed(0)
    model = build_detector(*_tiny_slowfast())
    assert model.two_pathway and model.bbox_head.fc_cls.weight.shape == (5, 576)  # 512 slow + 64 fast channels
    img = torch.randn(2, 1, 3, 8, 64, 64)
    slow, fast = model.extract_feat(img)
    # Slow: every 4th of 8 frames, R18 width; Fast: all 8 frames, 1/8 width; both at stride 16.
    assert slow.shape == (2, 512, 2, 4, 4) and fast.shape == (2, 64, 8, 4, 4)
    gt_bboxes = [torch.tensor([[4., 4., 40., 60.]]), torch.tensor([[10., 10., 50., 50.]])]
    gt_labels = [torch.tensor([[2, -1]]), torch.tensor([[1, 3]])]
    proposals = [torch.tensor([[4., 4., 40., 61., 0.99], [30., 30., 60., 60., 0.5]]),
                 torch.tensor([[10., 10., 50., 50., 0.95]])]
    model.train()
    losses = model(img_meta=[dict(img_shape=(64, 64, 3))] * 2, img_group_0=img, gt_bboxes=gt_bboxes,
                   gt_labels=gt_labels, proposals=proposals)
    losses['loss_action_cls'].backward()
    assert torch.isfinite(losses['loss_action_cls'])
    # Both pathways get gradient through the fused RoI features.
    assert model.backbone.fast_path.conv1.weight.grad.abs().sum() > 0
    assert model.backbone.slow_path.conv1.weight.grad.abs().sum() > 0
    model.eval()
    meta = [dict(img_shape=(64, 64, 3), scale_factor=np.array([2., 2., 2., 2.]), flip=False,
                 crop_quadruple=np.array([0, 0, 64, 64]))]
    with torch.no_grad():
        out = model(img_meta=meta, return_loss=False, img_group_0=img[:1], proposals=[proposals[0]])
    # 4 action classes; only the 0.99 proposal passes the 0.9 score filter; boxes back in original pixels (/2).
    assert len(out) == 1 and len(out[0]) == 4
    np.testing.assert_allclose(out[0][0][:, :4], [[2., 2., 20., 30.5]])
    assert all(0 <= r[0, 4] <= 1 for r in out[0])


def test_r50_4x16_config_builds_and_runs():
    cfg = load_config(CONFIG)
    assert cfg.model.backbone.type == 'ResNet_I3D_SlowFast' and cfg.model.bbox_head.in_channels == 2304
    assert (cfg.data.train.new_length, cfg.data.train.new_step) == (32, 2)  # SampleAVAFrames(32, 2)
    assert cfg.optimizer.lr == pytest.approx(0.1125) and cfg.data.videos_per_gpu == 9 and cfg.total_epochs == 20
    model = build_detector(cfg.model, train_cfg=cfg.train_cfg, test_cfg=cfg.test_cfg)
    assert model.bbox_head.fc_cls.weight.shape == (81, 2304)
    model.eval()
    img = torch.randn(1, 1, 3, 32, 48, 48)
    slow, fast = model.extract_feat(img)
    assert slow.shape == (1, 2048, 4, 3, 3) and fast.shape == (1, 256, 32, 3, 3)
    meta = [dict(img_shape=(48, 48, 3), scale_factor=np.ones(4), flip=False, crop_quadruple=np.array([0, 0, 48, 48]))]
    with torch.no_grad():
        out = model(img_meta=meta, return_loss=False, img_group_0=img,
                    proposals=[torch.tensor([[4., 4., 40., 44., 0.95]])])
    assert len(out[0]) == 80 and out[0][0].shape == (1, 5)
