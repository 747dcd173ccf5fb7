"""AVA Fast R-CNN parts: box transforms, assigner/sampler counts, RoI extractor, BBoxHead, tiny end-to-end."""
import numpy as np
import pytest
import torch

from mmaction.models import build_detector
from mmaction.models.detectors.bbox import (MaxIoUAssigner, RandomSampler, bbox2result_multilabel, bbox2roi,
                                            bbox_flip, bbox_overlaps, labels_to_multihot)
from mmaction.models.heads.bbox_head import BBoxHead
from mmaction.models.necks.single_roi_straight_3d_extractor import SingleRoIStraight3DExtractor
from mmaction.ops.roi_align import roi_align


def test_box_transforms():
    b = torch.tensor([[10., 20., 30., 40.]])
    assert bbox_flip(b, 100).tolist() == [[69., 20., 89., 40.]]
    torch.testing.assert_close(bbox_flip(bbox_flip(b, 100), 100), b)
    # Legacy +1 areas: 21x21 boxes overlapping in 11x21.
    iou = bbox_overlaps(torch.tensor([[0., 0., 20., 20.]]), torch.tensor([[10., 0., 30., 20.]]))
    assert iou.item() == pytest.approx(231 / (441 * 2 - 231))
    rois = bbox2roi([torch.zeros(2, 5), torch.ones(1, 4)])
    assert rois[:, 0].tolist() == [0, 0, 1] and rois.shape == (3, 5)
    mh = labels_to_multihot(torch.tensor([[3, 5, -1], [1, -1, -1]]), 6)
    assert mh.tolist() == [[1, 0, 0, 1, 0, 1], [1, 1, 0, 0, 0, 0]]
    res = bbox2result_multilabel(torch.tensor([[0., 0, 9, 9], [1, 1, 5, 5]]),
                                 torch.tensor([[0.9, 0.2, 0.7], [0.9, 0.6, 0.1]]), 3, thr=0.5)
    assert len(res) == 2 and res[0].tolist() == [[1, 1, 5, 5, pytest.approx(0.6)]] and res[1].shape == (1, 5)


def test_assigner_and_sampler_counts():
    gt = torch.tensor([[0., 0., 99., 99.], [200., 200., 299., 299.]])
    props = torch.tensor([[0., 0., 99., 99.],      # IoU 1 with gt0 -> positive
                          [0., 0., 99., 94.],      # IoU .95 -> positive (>= .9)
                          [0., 0., 99., 49.],      # IoU .5 -> negative
                          [500., 500., 600., 600.],  # IoU 0 -> negative
                          [200., 200., 299., 280.]])  # IoU .8 with gt1, gt1's best -> positive by min_pos_iou .8
    labels = labels_to_multihot(torch.tensor([[2, -1], [3, 4]]), 5)
    a = MaxIoUAssigner(pos_iou_thr=0.9, neg_iou_thr=0.9, min_pos_iou=0.8).assign(props, gt, None, labels)
    assert a.gt_inds.tolist() == [1, 1, 0, 0, 2]
    assert a.labels[4].tolist() == [1, 0, 0, 1, 1]
    strict = MaxIoUAssigner(pos_iou_thr=0.9, neg_iou_thr=0.9, min_pos_iou=0.9).assign(props, gt, None, labels)
    assert strict.gt_inds.tolist() == [1, 1, 0, 0, 0]
    sampler = RandomSampler(num=4, pos_fraction=0.5, neg_pos_ub=-1, add_gt_as_proposals=True,
                            generator=torch.Generator().manual_seed(0))
    res = sampler.sample(a, props, gt, labels)
    # 2 gt + 3 positive proposals -> 5 positives, 2 expected; 2 negatives fill the rest.
    assert res.pos_bboxes.shape[0] == 2 and res.neg_bboxes.shape[0] == 2
    assert set(res.neg_inds.tolist()) == {4, 5}  # proposal indices 2, 3 shifted by the 2 prepended gts
    assert res.bboxes.shape == (4, 4)
    capped = RandomSampler(num=32, pos_fraction=1, neg_pos_ub=0).sample(
        MaxIoUAssigner(0.9, 0.9, 0.9).assign(props, gt, None, labels), props, gt, labels)
    assert capped.pos_bboxes.shape[0] == 4 and capped.neg_bboxes.shape[0] == 0
    with pytest.raises(ValueError, match='no boxes'):
        MaxIoUAssigner(0.5, 0.5).assign(props[:0], gt)


