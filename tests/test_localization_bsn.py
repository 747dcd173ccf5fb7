"""BSN: TEM targets/shapes, PGM proposals and BSP features on hand-computed cases, PEM loss and post-processing,
the end-to-end BSN module, the published configs, and a toy training run (slow)."""
import os

import numpy as np
import pytest
import torch

import mmaction.models  # noqa: F401  (registration)
from mmaction.evaluation.temporal import evaluate_localization
from mmaction.models import build_localizer
from mmaction.models.localizers.bsn import BSN, pgm_for_video
from mmaction.models.localizers.pem import PEM, pem_iou_loss
from mmaction.ops.pgm import boundary_candidates, generate_bsp_feature, generate_candidate_proposals
from mmaction.models.localizers.tem import TEM
from mmaction.utils.config import load_config

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
CFG_DIR = os.path.join(ROOT, 'configs', 'localization', 'bsn')


def test_tem_targets_hand_computed():
    tem = TEM(temporal_dim=10, tem_feat_dim=4, tem_hidden_dim=8)
    target = tem.generate_labels([np.array([[0.2, 0.5]]), np.zeros((0, 2))])
    assert target.shape == (2, 3, 10)
    np.testing.assert_allclose(target[0, 0], [0, 0, 1, 1, 1, 0, 0, 0, 0, 0], atol=1e-6)
    # start region: width max(1/10, 0.1 * 0.3) = 0.1 centred on 0.2 -> half of steps 1 and 2
    np.testing.assert_allclose(target[0, 1], [0, .5, .5, 0, 0, 0, 0, 0, 0, 0], atol=1e-6)
    np.testing.assert_allclose(target[0, 2], [0, 0, 0, 0, .5, .5, 0, 0, 0, 0], atol=1e-6)
    assert float(target[1].abs().sum()) == 0


def test_tem_forward_shapes_and_loss():
    torch.manual_seed(0)
    tem = TEM(temporal_dim=16, tem_feat_dim=6, tem_hidden_dim=8)
    x = torch.randn(2, 6, 16)
    losses = tem(x, gt_bbox=[torch.tensor([[0.1, 0.4]]), torch.tensor([[0.5, 0.9], [0.0, 0.2]])])
    assert set(losses) == {'loss_action', 'loss_start', 'loss_end'}
    assert all(v.dim() == 0 and torch.isfinite(v) and v > 0 for v in losses.values())
    sum(losses.values()).backward()
    assert tem.conv1.weight.grad is not None
    out = tem(x, img_meta=[dict(video_name='a'), dict(video_name='b')], return_loss=False)
    assert [o['video_name'] for o in out] == ['a', 'b'] and out[0]['tem_output'].shape == (16, 5)
    np.testing.assert_allclose(out[1]['tem_output'][:, 3:], np.stack([np.arange(16), np.arange(1, 17)], 1) / 16)
    # the 0.01 logit scale: untrained outputs stay close to 0.5
    assert np.abs(out[0]['tem_output'][:, :3] - 0.5).max() < 0.05
    with pytest.raises(ValueError, match='temporal_dim'):
        tem(torch.randn(1, 6, 8), return_loss=False)


def _tem(start, end, action=None):
    t = len(start)
    action = np.full(t, 0.5) if action is None else np.asarray(action, float)
    return np.stack([action, start, end, np.arange(t) / t, np.arange(1, t + 1) / t], 1)


def test_pgm_candidate_proposals_hand_computed():
    assert boundary_candidates(np.array([0.9, 0.1, 0.2, 0.1]), 0.5).tolist() == [True, False, True, True]
    tem = _tem([0.9, 0.1, 0.2, 0.1], [0.1, 0.1, 0.1, 0.8])
    props = generate_candidate_proposals(tem, 0.5, gt_segments=np.array([[0.5, 1.0]]))
    # starts {0, 2, 3} (tmin 0, .5, .75) x ends {0, 3} (tmax .25, 1), tmin < tmax
    np.testing.assert_allclose(props[:, :5], [[0, 1, .9, .8, .72], [.5, 1, .2, .8, .16], [0, .25, .9, .1, .09],
                                              [.75, 1, .1, .8, .08]], atol=1e-9)
    np.testing.assert_allclose(props[:, 5], [0.5, 1.0, 0.0, 0.5])      # best tIoU with GT [0.5, 1]
    np.testing.assert_allclose(props[:, 6], [0.5, 1.0, 0.0, 1.0])      # intersection over the proposal


