"""SSN network: proposal assignment/sampling counts, snippet sampling, STPP shapes and test/train parity, losses,
SSN2D train losses and the §2.6 test 4-tuple on toy untrimmed rawframes."""
import numpy as np
import pytest
import torch

from mmaction.datasets.builder import build_dataset, collate
from mmaction.datasets.ssn_dataset import (SSNInstance, SSNVideoRecord, assign_proposals, context_range,
                                           per_video_counts, segment_offsets)
from mmaction.models import build_localizer
from mmaction.models.localizers.ssn_losses import classwise_regression_loss, completeness_loss
from mmaction.models.necks.stpp import STPPReorganized, StructuredTemporalPyramidPooling

TRAIN_CFG = dict(ssn=dict(
    assigner=dict(fg_iou_thr=0.7, bg_iou_thr=0.01, incomplete_iou_thr=0.3, bg_coverage_thr=0.02,
                  incomplete_overlap_thr=0.01),
    sampler=dict(num_per_video=8, fg_ratio=1, bg_ratio=1, incomplete_ratio=6, add_gt_as_proposals=True),
    loss_weight=dict(comp_loss_weight=0.1, reg_loss_weight=0.1)))
TEST_CFG = dict(ssn=dict(sampler=dict(test_interval=6, batch_size=16)))
NORM = dict(mean=[128] * 3, std=[64] * 3, to_rgb=False)
MODEL = dict(
    type='SSN2D', backbone=dict(type='ResNet', depth=18, base_channels=8, out_indices=(3,), bn_eval=False),
    spatial_temporal_module=dict(type='SimpleSpatialModule', spatial_type='avg', spatial_size=1), dropout_ratio=0.5,
    segmental_consensus=dict(type='StructuredTemporalPyramidPooling', standalong_classifier=True,
                             stpp_cfg=(1, 1, 1), num_seg=(2, 5, 2)),
    cls_head=dict(type='SSNHead', dropout_ratio=0., in_channels_activity=64, in_channels_complete=192,
                  num_classes=4, with_bg=False, with_reg=True))


def test_assignment_hand_computed():
    n = 100
    gt = [SSNInstance(40, 60, n, 2)]
    props = [SSNInstance(40, 61, n, 2, 0.95, 1.0),   # fg
             SSNInstance(30, 70, n, 2, 0.5, 1.0),    # neither (0.3 <= iou <= 0.7)
             SSNInstance(45, 50, n, 2, 0.25, 1.0),   # incomplete
             SSNInstance(0, 10, n, 0, 0.0, 0.0),     # bg (coverage 0.1)
             SSNInstance(0, 1, n, 0, 0.0, 0.0),      # too short for bg (coverage 0.01 <= 0.02)
             SSNInstance(35, 45, n, 2, 0.005, 0.5)]  # incomplete wins over bg
    fg, inc, bg = assign_proposals(SSNVideoRecord('v', n, gt, props), **TRAIN_CFG['ssn']['assigner'])
    assert [(p.start_frame, p.end_frame) for p in fg] == [(40, 61), (40, 60)]  # GT appended
    assert [(p.start_frame, p.end_frame) for p in inc] == [(45, 50), (35, 45)]
    assert [(p.start_frame, p.end_frame) for p in bg] == [(0, 10)]
    assert per_video_counts(8, 1, 1, 6) == (1, 6, 1)
    assert per_video_counts(10, 1, 2, 2) == (2, 4, 4)


def test_segment_offsets_and_context():
    # centred: span 10 - 1 + 1 = 10 frames in 5 segments of 2 -> starts 1, 3, 5, 7, 9 (+ start 20)
    assert segment_offsets(20, 30, 5, 1, random_shift=False).tolist() == [21, 23, 25, 27, 29]
    rnd = segment_offsets(20, 30, 5, 1, random_shift=True, rng=np.random.default_rng(0))
    assert all(20 + 2 * i <= v < 22 + 2 * i for i, v in enumerate(rnd))
    assert segment_offsets(5, 5, 2, 1, False).tolist() == [5, 5]  # empty range repeats its start
    # proposal [40, 60) with ratio 0.5: context 10 frames each side, fully inside -> scales 1
    assert context_range(SSNInstance(40, 60, 100, 1), (0.5, 0.5), 100) == (30, 70, 1.0, 1.0)
    # touching the start: no context before -> starting scale 0; after: clipped at 100 -> 5/10
    assert context_range(SSNInstance(0, 20, 25, 1), (0.5, 0.5), 25) == (0, 25, 0.0, 0.5)


