"""Temporal detection metrics against hand-computed cases and the shared ActivityNet fixtures."""
import os

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from mmaction.evaluation.temporal import (ACTIVITYNET_IOUS, ActivityNetLocalization, ar_an_metrics,
                                          average_precision_at_temporal_iou, average_recall_at_avg_proposals,
                                          detection_map, detection_table, interpolated_precision_recall,
                                          pairwise_temporal_iou, temporal_iou)
from mmaction.ops.temporal_nms import soft_nms, temporal_nms


def test_temporal_iou_hand_cases():
    cands = np.array([[0, 10], [5, 15], [10, 20], [2, 4], [20, 30]])
    # [0,10] vs: itself 1; [5,15] inter 5 union 15; [10,20] touching -> 0; [2,4] contained 2/10; disjoint 0
    assert_allclose(temporal_iou([0, 10], cands), [1, 1 / 3, 0, 0.2, 0])
    m = pairwise_temporal_iou(cands[:2], np.array([[0, 10], [5, 15], [100, 101]]))
    assert m.shape == (3, 2)
    assert_allclose(m, [[1, 1 / 3], [1 / 3, 1], [0, 0]])
    assert pairwise_temporal_iou(np.zeros((0, 2)), cands).shape == (5, 0)


def test_interpolated_ap_hand_case():
    # precision 1, 0.5, 2/3 at recall 1/3, 1/3, 2/3: interpolated precision is 1 on (0,1/3], 2/3 on (1/3,2/3]
    ap = interpolated_precision_recall(np.array([1, 0.5, 2 / 3]), np.array([1 / 3, 1 / 3, 2 / 3]))
    assert ap == pytest.approx(1 / 3 + (1 / 3) * (2 / 3))


def test_ap_matching_rules():
    gt = {'a': np.array([[0, 10], [20, 30]]), 'b': np.array([[0, 5]])}
    pred = np.array([[0, 10, 0.9],      # TP for gt a0
                     [1, 10, 0.8],      # duplicate of a0 (iou .9): a0 locked, next candidate below thr -> FP
                     [20, 29, 0.7],     # TP a1 at 0.5 (iou .9), also at 0.95? no -> FP at 0.95
                     [0, 5, 0.6],       # TP b
                     [50, 60, 0.5]])    # video without gt -> FP
    vids = ['a', 'a', 'a', 'b', 'c']
    ap = average_precision_at_temporal_iou(gt, pred, vids, [0.5, 0.95])
    # thr 0.5: TP,FP,TP,TP,FP -> prec 1,.5,2/3,.75 at rec 1/3,1/3,2/3,1 -> AP = 1/3 + 1/3*.75 + 1/3*.75
    assert ap[0] == pytest.approx(1 / 3 + 0.75 / 3 + 0.75 / 3)
    # thr 0.95: TP,FP,FP,TP,FP -> prec 1,.5,1/3,.5 at rec 1/3,1/3,1/3,2/3 -> AP = 1/3 + 1/3*.5
    assert ap[1] == pytest.approx(1 / 3 + 0.5 / 3)
    # shuffling the input order does not change AP (predictions are sorted by score)
    perm = [4, 2, 0, 3, 1]
    assert_allclose(average_precision_at_temporal_iou(gt, pred[perm], [vids[i] for i in perm], [0.5, 0.95]), ap)


def test_detection_map_missing_class_counts_zero():
    gts = {'x': [('v1', 0, 10)], 'y': [('v1', 20, 30)]}
    dets = {'x': [('v1', 0, 10, 0.5)]}
    ap, m = detection_map(gts, dets, [0.5])
    assert_allclose(ap, [[1.0], [0.0]])
    assert_allclose(m, [0.5])


def test_activitynet_fixture(samples_dir):
    d = os.path.join(samples_dir, 'tests', 'data', 'eval_localization')
    evaluator = ActivityNetLocalization(os.path.join(d, 'gt.json'), os.path.join(d, 'result.json'))
    mean_ap, average = evaluator.evaluate()
    # The values mmaction2's test suite asserts for these two fixture files.
    assert_allclose(mean_ap, [0.71428571, 0.71428571, 0.71428571, 0.6875, 0.6875, 0.59722222,
                              0.52083333, 0.52083333, 0.52083333, 0.5], atol=1e-7)
    assert average == pytest.approx(0.6177579365079365)
    assert evaluator.ap.shape == (len(evaluator.labels), 10)
    table = detection_table(mean_ap, ACTIVITYNET_IOUS, 'activitynet')
    assert 'Temporal detection performance (activitynet)' in table
    assert '| mean AP    | 0.7143' in table and '0.6178' in table


