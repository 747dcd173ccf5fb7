"""demo/demo_spatiotemporal_det.py on a toy AVA video with an untrained thin FastRCNN (fast)."""
import os
import sys

import numpy as np
import pytest
import torch

from data_tools.toy.build_toy_ava import build
from mmaction.apis.inference_detector import detect_keyframes, detector_lookup, init_detector

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'demo'))
CONFIG = os.path.join(ROOT, 'configs', 'ava', 'toy', 'fast_rcnn_i3d_r18_thin_toy_ava.py')


@pytest.fixture(scope='module')
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp('demo_st')
    build(str(root / 'toy_ava'), num_train=1, num_val=1, seconds=3, size=(48, 64), seed=1, mp4=True)
    torch.manual_seed(0)
    model = init_detector(CONFIG, None)
    ckpt = root / 'model.pth'
    torch.save({'state_dict': model.state_dict()}, ckpt)
    return root, str(ckpt)


def test_demo_cli_renders_boxes(toy):
    import demo_spatiotemporal_det as demo
    from mmaction.utils.visualization import read_video
    root, ckpt = toy
    ann = root / 'toy_ava' / 'annotations'
    out = root / 'out.mp4'
    dets = demo.main([str(root / 'toy_ava' / 'videos' / 'toy_val_0000.mp4'), '--config', CONFIG, '--checkpoint',
                      ckpt, '--proposals', str(ann / 'toy_ava_proposals_val.pkl'), '--label-map',
                      str(ann / 'toy_ava_action_list.pbtxt'), '--out-file', str(out), '--action-score-thr', '0'])
    # Key-frames with proposals: timestamps 1 and 2 -> frames 30 and 60 (0-based).
    assert [d[0] for d in dets] == [30, 60]
    import pickle
    props = pickle.load(open(ann / 'toy_ava_proposals_val.pkl', 'rb'))['toy_val_0000,0001']
    boxes, scores = dets[0][1], dets[0][2]
    assert scores.shape == (len(props), 8) and np.all((scores >= 0) & (scores <= 1))
    # Boxes come back in video pixels: the normalised proposals times (64, 48).
    np.testing.assert_allclose(boxes, props[:, :4] * [64, 48, 64, 48], atol=1e-3)
    frames, _ = read_video(str(out))
    assert len(frames) == 3 * 30 + 1 and frames[0].shape == (48, 64, 3)
    # Frame 45 carries the key-frame-30 boxes: the left edge of the first box is drawn in green.
    x1, y1, x2, y2 = np.round(boxes[0]).astype(int)
    edge = frames[45][y1 + 1:y2, max(x1, 0)].astype(int)
    assert np.median(edge[:, 1] - edge[:, [0, 2]].max(1)) > 60


def test_detector_callback_api(toy):
    import demo_spatiotemporal_det as demo
    from mmaction.utils.visualization import read_video
    root, ckpt = toy
    model = init_detector(CONFIG, ckpt)
    frames, fps = read_video(str(root / 'toy_ava' / 'videos' / 'toy_val_0000.mp4'))
    calls = []

    def detector(frame):
        calls.append(frame.shape)
        return np.array([[4, 4, 30, 40, 0.99]], np.float32)
    dets = detect_keyframes(model, frames, fps, detector_lookup(detector, frames))
    assert [d[0] for d in dets] == [0, 30, 60, 90] and calls == [(48, 64, 3)] * 4
    np.testing.assert_allclose(dets[1][1], [[4, 4, 30, 40]], atol=1e-3)
    drawn = demo.render(frames, dets, {}, score_thr=2.0)  # no action passes: only boxes
    assert len(drawn) == len(frames) and not np.array_equal(drawn[0], frames[0])
    assert np.array_equal(demo.render(frames, [], {})[5], frames[5])