@pytest.fixture(scope='module')
def toy(tmp_path_factory):
    from data_tools.toy.build_toy_untrimmed import build_toy_untrimmed
    root = tmp_path_factory.mktemp('ssn_toy')
    build_toy_untrimmed(str(root), num_train=2, num_val=1, min_frames=64, max_frames=80, frames_out=True)
    return root


def _dataset(toy, split, **kw):
    # the original flag form, translated into a pipeline by build_dataset
    return build_dataset(dict(type='SSNDataset', ann_file=str(toy / f'annotations/tag_{split}_normalized_proposal_list.txt'),
                              img_prefix=str(toy / 'rawframes'), img_norm_cfg=NORM, train_cfg=TRAIN_CFG, test_cfg=TEST_CFG,
                              image_tmpl='img_{:05d}.jpg', img_scale=32, input_size=32, **kw))


def test_dataset_train_sample(toy):
    ds = _dataset(toy, 'train', seed=0)
    s = ds[0]
    assert s['img_group_0'].shape == (8 * 9, 3, 32, 32)
    assert s['prop_type'].tolist() == [0, 1, 1, 1, 1, 1, 1, 2]
    assert s['prop_labels'][-1] == 0 and (s['prop_labels'][:-1] >= 1).all()
    assert s['reg_targets'].shape == (8, 2) and (s['reg_targets'][1:] == 0).all()
    assert s['prop_scaling'].shape == (8, 2) and ((s['prop_scaling'] >= 0) & (s['prop_scaling'] <= 1)).all()
    assert ds.reg_stats.shape == (2, 2) and (ds.reg_stats[1] > 0).all()


def test_dataset_test_sample(toy):
    ds = _dataset(toy, 'val', test_mode=True)
    rec = ds.video_infos[0]
    s = ds[0]
    ticks = len(range(0, rec.num_frames, 6))
    assert s['img_meta']['num_ticks'] == ticks and s['img_group_0'].shape[0] == ticks
    p = len(rec.proposals)
    assert s['rel_prop_list'].shape == (p, 2) and s['scaling_list'].shape == (p, 2)
    t = s['prop_tick_list']
    assert t.shape == (p, 4) and (t[:, 0] <= t[:, 1]).all() and (t[:, 1] < t[:, 2]).all()
    assert (t[:, 2] <= t[:, 3]).all() and (t[:, 3] <= ticks).all()
    first = rec.proposals[0]
    assert np.allclose(s['rel_prop_list'][0].numpy(), [first.start_frame / rec.num_frames,
                                                        first.end_frame / rec.num_frames])


def test_stpp_shapes_and_values():
    stpp = StructuredTemporalPyramidPooling(standalong_classifier=True, stpp_cfg=(1, (1, 2), 1), num_seg=(2, 5, 2))
    assert stpp.feat_multiplier == 5
    x = torch.arange(2 * 9, dtype=torch.float32).reshape(18, 1)  # 2 proposals, feature = snippet index
    scaling = torch.tensor([[1.0, 0.5], [0.0, 1.0]])
    act, feat = stpp(x, scaling)
    assert act.shape == (2, 1) and feat.shape == (2, 5)
    # proposal 0: starting mean(0,1)=0.5*1; course mean(2..6)=4 /3; course halves [2,3] [4,5,6]... int(i*5/2):
    # parts [0,2) -> mean(2,3)=2.5, [2,5) -> mean(4,5,6)=5, each /3; ending mean(7,8)=7.5*0.5
    assert torch.allclose(feat[0], torch.tensor([0.5, 4 / 3, 2.5 / 3, 5 / 3, 3.75]))
    assert act[0].item() == 4.0 and feat[1, 0].item() == 0.0