def test_roi_extractor_matches_per_frame_roi_align():
    feat = torch.randn(2, 4, 3, 8, 8)
    rois = torch.tensor([[0, 0., 0., 63., 63.], [1, 16., 8., 40., 60.]])
    ext = SingleRoIStraight3DExtractor(dict(type='RoIAlign', out_size=4, sample_num=2), 4, [8])
    out = ext(feat, rois)
    assert out.shape == (2, 4, 3, 4, 4)
    for t in range(3):
        torch.testing.assert_close(out[:, :, t], roi_align(feat[:, :, t], rois, 4, 1 / 8, 2))
    pooled = SingleRoIStraight3DExtractor(dict(type='RoIAlign', out_size=4, sample_num=2), 4, [8],
                                          with_temporal_pool=True)(feat, rois)
    torch.testing.assert_close(pooled[:, :, 0], roi_align(feat.mean(2), rois, 4, 1 / 8, 2))
    with pytest.raises(ValueError, match='roi_layer.type'):
        SingleRoIStraight3DExtractor(dict(type='RoIWarp', out_size=4), 4, [8])


def test_bbox_head_pool_and_loss():
    head = BBoxHead(with_reg=False, with_spatial_pool=True, spatial_pool_type='max', roi_feat_size=(1, 2, 2),
                    in_channels=3, num_classes=4)
    head.init_weights()
    x = torch.zeros(2, 3, 1, 2, 2)
    x[0, :, 0, 1, 1] = torch.tensor([1., 2., 3.])
    with torch.no_grad():
        head.fc_cls.weight.copy_(torch.eye(4, 3))
        head.fc_cls.bias.zero_()
    score, reg = head(x)
    assert reg is None and score[0].tolist() == [1, 2, 3, 0]  # max-pooled then identity-like fc
    targets = torch.tensor([[1., 0., 1., 0.], [0., 0., 0., 0.]])
    losses = head.loss(score, targets, torch.tensor([True, False]))
    logits, tgt = score[0, 1:], targets[0, 1:]
    expect = -(tgt * torch.log(logits.sigmoid()) + (1 - tgt) * torch.log(1 - logits.sigmoid())).mean()
    assert losses['loss_action_cls'].item() == pytest.approx(expect.item(), rel=1e-5)
    assert 'loss_person_cls' not in losses
    # Predictions > .5 are classes 1, 2, 3 (logits 2, 3, 0 -> sigmoid(0) = .5 not > .5): {1, 2}; truth {2}.
    assert losses['recall@thr=0.5'].item() == 1.0 and losses['prec@thr=0.5'].item() == 0.5
    assert losses['recall@top3'].item() == 1.0 and losses['prec@top3'].item() == pytest.approx(1 / 3)
    assert 'loss_person_cls' in head.loss(score, targets, torch.tensor([True, False]), train_detector=True)


def test_get_det_bboxes_undoes_flip_crop_and_scale():
    head = BBoxHead(with_reg=False, with_spatial_pool=True, roi_feat_size=(1, 1, 1), in_channels=1, num_classes=3)
    rois = torch.tensor([[0, 10., 20., 30., 40.]])
    meta = dict(img_shape=(50, 60, 3), flip=True, crop_quadruple=[5, 7, 60, 50], scale_factor=[2., 2., 2., 2.])
    boxes, scores = head.get_det_bboxes(rois, torch.zeros(1, 3), meta)
    # flip in width 60: x -> 59 - x: (29, 20, 49, 40); + crop (5, 7): (34, 27, 54, 47); / 2.
    assert boxes.tolist() == [[17., 13.5, 27., 23.5]]
    assert scores.tolist() == [[0.5, 0.5, 0.5]]


