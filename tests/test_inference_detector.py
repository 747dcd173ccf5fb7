"""mmaction.apis.init_detector / inference_detector on the toy AVA data with a tiny random FastRCNN."""
import os
import pickle

import numpy as np
import pytest
import torch

from data_tools.toy.build_toy_ava import build
from mmaction.apis import inference_detector, init_detector
from mmaction.apis.inference_detector import detect_keyframe, read_frames

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, 'configs', 'ava', 'toy', 'fast_rcnn_i3d_r18_thin_toy_ava.py')
W, H = 64, 48


@pytest.fixture(scope='module')
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp('infer_det')
    build(str(root / 'toy_ava'), num_train=1, num_val=1, seconds=3, size=(H, W), seed=1, mp4=True)
    torch.manual_seed(0)
    model = init_detector(CONFIG, None)
    with torch.no_grad():  # spread the scores so the ranking is not a tie around 0.5
        model.bbox_head.fc_cls.weight.normal_(0, 0.5)
    ckpt = root / 'model.pth'
    torch.save({'state_dict': model.state_dict()}, ckpt)
    ann = root / 'toy_ava' / 'annotations'
    props = pickle.load(open(ann / 'toy_ava_proposals_val.pkl', 'rb'))
    return root, str(ckpt), ann, props


def test_video_with_proposal_pickle(toy):
    root, ckpt, ann, props = toy
    model = init_detector(CONFIG, ckpt, device='cpu')
    video = str(root / 'toy_ava' / 'videos' / 'toy_val_0000.mp4')
    res, dets = inference_detector(model, video, str(ann / 'toy_ava_proposals_val.pkl'), timestamps=[1, 2],
                                   label_map=str(ann / 'toy_ava_action_list.pbtxt'), topk=3, return_scores=True)
    assert len(res) == 2 and [d[0] for d in dets] == [30, 60]  # key-frame ts -> frame round(ts * 30)
    from mmaction.datasets.ava_dataset import label_names
    names = set(label_names(str(ann / 'toy_ava_action_list.pbtxt')).values())
    for ts, per_frame, (_, _, scores) in zip((1, 2), res, dets):
        expected = props[f'toy_val_0000,{ts:04d}']
        thr = model.cfg.test_cfg.get('person_det_score_thr')
        kept = expected[expected[:, 4] >= min(thr, expected[:, 4].max())] if thr is not None else expected
        assert len(per_frame) == len(kept)
        # Boxes in video pixels: the normalised proposals times (W, H).
        np.testing.assert_allclose(np.stack([b for b, _ in per_frame]), kept[:, :4] * [W, H, W, H], atol=1e-3)
        for (box, actions), row in zip(per_frame, scores):
            assert box.shape == (4,) and len(actions) == 3
            got = [s for _, s in actions]
            assert got == sorted(got, reverse=True) and all(0 <= s <= 1 for s in got)
            assert got[0] == pytest.approx(float(row.max())) and got[-1] == pytest.approx(np.sort(row)[-3])
            assert all(label in names for label, _ in actions)
    # Default key-frames: every whole second of the 91-frame video; ts 0 and 3 have no proposals.
    full = inference_detector(model, video, str(ann / 'toy_ava_proposals_val.pkl'), topk=2, score_thr=2.0)
    assert len(full) == 4 and full[0] == [] and full[3] == []
    assert all(actions == [] for _, actions in full[1])  # no sigmoid score reaches 2.0


def test_frame_folder_matches_dataset_pipeline(toy):
    """The API's own clip sampling and preprocessing give the scores of the test dataset + model forward."""
    from mmaction.datasets import build_dataset
    from mmaction.models.detectors.bbox.transforms import bbox2roi
    root, ckpt, ann, props = toy
    model = init_detector(CONFIG, ckpt)
    test = dict(model.cfg.data.test)
    for k, v in test.items():
        if isinstance(v, str) and v.startswith('data/'):
            test[k] = v.replace('data/', str(root) + '/')
    dataset = build_dataset(test)
    sample = dataset[0]
    meta = sample['img_meta'][0]
    with torch.no_grad():
        p = model.filter_proposals(sample['proposals'][0], model.cfg.test_cfg.get('person_det_score_thr'))
        rois = bbox2roi([p])
        x = model.extract_feat(sample['img_group_0'][0][None])
        ref_boxes, ref_scores = model.bbox_head.get_det_bboxes(rois, model.roi_scores(x, rois), meta, True)
    folder = str(root / 'toy_ava' / 'rawframes' / meta['video_id'])
    frames, fps = read_frames(folder)
    assert fps == 30 and frames.shape == (91, H, W, 3)
    ts = meta['timestamp']
    boxes = props[f"{meta['video_id']},{ts:04d}"].copy()
    boxes[:, :4] *= [W, H, W, H]
    got_boxes, got_scores = detect_keyframe(model, frames, ts * 30, boxes)
    np.testing.assert_allclose(got_boxes, ref_boxes[:, :4].numpy(), atol=1e-3)
    np.testing.assert_allclose(got_scores, ref_scores[:, 1:].numpy(), atol=2e-3)
    res = inference_detector(model, folder, {ts: boxes}, timestamps=[ts], topk=8)
    assert [len(a) for _, a in res[0]] == [8] * len(got_boxes)
    np.testing.assert_allclose([a[0][1] for _, a in res[0]], got_scores.max(1), atol=1e-6)


def test_detector_callback_and_errors(toy):
    root, ckpt, ann, _ = toy
    model = init_detector(CONFIG, ckpt)
    video = str(root / 'toy_ava' / 'videos' / 'toy_val_0000.mp4')
    calls = []

    def detector(frame):
        calls.append(frame.shape)
        return np.array([[4, 4, 30, 40, 0.99], [10, 10, 20, 20, 0.1]], np.float32)
    res = inference_detector(model, video, detector, timestamps=[0, 3], label_map=list('abcdefgh'), topk=1)
    assert calls == [(H, W, 3)] * 2
    # The 0.1 box is dropped by the person-score filter (min(thr, best score)).
    assert [len(r) for r in res] == [1, 1]
    np.testing.assert_allclose(res[1][0][0], [4, 4, 30, 40], atol=1e-3)
    assert res[0][0][1][0][0] in 'abcdefgh'
    with pytest.raises(ValueError, match='timestamp 5 is frame 150, outside'):
        inference_detector(model, video, detector, timestamps=[5])
    with pytest.raises(TypeError, match='proposals must be'):
        inference_detector(model, video, 3)
    with pytest.raises(KeyError, match="no proposals for video id 'toy_train_0000'"):
        inference_detector(model, str(root / 'toy_ava' / 'videos' / 'toy_train_0000.mp4'),
                           str(ann / 'toy_ava_proposals_val.pkl'))
    with pytest.raises(ValueError, match='8 actions'):
        inference_detector(model, video, detector, timestamps=[0], label_map=['a'])
    with pytest.raises(ValueError, match='init_detector'):
        inference_detector(torch.nn.Linear(1, 1), video, detector)