def test_stpp_reorganized_matches_training_pooling():
    """Per-tick scores pooled by STPPReorganized equal the head applied to the training STPP feature when the
    proposal's ticks are exactly its snippets (linear layers commute with averaging)."""
    torch.manual_seed(0)
    m = build_localizer(MODEL, TRAIN_CFG, TEST_CFG).eval()
    feat = torch.randn(9, 64)
    scaling = torch.tensor([[0.7, 0.3]])
    act_feat, comp_feat = m.segmental_consensus(feat, scaling)
    act, comp, reg = m.cls_head((act_feat, comp_feat))
    scores = m.cls_head.tick_scores(feat, True)
    a2, c2, r2 = m.test_pool(scores, torch.tensor([[0, 2, 7, 9]]), scaling)
    a2, c2, r2 = m.cls_head.add_bias(a2, c2, r2, True)
    assert torch.allclose(act, a2, atol=1e-5) and torch.allclose(comp, c2, atol=1e-5)
    assert torch.allclose(reg, r2, atol=1e-5)
    with pytest.raises(Exception, match='feat_dim'):
        STPPReorganized(10, 5, 4, 8, True, True, (1, 1, 1))


def test_losses_hand_computed():
    # 1 group: 1 positive (label 1), 2 incomplete (label 2), OHEM keeps int(2 * 0.5) = 1 hardest negative
    scores = torch.tensor([[0.5, 0.0], [0.0, 0.2], [0.0, -0.5]])
    loss = completeness_loss(scores, torch.tensor([1, 2, 2]), num_pos=1, group_size=3, ohem_ratio=0.5)
    # positive: 1 - 0.5 = 0.5; negatives: 1 + 0.2 = 1.2 (kept), 1 - 0.5 = 0.5 (dropped); / (1 + 1)
    assert loss.item() == pytest.approx((0.5 + 1.2) / 2)
    pred = torch.zeros(2, 3, 2)
    pred[0, 1] = torch.tensor([0.5, 0.0])
    loss = classwise_regression_loss(pred, torch.tensor([2, 1]), torch.tensor([[0.0, 0.0], [0.0, 2.0]]))
    # smooth-l1 terms 0.125, 0, 0, 1.5 -> mean 0.40625, times 2
    assert loss.item() == pytest.approx(2 * 0.40625)


def test_ssn2d_train_and_test(toy):
    torch.manual_seed(0)
    m = build_localizer(MODEL, TRAIN_CFG, TEST_CFG)
    train = _dataset(toy, 'train', seed=0)
    losses = m(**collate([train[0], train[1]]))
    assert set(losses) == {'loss_act', 'loss_comp', 'loss_reg'}
    # untrained: activity logits ~0 -> CE ~ log(5)
    assert losses['loss_act'].item() == pytest.approx(np.log(5), abs=0.05)
    sum(losses.values()).backward()
    assert m.cls_head.completeness_fc.weight.grad.abs().sum() > 0
    test = _dataset(toy, 'val', test_mode=True)
    m.eval()
    rel, act, comp, reg = m(return_loss=False, **collate([test[0]]))
    p = len(test.video_infos[0].proposals)
    assert rel.dtype == np.float32 and rel.shape == (p, 2)
    assert act.shape == (p, 5) and comp.shape == (p, 4) and reg.shape == (p, 4, 2)
    # zero-init regression bias and ~0 weights: the de-normalised output is close to the dataset mean
    assert np.allclose(reg.mean(axis=(0, 1)), test.reg_stats[0], atol=0.05)


def test_test_localizer_ssn_tool(toy, tmp_path, capsys):
    """tools/test_localizer.py on an SSN2D config: reorganised consensus, the §2.6 pickle and the THUMOS14 table."""
    import pickle
    from mmaction.utils.checkpoint import save_checkpoint
    from tools.test_localizer import main
    torch.manual_seed(0)
    ckpt = str(tmp_path / 'ssn.pth')
    save_checkpoint(build_localizer(MODEL, TRAIN_CFG, TEST_CFG), ckpt)
    ann = str(toy / 'annotations/tag_val_normalized_proposal_list.txt')
    out = str(tmp_path / 'out.pkl')
    main(['configs/thumos14/toy/ssn_toy_r18.py', ckpt, '--out', out, '--eval', 'thumos14', '--cfg-options',
          f'data.test.ann_file={ann}', f'data.test.img_prefix={toy / "rawframes"}'])
    with open(out, 'rb') as f:
        res = pickle.load(f)
    assert len(res) == 1 and len(res[0]) == 4 and res[0][1].shape[1] == 5 and res[0][3].shape[1:] == (4, 2)
    text = capsys.readouterr().out
    assert 'Temporal detection performance (thumos14)' in text and 'IoU thresh' in text and '0.90' in text