def _tiny_cfg():
    model = dict(
        type='FastRCNN',
        backbone=dict(type='ResNet_I3D', depth=18, num_stages=3, spatial_strides=(1, 2, 2), temporal_strides=(1, 1, 1),
                      dilations=(1, 1, 1), out_indices=(2,), conv1_kernel_t=1, conv1_stride_t=1, pool1_stride_t=1,
                      inflate_freq=0, nonlocal_stages=(-1,), bn_eval=False),
        shared_head=dict(type='ResI3DLayer', depth=18, stage=3, spatial_stride=2, inflate_freq=0, bn_eval=False,
                         bn_frozen=False),
        bbox_roi_extractor=dict(type='SingleRoIStraight3DExtractor',
                                roi_layer=dict(type='RoIAlign', out_size=4, sample_num=2), out_channels=256,
                                featmap_strides=[16], with_temporal_pool=True),
        dropout_ratio=0.0,
        bbox_head=dict(type='BBoxHead', with_reg=False, with_spatial_pool=True, roi_feat_size=(1, 2, 2),
                       in_channels=512, num_classes=5, multilabel_classification=True))
    train_cfg = dict(train_detector=False, person_det_score_thr=0.9,
                     rcnn=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.9, neg_iou_thr=0.9, min_pos_iou=0.9),
                               sampler=dict(type='RandomSampler', num=8, pos_fraction=1, neg_pos_ub=-1,
                                            add_gt_as_proposals=True)))
    test_cfg = dict(person_det_score_thr=0.85,
                    rcnn=dict(score_thr=0.0, nms=dict(type='nms', iou_thr=1.0), max_per_img=100, action_thr=0.0))
    return model, train_cfg, test_cfg


def test_fast_rcnn_train_and_test_tiny():
    torch.manual_seed(0)
    model = build_detector(*_tiny_cfg())
    sd = model.state_dict()
    assert 'shared_head.layer4.0.conv1.weight' in sd and sd['bbox_head.fc_cls.weight'].shape == (5, 512)
    assert not any(k.startswith('bbox_head.fc_reg') for k in sd)
    img = torch.randn(2, 1, 3, 2, 64, 64)
    gt_bboxes = [torch.tensor([[4., 4., 40., 60.]]), torch.tensor([[10., 10., 50., 50.], [0., 0., 20., 30.]])]
    gt_labels = [torch.tensor([[2, -1]]), torch.tensor([[1, 3], [4, -1]])]
    proposals = [torch.tensor([[4., 4., 40., 61., 0.99], [30., 30., 60., 60., 0.95], [0., 0., 5., 5., 0.1]]),
                 torch.tensor([[10., 10., 50., 50., 0.8]])]
    meta = [dict(img_shape=(64, 64, 3))] * 2
    opt = torch.optim.SGD(model.parameters(), lr=0.005)
    model.train()
    first = None
    for _ in range(4):
        losses = model(img_meta=meta, img_group_0=img, gt_bboxes=gt_bboxes, gt_labels=gt_labels, proposals=proposals)
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert set(losses) >= {'loss_action_cls', 'acc', 'recall@thr=0.5', 'prec@top3', 'recall@top5'}
    assert loss.item() < first  # the same batch four times: the loss must go down
    model.eval()
    test_meta = [dict(img_shape=(64, 64, 3), scale_factor=np.array([2., 2., 2., 2.]), flip=False,
                      crop_quadruple=np.array([0, 0, 64, 64]))]
    with torch.no_grad():
        out = model(img_meta=test_meta, return_loss=False, img_group_0=img[:1], proposals=[proposals[0]])
    assert len(out) == 1 and len(out[0]) == 4
    # Test filters proposals at min(.85, max): the 0.99 and 0.95 boxes; boxes are divided by the scale 2.
    np.testing.assert_allclose(out[0][0][:, :4], [[2., 2., 20., 30.5], [15., 15., 30., 30.]])
    # Two views (original + flip) of the same clip: list input, averaged scores, same boxes.
    flip_meta = dict(test_meta[0], flip=True)
    with torch.no_grad():
        out2 = model(img_meta=[[test_meta[0], flip_meta]], return_loss=False,
                     img_group_0=[[img[0], img[0].flip(-1)]],
                     proposals=[[proposals[0], torch.cat([63 - proposals[0][:, [2, 1, 0, 3]], proposals[0][:, 4:]], 1)]])
    # Rows come sorted by the averaged person score, so compare as sets of boxes.
    np.testing.assert_allclose(np.sort(out2[0][0][:, :4], 0), np.sort(out[0][0][:, :4], 0))
