"""Python inference API, demos and drawing helpers on a tiny TSN checkpoint and generated videos."""
import csv
import importlib.util
import json
import os

import cv2
import numpy as np
import pytest
import torch

from mmaction.apis import inference_recognizer, inference_recognizer_frames, inference_recognizer_windows, \
    init_recognizer
from mmaction.apis.inference import _count_frames, sliding_windows, topk_labels
from mmaction.utils.checkpoint import save_checkpoint
from mmaction.utils.visualization import count_video_frames, denormalize, draw_text_lines, write_video

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
NAMES = ['jump', 'run', 'wave', 'sit']

TINY_CFG = """
model = dict(
    type='TSN2D',
    backbone=dict(type='ResNet', depth=18, base_channels=8, pretrained=None, out_indices=(3,), bn_eval=False),
    spatial_temporal_module=dict(type='SimpleSpatialModule', spatial_type='avg', spatial_size=2),
    segmental_consensus=dict(type='SimpleConsensus', consensus_type='avg'),
    cls_head=dict(type='ClsHead', with_avg_pool=False, temporal_feature_size=1, spatial_feature_size=1,
                  dropout_ratio=0.5, in_channels=64, num_classes=4, init_std=0.5))
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
data = dict(videos_per_gpu=2, workers_per_gpu=0,
            test=dict(type='RawFramesDataset', ann_file='unused.txt', img_prefix='unused', img_norm_cfg=img_norm_cfg,
                      num_segments=3, new_length=1, new_step=1, random_shift=False, modality='RGB',
                      image_tmpl='img_{:05d}.jpg', img_scale=64, input_size=56, flip_ratio=0,
                      resize_keep_ratio=True, oversample=None, test_mode=True))
"""


def load_tool(rel_path):
    path = os.path.join(ROOT, rel_path)
    spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def moving_square(num_frames=40, h=48, w=64):
    frames = []
    for t in range(num_frames):
        f = np.full((h, w, 3), 30, np.uint8)
        x = 2 + t
        f[10:30, x:x + 16] = (220, 60, 40)
        frames.append(f)
    return frames


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp('tiny')
    (d / 'cfg.py').write_text(TINY_CFG)
    (d / 'label_map.txt').write_text('\n'.join(NAMES) + '\n')
    torch.manual_seed(0)
    model = init_recognizer(str(d / 'cfg.py'))
    save_checkpoint(model, str(d / 'tiny.pth'), meta=dict(epoch=1))
    frames = moving_square()
    write_video(frames, str(d / 'clip.mp4'), fps=10)
    frame_dir = d / 'frames' / 'clip_0'
    frame_dir.mkdir(parents=True)
    for i, f in enumerate(frames, 1):
        cv2.imwrite(str(frame_dir / f'img_{i:05d}.jpg'), cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    return d


def decoded_frames(path):
    import av
    with av.open(path) as container:
        return np.stack([f.to_ndarray(format='rgb24') for f in container.decode(video=0)])


def test_inference_matches_model_on_dataset_sample(tiny):
    model = init_recognizer(str(tiny / 'cfg.py'), str(tiny / 'tiny.pth'), device='cpu')
    assert not model.training and next(model.parameters()).device.type == 'cpu'
    result, probs = inference_recognizer(model, str(tiny / 'clip.mp4'), topk=3, label_map=str(tiny / 'label_map.txt'),
                                         return_scores=True)
    assert probs.shape == (4,) and probs.sum() == pytest.approx(1.0, abs=1e-9)
    assert len(result) == 3 and all(isinstance(n, str) for n, _ in result)
    scores = [s for _, s in result]
    assert scores == sorted(scores, reverse=True)
    order = np.argsort(-probs)
    assert [n for n, _ in result] == [NAMES[i] for i in order[:3]]
    # the same numbers by hand: the config's test dataset on a one-line list, the model, a softmax
    from mmaction.datasets import build_dataset
    (tiny / 'list.txt').write_text('clip 0\n')
    cfg = dict(model.cfg.data.test, type='VideoDataset', ann_file=str(tiny / 'list.txt'), img_prefix=str(tiny),
               video_ext='mp4')
    cfg.pop('image_tmpl')
    sample = build_dataset(cfg)[0]
    assert sample['img_group_0'].shape == (3, 3, 56, 56)
    with torch.no_grad():
        logits = model(return_loss=False, img_meta=[sample['img_meta']], img_group_0=sample['img_group_0'][None])
    np.testing.assert_allclose(probs, torch.softmax(torch.from_numpy(logits[0]).double(), 0).numpy(), rtol=1e-6)


def test_checkpoint_is_loaded_and_indices_without_label_map(tiny):
    torch.manual_seed(123)  # a different init: only the checkpoint can make the outputs agree
    a = init_recognizer(str(tiny / 'cfg.py'), str(tiny / 'tiny.pth'))
    b = init_recognizer(str(tiny / 'cfg.py'), str(tiny / 'tiny.pth'))
    ra = inference_recognizer(a, str(tiny / 'clip.mp4'), topk=10)
    rb = inference_recognizer(b, str(tiny / 'clip.mp4'), topk=10)
    assert ra == rb and len(ra) == 4  # topk is capped at the class count
    assert sorted(label for label, _ in ra) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match='has 2 names but the model predicts 4'):
        inference_recognizer(a, str(tiny / 'clip.mp4'), label_map=['a', 'b'])
    with pytest.raises(FileNotFoundError, match='input not found'):
        inference_recognizer(a, str(tiny / 'missing.mp4'))