def _bsp_reference(tem, tmin, tmax, ratio, ns, na, ne, k):
    """Direct per-point re-implementation: actionness at step centres, zero outside the video."""
    t = tem.shape[0]
    xs = np.concatenate([[-(t + 10) / t], (np.arange(t) + 0.5) / t, [(2 * t + 10) / t]])
    ys = np.concatenate([[0.0], tem[:, 0], [0.0]])

    def curve(x):
        if x < 0.5 / t:  # between the first zero pad centre (-0.5/t) and the first step centre
            return np.interp(x, [-0.5 / t, 0.5 / t], [0.0, ys[1]]) if x > -0.5 / t else 0.0
        if x > (t - 0.5) / t:
            return np.interp(x, [(t - 0.5) / t, (t + 0.5) / t], [ys[-2], 0.0]) if x < (t + 0.5) / t else 0.0
        return np.interp(x, xs, ys)

    def region(lo, hi, n):
        pts = [curve(lo + (hi - lo) * j / (n * k)) for j in range(n * k + 1)]
        return [np.mean(pts[i * k:i * k + k + 1]) for i in range(n)]
    half = (tmax - tmin) * ratio / 2
    return np.array(region(tmin - half, tmin + half, ns) + region(tmin, tmax, na) + region(tmax - half, tmax + half, ne))


def test_bsp_feature_matches_pointwise_reference():
    rng = np.random.default_rng(0)
    tem = _tem(rng.random(10), rng.random(10), rng.random(10))
    props = np.array([[0.0, 0.3, .5, .5, .25, 0, 0], [0.25, 0.95, .5, .5, .2, 0, 0], [0.6, 1.0, .5, .5, .1, 0, 0]])
    feats = generate_bsp_feature(tem, props, top_k=2, bsp_boundary_ratio=0.2, num_sample_start=4,
                                 num_sample_end=4, num_sample_action=6, num_sample_interp=3)
    assert feats.shape == (2, 14) and feats.dtype == np.float32        # top_k=2 of 3 proposals
    for row, (tmin, tmax) in zip(feats, props[:2, :2]):
        np.testing.assert_allclose(row, _bsp_reference(tem, tmin, tmax, 0.2, 4, 6, 4, 3), atol=1e-6)
    # constant actionness 1: inside samples are 1; a start region centred on 0 sees the zero padding
    flat = generate_bsp_feature(_tem(np.ones(4), np.ones(4), np.ones(4)), np.array([[0.0, 0.5, 1, 1, 1, 0, 0]]),
                                num_sample_start=2, num_sample_action=4, num_sample_end=2, num_sample_interp=1)
    # action points 0, .125, ..., .5: the curve is .5 at 0 (halfway to the zero pad centred at -1/8), 1 after
    np.testing.assert_allclose(flat[0, 2:6], [0.75, 1, 1, 1])
    # start region [-.05, .05]: points -.05, 0, .05 -> .3, .5, .7 -> samples .4, .6
    np.testing.assert_allclose(flat[0, :2], [0.4, 0.6], atol=1e-6)


