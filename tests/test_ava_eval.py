"""AVA frame-mAP: the official figure on the shared fixture and hand-computed cases."""
import os

import numpy as np
import pytest

from mmaction.evaluation.ava import (MAP_KEY, average_precision, ava_eval, make_image_key, proposal_recalls,
                                     read_csv, read_exclusions, read_labelmap, results2csv)


def _write(path, text):
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


def test_official_fixture(samples_dir):
    d = os.path.join(samples_dir, 'tests', 'data', 'eval_detection')
    res = ava_eval(os.path.join(d, 'pred.csv'), 'bbox', os.path.join(d, 'action_list.txt'),
                   os.path.join(d, 'gt.csv'), None, verbose=False)
    # Figure of the official ActivityNet/AVA evaluator on these files (mmaction2's test asserts it too).
    assert res[MAP_KEY] == pytest.approx(0.09385522, abs=1e-8)
    assert res['PascalBoxes_PerformanceByCategory/AP@0.5IOU/action1'] == pytest.approx(15 / 88)
    assert res['PascalBoxes_PerformanceByCategory/AP@0.5IOU/action2'] == 0.0
    assert res['PascalBoxes_PerformanceByCategory/AP@0.5IOU/action3'] == pytest.approx(1 / 9)


def test_average_precision_hand_cases():
    # 2 GT; ranked TP, FP, TP -> precisions 1, 1/2, 2/3 at recalls .5, .5, 1 -> AP = .5*1 + .5*2/3.
    assert average_precision(np.array([0.9, 0.8, 0.7]), np.array([1, 0, 1], bool), 2) == pytest.approx(0.5 + 1 / 3)
    assert average_precision(np.array([0.9]), np.array([0], bool), 3) == 0.0
    assert average_precision(np.zeros(0), np.zeros(0, bool), 1) == 0.0
    assert np.isnan(average_precision(np.array([0.5]), np.array([0], bool), 0))


def test_ava_eval_hand_case(tmp_path):
    labels = _write(tmp_path / 'labels.pbtxt', 'item {\n  name: "walk"\n  id: 1\n}\nitem {\n  name: "sit"\n'
                    '  label_id: 2\n}\n')
    gt = _write(tmp_path / 'gt.csv', 'v1,0902,0.1,0.1,0.5,0.5,1,0\nv1,0902,0.6,0.6,0.9,0.9,1,1\n'
                'v1,0903,0.1,0.1,0.5,0.5,2,0\nv1,0904,0.1,0.1,0.5,0.5,1,0\nv1,0902,0.1,0.1,0.5,0.5,5,0\n')
    # walk: exact hit (0.9), duplicate of the same box (0.8, FP), miss (0.7, IoU < .5), hit of 2nd box (0.6).
    # 0904 is excluded, so walk has 2 GT; sit: one hit. Class 5 is not in the label map.
    det = _write(tmp_path / 'det.csv', 'v1,902,0.1,0.1,0.5,0.5,1,0.9\nv1,902,0.1,0.1,0.5,0.5,1,0.8\n'
                 'v1,902,0.3,0.3,0.8,0.8,1,0.7\nv1,902,0.6,0.6,0.9,0.9,1,0.6\nv1,903,0.1,0.1,0.5,0.5,2,0.5\n'
                 'v1,904,0.6,0.6,0.9,0.9,1,0.99\nv1,902,0.1,0.1,0.5,0.5,5,0.9\n')
    excl = _write(tmp_path / 'excl.csv', 'v1,0904\n')
    res = ava_eval(det, 'bbox', labels, gt, excl, verbose=False)
    walk = 0.5 * 1 + 0.5 * 0.5  # P = 1, .5, 1/3, .5 at R = .5, .5, .5, 1 -> interpolated .5 at R=1
    assert res['PascalBoxes_PerformanceByCategory/AP@0.5IOU/walk'] == pytest.approx(walk)
    assert res['PascalBoxes_PerformanceByCategory/AP@0.5IOU/sit'] == pytest.approx(1.0)
    assert res[MAP_KEY] == pytest.approx((walk + 1) / 2)
    # Without the exclusion, 0904's GT (3rd walk box) and its 0.99 detection (a miss, FP) count:
    # ranked FP, TP, FP, FP, TP -> P = 0, 1/2, 1/3, 1/4, 2/5 at R = 0, 1/3, 1/3, 1/3, 2/3.
    res = ava_eval(det, 'bbox', labels, gt, None, verbose=False)
    assert res['PascalBoxes_PerformanceByCategory/AP@0.5IOU/walk'] == pytest.approx(1 / 3 * 0.5 + 1 / 3 * 0.4)
    # Capacity 1 keeps the best row per key-frame (after the label-map filter): 0.99 FP, 0.9 TP.
    res = ava_eval(det, 'bbox', labels, gt, None, max_dets=1, verbose=False)
    assert res['PascalBoxes_PerformanceByCategory/AP@0.5IOU/walk'] == pytest.approx(1 / 6)


def test_readers_and_errors(tmp_path):
    assert make_image_key('abc', '902') == 'abc,0902'
    bad = _write(tmp_path / 'bad.csv', 'v1,0902,0.1,0.1,0.5\n')
    with pytest.raises(ValueError, match=r'bad.csv:1: expected 7 or 8 columns'):
        read_csv(bad)
    with pytest.raises(ValueError, match='no "name:"'):
        read_labelmap(_write(tmp_path / 'empty.pbtxt', 'nothing\n'))
    with pytest.raises(ValueError, match=r'excl.csv:2'):
        read_exclusions(_write(tmp_path / 'excl.csv', 'a,0902\na,1,2\n'))
    with pytest.raises(ValueError, match='result_type'):
        ava_eval(bad, 'segm', bad, bad, None)
    boxes, labels, scores = read_csv(_write(tmp_path / 'ok.csv', 'v,902,0.1,0.2,0.3,0.4,3,0.2\nv,902,0,0,1,1,4,0.7\n'))
    assert labels['v,0902'] == [4, 3] and scores['v,0902'] == [0.7, 0.2]
    assert boxes['v,0902'][1] == [0.2, 0.1, 0.4, 0.3]  # stored y1, x1, y2, x2 as the official code does


def test_results2csv_roundtrip(tmp_path):
    results = [[np.array([[32.0, 24.0, 64.0, 48.0, 0.75]], np.float32), np.zeros((0, 5), np.float32)],
               [np.zeros((0, 5), np.float32), np.array([[0, 0, 320, 240, 0.5]], np.float32)]]
    path = str(tmp_path / 'r.csv')
    results2csv(results, [('vid', 902, 320, 240), ('vid', 1000, 320, 240)], path)
    lines = open(path).read().splitlines()
    assert lines == ['vid,902,0.100,0.100,0.200,0.200,1,0.7500', 'vid,1000,0.000,0.000,1.000,1.000,2,0.5000']


def test_proposal_recall_hand_case():
    gts = [np.array([[0, 0, 10, 10], [20, 20, 30, 30.0]])]
    props = [np.array([[0, 0, 10, 10, 0.5], [20, 20, 30, 25, 0.9], [0, 0, 10, 9, 0.1]])]
    rec = proposal_recalls(gts, props, [1, 3], [0.5, 0.85, 0.95])
    # top-1 is the 0.9 box (IoU .5 with gt 2) -> 1 of 2 at .5; top-3 adds an exact hit.
    np.testing.assert_allclose(rec, [[0.5, 0.0, 0.0], [1.0, 0.5, 0.5]])