def test_frame_folder_and_in_memory_frames(tiny):
    model = init_recognizer(str(tiny / 'cfg.py'), str(tiny / 'tiny.pth'))
    folder = str(tiny / 'frames' / 'clip_0')
    assert _count_frames(folder, 'img_{:05d}.jpg') == 40
    res, probs = inference_recognizer(model, folder, topk=4, return_scores=True)
    assert probs.shape == (4,) and probs.sum() == pytest.approx(1.0)
    # in-memory frames equal to the decoded file give exactly the file's result
    _, file_probs = inference_recognizer(model, str(tiny / 'clip.mp4'), return_scores=True)
    _, mem_probs = inference_recognizer_frames(model, decoded_frames(str(tiny / 'clip.mp4')), return_scores=True)
    np.testing.assert_allclose(mem_probs, file_probs, atol=1e-6)
    # JPEG frames and the H.264 video hold nearly the same pixels
    np.testing.assert_allclose(probs, file_probs, atol=0.05)


def test_sliding_windows_spans():
    assert sliding_windows(100, 32, 16) == [(0, 32), (16, 48), (32, 64), (48, 80), (64, 96), (68, 100)]
    assert sliding_windows(64, 32, 32) == [(0, 32), (32, 64)]
    assert sliding_windows(10, 32, 16) == [(0, 10)]
    with pytest.raises(ValueError, match='stride'):
        sliding_windows(10, 4, 0)


def test_window_inference_equals_clip_inference(tiny):
    model = init_recognizer(str(tiny / 'cfg.py'), str(tiny / 'tiny.pth'))
    frames = decoded_frames(str(tiny / 'clip.mp4'))
    windows = list(inference_recognizer_windows(model, str(tiny / 'clip.mp4'), window=16, stride=12, topk=2,
                                                label_map=NAMES, batch_size=3))
    assert [(w['start_frame'], w['end_frame']) for w in windows] == [(0, 16), (12, 28), (24, 40)]
    assert windows[1]['start_time'] == pytest.approx(1.2) and windows[2]['end_time'] == pytest.approx(4.0)
    for w in windows:
        _, expect = inference_recognizer_frames(model, frames[w['start_frame']:w['end_frame']], return_scores=True)
        np.testing.assert_allclose(w['probs'], expect, atol=1e-6)
        expect_top = topk_labels(expect, NAMES, 2)
        assert [n for n, _ in w['topk']] == [n for n, _ in expect_top]
        np.testing.assert_allclose([s for _, s in w['topk']], [s for _, s in expect_top], atol=1e-6)


def test_demo_writes_annotated_video(tiny, capsys):
    demo = load_tool('demo/demo.py')
    out = str(tiny / 'out.mp4')
    results = demo.main([str(tiny / 'cfg.py'), str(tiny / 'tiny.pth'), str(tiny / 'clip.mp4'),
                         str(tiny / 'label_map.txt'), '--out-file', out, '--topk', '3'])
    printed = capsys.readouterr().out
    assert 'The top-3 labels' in printed and f'{results[0][0]}: {results[0][1]:.4f}' in printed
    assert count_video_frames(out) == 40
    first = decoded_frames(out)[0]
    assert first.shape == (48, 64, 3)
    # the label box darkens the top-left corner; the bottom-right stays the background grey
    assert first[40:, 50:].mean() == pytest.approx(30, abs=4)
    gif = str(tiny / 'out.gif')
    demo.main([str(tiny / 'cfg.py'), str(tiny / 'tiny.pth'), str(tiny / 'frames' / 'clip_0'),
               str(tiny / 'label_map.txt'), '--out-file', gif])
    from PIL import Image
    with Image.open(gif) as im:
        assert im.n_frames == 40 and im.size == (64, 48)