def test_pem_loss_and_post_process():
    torch.manual_seed(0)
    iou = torch.tensor([0.9, 0.8, 0.5, 0.1, 0.0, 0.05])
    pred = iou.clone()
    assert float(pem_iou_loss(pred, iou, 0.6, 0.2, 1, 2)) == 0.0
    loss = pem_iou_loss(torch.zeros(6), iou, 0.6, 0.2, 1, 2)
    # two high-IoU entries always count: smooth-L1(0, .9) = .4, (0, .8) = .3; sampled ones add (x^2/2) terms
    assert 0.0 < float(loss) <= (0.4 + 0.3) / 2 + 1e-6
    pem = PEM(pem_feat_dim=32, pem_hidden_dim=16, post_process_top_k=3, feature_extraction_interval=1)
    feats = [np.random.default_rng(1).random((5, 32)).astype(np.float32)]
    tmin, tmax = [np.array([0.0, 0.1, 0.5, 0.55, 0.2])], [np.array([0.4, 0.45, 0.9, 0.95, 0.3])]
    out = pem(feats, tmin=tmin, tmax=tmax, tmin_score=[np.ones(5)], tmax_score=[np.linspace(1, 0.2, 5)],
              img_meta=[dict(video_name='v', duration_second=20.0)], return_loss=False)
    plist = out[0]['proposal_list']
    assert out[0]['video_name'] == 'v' and len(plist) == 3
    assert [p['score'] for p in plist] == sorted((p['score'] for p in plist), reverse=True)
    assert plist[0]['segment'] == pytest.approx([0.0, 8.0])  # first proposal has the top score, in seconds
    losses = pem(torch.from_numpy(feats[0]), reference_temporal_iou=torch.tensor([.9, .7, .3, .1, 0.]))
    assert losses['loss_pem'].dim() == 0 and torch.isfinite(losses['loss_pem'])


def test_bsn_end_to_end_module_and_inference_api():
    torch.manual_seed(0)
    model = build_localizer(dict(type='BSN', tem=dict(temporal_dim=12, tem_feat_dim=6, tem_hidden_dim=8),
                                 pem=dict(pem_hidden_dim=8, post_process_top_k=5, feature_extraction_interval=1)))
    assert sorted({k.split('.')[0] for k in model.state_dict()}) == ['pem', 'tem']
    out = model(torch.randn(2, 6, 12), img_meta=[dict(video_name='a', duration_second=10.0), dict(video_name='b')],
                return_loss=False)
    assert [o['video_name'] for o in out] == ['a', 'b'] and 0 < len(out[0]['proposal_list']) <= 5
    assert all(0 <= p['segment'][0] < p['segment'][1] <= 10.0 for p in out[0]['proposal_list'])
    assert all(p['segment'][1] <= 1.0 for p in out[1]['proposal_list'])  # no duration: normalised
    # same proposals as running the three stages by hand
    tem_out = model.tem(torch.randn(1, 6, 12), return_loss=False)[0]['tem_output']
    props, bsp = pgm_for_video(tem_out, model.pgm_proposals_cfg, model.pgm_features_cfg)
    assert bsp.shape == (len(props), 32)
    from mmaction.apis.inference_localizer import inference_localizer
    segs = inference_localizer(model.eval(), np.random.default_rng(0).normal(size=(30, 6)).astype(np.float32),
                               duration=15.0, top_k=3)
    assert len(segs) == 3 and all(0 <= s['start_s'] < s['end_s'] <= 15.0 for s in segs)
    with pytest.raises(ValueError, match='stage by stage'):
        model(torch.randn(1, 6, 12), return_loss=True)
    stacked = BSN.from_stages(model.tem, model.pem)
    assert stacked.tem is model.tem and stacked.tscale == 12


@pytest.mark.parametrize('name,typ', [('bsn_tem_400x100_1x16_20e_activitynet_feature.py', 'TEM'),
                                      ('bsn_pem_400x100_1x16_20e_activitynet_feature.py', 'PEM'),
                                      ('bsn_400x100_activitynet_feature.py', 'BSN')])
def test_published_configs_build(name, typ):
    cfg = load_config(os.path.join(CFG_DIR, name))
    model = build_localizer(cfg.model)
    assert type(model).__name__ == typ
    if typ == 'TEM':
        assert (model.tscale, model.conv1.in_channels, model.conv1.out_channels) == (100, 400, 512)
        assert cfg.optimizer.lr == 0.001 and cfg.total_epochs == 20
    if typ == 'PEM':
        assert (model.fc1.in_features, model.fc1.out_features, model.top_k) == (32, 256, 100)
        assert model.soft_nms == (0.75, 0.65, 0.9) and cfg.optimizer.lr == 0.01
    pgm = load_config(os.path.join(CFG_DIR, 'bsn_pgm_400x100_activitynet_feature.py'))
    assert pgm.pgm_features_test_cfg.top_k == 1000 and pgm.pgm_features_train_cfg.top_k == 500


