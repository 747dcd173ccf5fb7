"""SSN annotation parsing, localizer pickle evaluation (results2det, regression, NMS, THUMOS table) and tools."""
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose

from mmaction.datasets.ssn_dataset import SSNProposalList, parse_tag_list, regression_stats
from mmaction.evaluation.ssn_detection import evaluate_ssn, fuse_outputs, perform_regression, results2det

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))


def test_parse_tag_lists_agree(samples_dir):
    d = os.path.join(samples_dir, 'tests', 'data', 'annotations')
    norm = parse_tag_list(os.path.join(d, 'proposal_normalized_list.txt'))
    denorm = parse_tag_list(os.path.join(d, 'proposal_test_list.txt'), normalized=False)
    assert len(norm) == len(denorm) == 1
    a, b = norm[0], denorm[0]
    assert a.video_id == 'imgs' and a.num_frames == 5
    assert [(g.label, g.start_frame, g.end_frame) for g in a.gt] == [(3, 1, 2), (3, 3, 5)]
    assert [(p.start_frame, p.end_frame) for p in a.proposals] == [(p.start_frame, p.end_frame) for p in b.proposals]
    assert len(a.proposals) == 10 and a.proposals[7].best_iou == 0.5 and a.proposals[7].overlap_self == 1.0
    lst = SSNProposalList(os.path.join(d, 'proposal_normalized_list.txt'))
    assert lst.get_all_gt() == [['imgs', 2, 0.2, 0.4], ['imgs', 2, 0.6, 1.0]]
    stats = regression_stats(norm, fg_iou_thr=0.7)
    # fg proposals (best_iou 1.0): (1,2) and (3,5) match their GT exactly -> zero targets
    assert_allclose(stats, [[0, 0], [0, 0]], atol=1e-12)


def test_parse_errors_name_line(tmp_path):
    p = tmp_path / 'x_normalized_proposal_list.txt'
    p.write_text('# 0\nvid\n10\n1\ntwo\n')
    with pytest.raises(ValueError, match=r'x_normalized_proposal_list.txt:5: expected int'):
        parse_tag_list(str(p))


def test_results2det_and_regression():
    rel = np.array([[0.1, 0.3], [0.5, 0.9]])
    act = np.array([[0.0, 2.0, 0.0], [0.0, 0.0, 2.0]])   # K = 2
    comp = np.zeros((2, 2))
    reg = np.zeros((2, 2, 2))
    reg[0, 0] = [0.5, np.log(2)]
    dets = results2det(['v'], [(rel, act, comp, reg)], top_k=2)
    p = np.exp(2) / (np.exp(2) + 1)
    assert_allclose(dets[0]['v'], [[0.1, 0.3, p, 0.5, np.log(2)]])
    assert_allclose(dets[1]['v'], [[0.5, 0.9, p, 0, 0]])
    # center 0.2 + 0.2 * 0.5 = 0.3, length 0.4 -> [0.1, 0.5]
    assert_allclose(perform_regression(dets[0]['v'])[0, :3], [0.1, 0.5, p])
    fused = fuse_outputs([[(rel, act, comp, reg)], [(rel, act * 3, comp, reg)]], [1, 0.5])
    assert_allclose(fused[0][1], act * 2.5)


def _fake_outputs(records, rng, good: bool):
    """Outputs whose scores favour GT-like proposals (good) or are random."""
    outs = []
    for rec in records:
        rel = np.array([p.relative for p in rec.proposals], np.float32)
        act = rng.normal(size=(len(rel), 5)).astype(np.float32)
        if good:
            for i, p in enumerate(rec.proposals):
                act[i, p.label if p.best_iou > 0.5 else 0] += 4 * p.best_iou + 2
        comp = np.zeros((len(rel), 4), np.float32)
        outs.append((rel, act, comp, np.zeros((len(rel), 4, 2), np.float32)))
    return outs


def test_thumos_table_on_toy_lists(tmp_path):
    from data_tools.toy.build_toy_untrimmed import build_toy_untrimmed
    build_toy_untrimmed(str(tmp_path), num_train=2, num_val=6, min_frames=64, max_frames=96)
    ann = str(tmp_path / 'annotations' / 'tag_val_normalized_proposal_list.txt')
    lst = SSNProposalList(ann)
    rng = np.random.default_rng(0)
    ids = [r.video_id for r in lst.video_infos]
    good = evaluate_ssn(_fake_outputs(lst.video_infos, rng, True), ids, lst.get_all_gt(), 'thumos14', False)
    bad = evaluate_ssn(_fake_outputs(lst.video_infos, rng, False), ids, lst.get_all_gt(), 'thumos14', False)
    assert good['ap'].shape == (4, 9) and len(good['thresholds']) == 9
    assert good['mean_ap'][4] > bad['mean_ap'][4] + 0.2   # mAP@0.5
    assert 'Temporal detection performance (thumos14)' in good['table']
    assert '| IoU thresh | 0.10 ' in good['table'] and '| mean AP ' in good['table']

    # the CLI fusing two copies with weights 0.5 + 0.5 must reproduce the single-file numbers
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(f"data = dict(test=dict(ann_file={ann!r}))\n"
                   "test_cfg = dict(ssn=dict(evaluater=dict(top_k=2000, nms=0.2)))\n")
    pk = tmp_path / 'rgb.pkl'
    pk.write_bytes(pickle.dumps(_fake_outputs(lst.video_infos, np.random.default_rng(0), True)))
    run = subprocess.run([sys.executable, os.path.join(ROOT, 'tools', 'eval_localize_results.py'), str(cfg),
                          str(pk), str(pk), '--eval', 'thumos14', '--score_weights', '0.5', '0.5', '--no_regression'],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert 'Temporal detection performance (thumos14)' in run.stdout
    mean_row = [ln for ln in run.stdout.splitlines() if ln.startswith('| mean AP')][0]
    assert float(mean_row.split('|')[6]) == pytest.approx(good['mean_ap'][4], abs=1e-4)