def test_long_video_demo_outputs(tiny, capsys):
    tool = load_tool('demo/long_video_demo.py')
    out_json, out_csv, out_mp4 = (str(tiny / n) for n in ('w.json', 'w.csv', 'long.mp4'))
    records = tool.main([str(tiny / 'cfg.py'), str(tiny / 'tiny.pth'), str(tiny / 'clip.mp4'),
                         str(tiny / 'label_map.txt'), '--window', '16', '--stride', '8', '--topk', '2',
                         '--out-json', out_json, '--out-csv', out_csv, '--out-file', out_mp4])
    with open(out_json) as f:
        saved = json.load(f)
    assert saved['windows'] == records and len(records) == 4
    assert [(r['start_frame'], r['start_time']) for r in records] == [(0, 0.0), (8, 0.8), (16, 1.6), (24, 2.4)]
    assert all(r['topk'][0]['label'] in NAMES and len(r['topk']) == 2 for r in records)
    with open(out_csv) as f:
        rows = list(csv.reader(f))
    assert rows[0][:6] == ['start_frame', 'end_frame', 'start_time', 'end_time', 'label1', 'score1']
    assert len(rows) == 5 and rows[4][4] == records[3]['topk'][0]['label']
    assert count_video_frames(out_mp4) == 40
    lines = tool.frame_labels(40, [dict(start_frame=s, end_frame=s + 16, start_time=s / 10, end_time=(s + 16) / 10,
                                        topk=[('a', 0.9 if s else 0.1)]) for s in (0, 8, 16, 24)], threshold=0.5)
    assert lines[0] == ['0.0-1.6s', 'background'] and lines[39][1] == 'a: 0.90'
    # window centres 7.5, 15.5, 23.5, 31.5: frame 11 is nearer 7.5, frame 12 nearer 15.5
    assert lines[11][0] == '0.0-1.6s' and lines[12][0] == '0.8-2.4s' and lines[28][0] == '2.4-4.0s'


def test_demo_on_shared_sample_video(tiny, samples_dir):
    video = os.path.join(samples_dir, 'demo', 'demo.mp4')
    if not os.path.isfile(video):
        pytest.skip(f'{video} not found')
    model = init_recognizer(str(tiny / 'cfg.py'), str(tiny / 'tiny.pth'))
    result, probs = inference_recognizer(model, video, topk=5, label_map=NAMES, return_scores=True)
    assert len(result) == 4 and probs.sum() == pytest.approx(1.0)


def test_cuda_request_without_cuda_is_clear(tiny):
    if torch.cuda.is_available():
        model = init_recognizer(str(tiny / 'cfg.py'), str(tiny / 'tiny.pth'), device='cuda')
        assert next(model.parameters()).is_cuda
        assert len(inference_recognizer(model, str(tiny / 'clip.mp4'))) == 4
    else:
        with pytest.raises(RuntimeError, match='CUDA is not available'):
            init_recognizer(str(tiny / 'cfg.py'), str(tiny / 'tiny.pth'), device='cuda')


def test_drawing_and_denormalize():
    frame = np.full((120, 160, 3), 200, np.uint8)
    out = draw_text_lines(frame, ['jump: 0.900', 'run: 0.100'])
    assert out.shape == frame.shape and (frame == 200).all()  # input untouched
    changed = np.argwhere((out != 200).any(axis=2))
    assert changed[:, 0].max() < 60 and changed[:, 1].max() < 120  # text stays in the top-left box
    mean, std = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
    rgb = np.random.default_rng(0).integers(0, 256, (2, 8, 8, 3)).astype(np.uint8)
    normed = (rgb.astype(np.float32) - mean) / std
    back = denormalize(normed.transpose(0, 3, 1, 2), mean, std, to_rgb=True)
    assert np.abs(back.astype(int) - rgb).max() <= 1
    bgr_normed = (rgb[..., ::-1].astype(np.float32) - mean[::-1]) / std[::-1]  # to_rgb=False keeps BGR
    back = denormalize(bgr_normed.transpose(0, 3, 1, 2), mean[::-1], std[::-1], to_rgb=False)
    assert np.abs(back.astype(int) - rgb).max() <= 1
    with pytest.raises(ValueError, match='unsupported output extension'):
        write_video([frame], '/tmp/x.webm')