def _train(model, batches, epochs, lr, step_fn):
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=1e-4)
    model.train()
    for _ in range(epochs):
        for batch in batches:
            loss = sum(step_fn(model, batch).values())
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model.eval()


def _bsn_auc(model, dataset):
    results = [model(item['raw_feature'][None], img_meta=[item['img_meta']], return_loss=False)[0]
               for item in (dataset[i] for i in range(len(dataset)))]
    return evaluate_localization(dataset, results, 'AR@AN')


@pytest.mark.slow
def test_bsn_toy_training_beats_untrained(tmp_path):
    """TEM (30 epochs) -> PGM on the train videos -> PEM (30 epochs) on the toy untrimmed set; AR@AN on val.

    Measured (seed 0, 32 train / 16 val videos, T = 32, ~5 s on 1 core): untrained AUC 41.88 / AR@100 0.617,
    trained AUC 84.54 / AR@1 0.173 / AR@10 0.817 / AR@100 0.880 (torch seeds 1, 2: 48.38 -> 84.58, 49.43 -> 84.23).
    """
    import sys
    sys.path.insert(0, ROOT)
    from data_tools.toy.build_toy_untrimmed import build_toy_untrimmed
    from mmaction.datasets.activitynet_dataset import ActivityNetDataset
    build_toy_untrimmed(str(tmp_path), num_train=32, num_val=16, seed=0)
    ann = tmp_path / 'annotations'
    train = ActivityNetDataset(str(ann / 'anet_train.json'), str(tmp_path / 'features'), temporal_scale=32)
    val = ActivityNetDataset(str(ann / 'anet_val.json'), str(tmp_path / 'features'), temporal_scale=32)
    torch.manual_seed(0)
    bsn = BSN(tem=dict(temporal_dim=32, tem_feat_dim=24, tem_hidden_dim=64),
              pem=dict(pem_hidden_dim=64, feature_extraction_interval=1),
              pgm_features_test_cfg=dict(top_k=300)).eval()
    baseline = _bsn_auc(bsn, val)
    items = [train[i] for i in range(len(train))]
    batches = [dict(raw_feature=torch.stack([it['raw_feature'] for it in items[i:i + 8]]),
                    gt_bbox=[it['gt_bbox'] for it in items[i:i + 8]]) for i in range(0, len(items), 8)]
    _train(bsn.tem, batches, 30, 3e-3, lambda m, b: m(b['raw_feature'], gt_bbox=b['gt_bbox']))
    # PGM on the trained TEM's train outputs: BSP features and their tIoU targets (top 300 per video)
    feats, ious = [], []
    for it, tem_out in zip(items, bsn.tem(torch.stack([it['raw_feature'] for it in items]), return_loss=False)):
        props, bsp = pgm_for_video(tem_out['tem_output'], dict(peak_threshold=0.5), dict(top_k=300),
                                   gt_segments=it['gt_bbox'].numpy())
        feats.append(torch.from_numpy(bsp))
        ious.append(torch.from_numpy(props[:, 5]).float())
    pem_batches = [dict(f=torch.cat(feats[i:i + 8]), iou=torch.cat(ious[i:i + 8])) for i in range(0, len(feats), 8)]
    _train(bsn.pem, pem_batches, 30, 1e-2, lambda m, b: m(b['f'], reference_temporal_iou=b['iou']))
    trained = _bsn_auc(bsn, val)
    print(f"BSN toy: untrained AUC {baseline['auc']:.2f} AR@100 {baseline['AR@100']:.3f} -> trained AUC "
          f"{trained['auc']:.2f} AR@1 {trained['AR@1']:.3f} AR@10 {trained['AR@10']:.3f} AR@100 {trained['AR@100']:.3f}")
    assert trained['auc'] > baseline['auc'] + 25 and trained['auc'] > 75
    assert trained['AR@100'] > baseline['AR@100'] + 0.15
