"""Raw video -> detections: mmaction.apis.inference_localizer and demo/long_video_detection.py, end to end on a
toy untrimmed video with tiny randomly initialised models."""
import csv
import json

import numpy as np
import pytest
import torch
from test_extract_features import NUM_FRAMES, FPS, TSN2D_CFG, load_tool, toy_untrimmed_frames

from mmaction.apis.feature_extraction import extract_video_features, write_features
from mmaction.apis.inference import init_recognizer
from mmaction.apis.inference_localizer import (detect_actions, inference_localizer, init_localizer, label_segments,
                                               segment_times, window_centres)
from mmaction.utils.checkpoint import save_checkpoint
from mmaction.utils.visualization import write_video

NAMES = ['jump', 'run', 'wave', 'sit']
BMN_CFG = """
model = dict(type='BMN', temporal_dim=8, boundary_ratio=0.5, num_samples=4, num_samples_per_bin=2, feat_dim=64,
             soft_nms_alpha=0.4, soft_nms_low_threshold=0.5, soft_nms_high_threshold=0.9, post_process_top_k=20,
             feature_extraction_interval=1, hidden_dim_1d=16, hidden_dim_2d=8, hidden_dim_3d=16)
"""


@pytest.fixture(scope='module')
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp('detect')
    (d / 'tsn2d.py').write_text(TSN2D_CFG)
    (d / 'bmn.py').write_text(BMN_CFG)
    (d / 'labels.txt').write_text('\n'.join(NAMES) + '\n')
    torch.manual_seed(0)
    save_checkpoint(init_recognizer(str(d / 'tsn2d.py')), str(d / 'tsn2d.pth'), meta=dict(epoch=1))
    save_checkpoint(init_localizer(str(d / 'bmn.py')), str(d / 'bmn.pth'), meta=dict(epoch=1))
    write_video(list(toy_untrimmed_frames()), str(d / 'long.mp4'), fps=FPS)
    return d


def test_segment_times_formula():
    info = dict(fps=10.0, stride=4, window=8, num_frames=45, num_windows=10)
    # 10 windows of 8 frames every 4: centres at frames 4..40, sequence spans frames [2, 42]
    np.testing.assert_allclose(segment_times([[0.0, 1.0], [0.5, 0.75]], info, 10, None),
                               [[0.2, 4.2], [2.2, 3.2]])
    np.testing.assert_allclose(window_centres(info)[[0, 9]], [0.4, 4.0])
    short = dict(fps=10.0, stride=4, window=8, num_frames=6, num_windows=1)
    np.testing.assert_allclose(segment_times([[0.0, 1.0]], short, 1, None), [[0.0, 0.6]])
    np.testing.assert_allclose(segment_times([[0.25, 1.5]], None, 4, 8.0), [[2.0, 8.0]])  # clipped to [0, 1]
    with pytest.raises(ValueError, match='duration'):
        segment_times([[0, 1]], None, 4, None)


def test_label_segments_uses_the_classifier_on_mean_window_features(env):
    rec = init_recognizer(str(env / 'tsn2d.py'), str(env / 'tsn2d.pth'))
    info = dict(fps=10.0, stride=4, window=8, num_frames=45, num_windows=10)
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(10, 64)).astype(np.float32)
    seg = label_segments(rec, feats, info, [dict(start_s=1.0, end_s=2.0, score=0.5)], NAMES)[0]
    # centres 0.4, 0.8, ..., 4.0 s: windows 2, 3, 4 (1.2, 1.6, 2.0 s) lie inside [1, 2]
    with torch.no_grad():
        probs = torch.softmax(rec.cls_head.fc_cls(torch.from_numpy(feats[2:5].mean(0, keepdims=True))), 1)[0]
    assert seg['label'] == NAMES[int(probs.argmax())] and seg['label_score'] == pytest.approx(float(probs.max()))
    assert seg['score'] == 0.5 and seg['start_s'] == 1.0


def test_inference_localizer_from_feature_files(env):
    rec = init_recognizer(str(env / 'tsn2d.py'), str(env / 'tsn2d.pth'))
    loc = init_localizer(str(env / 'bmn.py'), str(env / 'bmn.pth'))
    feats, info = extract_video_features(rec, str(env / 'long.mp4'), window=4, stride=4)
    write_features(str(env / 'feats'), 'long', feats, info, ('csv',))
    from_file = inference_localizer(loc, str(env / 'feats' / 'long.csv'))
    direct = inference_localizer(loc, feats, info)
    assert len(direct) > 0 and [d['score'] for d in direct] == sorted((d['score'] for d in direct), reverse=True)
    assert len(from_file) == len(direct)
    np.testing.assert_allclose([d['start_s'] for d in from_file], [d['start_s'] for d in direct], atol=1e-4)
    assert inference_localizer(loc, feats, info, top_k=3) == direct[:3]
    with pytest.raises(ValueError, match='expects 64'):
        inference_localizer(loc, np.zeros((5, 12), np.float32), duration=1.0)


def test_detect_actions_and_demo_end_to_end(env, capsys):
    rec = init_recognizer(str(env / 'tsn2d.py'), str(env / 'tsn2d.pth'))
    loc = init_localizer(str(env / 'bmn.py'), str(env / 'bmn.pth'))
    segments, info = detect_actions(rec, loc, str(env / 'long.mp4'), window=4, stride=4, label_map=NAMES, top_k=5)
    duration = NUM_FRAMES / FPS
    assert info['num_windows'] == (NUM_FRAMES - 4) // 4 + 1 == 11 and 0 < len(segments) <= 5
    for seg in segments:
        assert set(seg) == {'start_s', 'end_s', 'score', 'label', 'label_score'}
        assert 0.0 <= seg['start_s'] < seg['end_s'] <= duration and seg['label'] in NAMES
    assert [s['score'] for s in segments] == sorted((s['score'] for s in segments), reverse=True)

    demo = load_tool('demo/long_video_detection.py')
    out_json, out_csv = str(env / 'det.json'), str(env / 'det.csv')
    printed = demo.main([str(env / 'long.mp4'), '--recognizer-config', str(env / 'tsn2d.py'), '--recognizer-ckpt',
                         str(env / 'tsn2d.pth'), '--localizer-config', str(env / 'bmn.py'), '--localizer-ckpt',
                         str(env / 'bmn.pth'), '--label-map', str(env / 'labels.txt'), '--clip-len', '4',
                         '--stride', '4', '--top-k', '5', '--out-json', out_json, '--out-csv', out_csv])
    assert printed == segments  # same models, same video: the demo is the API
    out = capsys.readouterr().out
    assert f'{NUM_FRAMES} frames at 10 fps -> 11 feature windows -> {len(segments)} segments' in out
    with open(out_json) as f:
        saved = json.load(f)
    assert saved['segments'] == segments and saved['feature_info']['stride'] == 4
    with open(out_csv) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(segments) and list(rows[0]) == ['start_s', 'end_s', 'score', 'label', 'label_score']
    assert float(rows[0]['start_s']) == pytest.approx(segments[0]['start_s'], abs=1e-3)
    assert rows[-1]['label'] == segments[-1]['label']