def test_bad_result_file_names_key(tmp_path):
    p = tmp_path / 'r.json'
    p.write_text('{"results": {"v1": [{"label": "a", "segment": [0, 1]}]}}')
    gt = {'v_v1': {'annotations': [{'segment': [0, 1], 'label': 'a'}]}}
    with pytest.raises(ValueError, match=r"results\['v1'\]\[0\]"):
        ActivityNetLocalization(gt, str(p))


def test_ar_an_hand_cases():
    gt1 = {'v1': np.array([[0, 1], [1, 2]]), 'v2': np.array([[0, 1], [1, 2]])}
    perfect = {'v1': np.array([[0, 1, 1], [1, 2, 1]]), 'v2': np.array([[0, 1, 1], [1, 2, 1]])}
    recall, avg, ppv, auc = average_recall_at_avg_proposals(gt1, perfect, 4)
    # AN grid = 0.02..2; with 2 proposals per video, int(2 * pcn) proposals are counted
    expected = np.array([0.] * 49 + [0.5] * 50 + [1.])
    assert_array_equal(recall, np.tile(expected, (10, 1)))
    assert_allclose(ppv, np.arange(1, 101) * 0.02)
    assert auc == pytest.approx(100 * np.trapezoid(expected, ppv) / 2) and auc == pytest.approx(25.5)
    misses = {'v1': np.array([[10, 11, .6], [11, 12, .4]]), 'v2': np.array([[10, 11, .6], [11, 12, .4]])}
    _, avg, _, auc = average_recall_at_avg_proposals(gt1, misses, 4)
    assert_array_equal(avg, np.zeros(100)) and auc == 0
    gt2 = {'v1': np.array([[0, 1]])}
    ranked = {'v1': np.array([[i, i + 1, 1 / (i + 1)] for i in range(100)])}
    _, avg, ppv, auc = average_recall_at_avg_proposals(gt2, ranked, 100)
    assert_array_equal(avg, np.ones(100)) and auc == pytest.approx(99.0)
    m = ar_an_metrics(gt2, ranked)
    assert m == {'auc': pytest.approx(99.0), 'AR@1': 1.0, 'AR@5': 1.0, 'AR@10': 1.0, 'AR@100': 1.0}
    # the hit ranked 3rd: AR@1 = 0, AR@5 = 1
    ranked3 = {'v1': np.array([[i + 5, i + 6, 1 / (i + 1)] for i in range(100)])}
    ranked3['v1'][2, :2] = [0, 1]
    m = ar_an_metrics(gt2, ranked3)
    assert m['AR@1'] == 0 and m['AR@5'] == 1.0 and m['auc'] == pytest.approx(100 * (0.5 + 97) / 100)  # trapezoid over AN 1..100


def test_temporal_nms():
    dets = np.array([[0, 10, 0, 0.9], [1, 10, 0, 0.8], [20, 30, 0, 0.7], [5, 15, 0, 0.95]])
    kept = temporal_nms(dets, 0.5)
    # 0.95 [5,15] kept; [0,10] iou 1/3 kept; [1,10] iou with [0,10] 0.9 -> dropped; [20,30] kept
    assert_array_equal(kept[:, 3], [0.95, 0.9, 0.7])
    assert temporal_nms(np.zeros((0, 4)), 0.5).shape == (0, 4)


def test_soft_nms_decay():
    props = np.array([[0.0, 0.2, 0.9], [0.0, 0.18, 0.8], [0.5, 0.6, 0.7]])
    out = soft_nms(props, alpha=0.4, low_threshold=0.5, high_threshold=0.9, top_k=10)
    assert out.shape == (3, 3)
    # [0,.18] overlaps the best by 0.9 > 0.5 + 0.4*0.2 = 0.58 -> decayed by exp(-0.81/0.4)
    decayed = 0.8 * np.exp(-0.81 / 0.4)
    assert_allclose(out[:, 2], [0.9, 0.7, decayed])
    assert_allclose(out[2, :2], [0.0, 0.18])
    assert soft_nms(props, 0.4, 0.5, 0.9, top_k=0).shape == (1, 3)
