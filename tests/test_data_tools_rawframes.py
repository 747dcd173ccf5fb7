"""data_tools/build_rawframes.py and data_tools/flow.py: frame counts, flow quantisation, resume, failures."""
import os
import shutil

import cv2
import numpy as np
import pytest

from data_tools import build_rawframes as br
from data_tools.flow import DIS_PRESETS, dequantize_flow, make_flow_fn, quantize_flow
from data_tools.media import write_h264


def _moving_square_video(path, n=8, size=(48, 64), step=2):
    """A textured square translating ``step`` px right per frame on a static textured background."""
    h, w = size
    rng = np.random.default_rng(0)
    bg = cv2.GaussianBlur(rng.uniform(0, 255, (h, w, 3)).astype(np.float32), (0, 0), 2).astype(np.uint8)
    patch = cv2.GaussianBlur(rng.uniform(0, 255, (16, 16, 3)).astype(np.float32), (0, 0), 1).astype(np.uint8)
    frames = []
    for t in range(n):
        f = bg.copy()
        x = 8 + step * t
        f[16:32, x:x + 16] = patch
        frames.append(f)
    write_h264(path, np.stack(frames), fps=25)
    return np.stack(frames)


@pytest.fixture
def video_tree(tmp_path):
    src = tmp_path / 'videos'
    for cls, names in {'walk': ['v1', 'v2'], 'run': ['v3']}.items():
        for i, name in enumerate(names):
            _moving_square_video(str(src / cls / f'{name}.mp4'), n=6 + i)
    return str(src)


def test_quantize_matches_dense_flow_formula():
    bound = 20.0
    flow = np.array([[[-25.0, -20.0], [-0.07, 0.0], [0.08, 19.9], [20.0, 33.0]]], np.float32)
    x, y = quantize_flow(flow, bound)
    # cvRound(255 * (v + 20) / 40), saturated outside [-20, 20]
    assert x.tolist() == [[0, 127, 128, 255]]
    assert y.tolist() == [[0, 128, 254, 255]]  # 0 -> 127.5 rounds half to even; 19.9 -> 254.36
    v = np.random.default_rng(0).uniform(-bound, bound, (20, 30, 2)).astype(np.float32)
    back = dequantize_flow(*quantize_flow(v, bound), bound)
    assert np.abs(back - v).max() <= bound / 255 + 1e-5  # half a quantisation step


def test_flow_jpeg_round_trip_within_one_step(tmp_path):
    # a smooth flow field (what real flow looks like) survives JPEG q95 to within one quantisation level:
    # error <= half a step from quantising + at most one step from JPEG
    yy, xx = np.mgrid[0:64, 0:80].astype(np.float32)
    flow = np.stack([8 * np.sin(xx / 13.0), 5 * np.cos(yy / 9.0)], -1)
    fx, fy = quantize_flow(flow)
    for name, img in (('x.jpg', fx), ('y.jpg', fy)):
        cv2.imwrite(str(tmp_path / name), img, [cv2.IMWRITE_JPEG_QUALITY, 95])
    jx, jy = cv2.imread(str(tmp_path / 'x.jpg'), 0), cv2.imread(str(tmp_path / 'y.jpg'), 0)
    assert np.abs(jx.astype(int) - fx).max() <= 1 and np.abs(jy.astype(int) - fy).max() <= 1
    err = np.abs(dequantize_flow(jx, jy) - flow)
    step = 40.0 / 255
    assert err.max() <= 1.5 * step + 1e-5 and err.mean() < 0.5 * step


@pytest.mark.parametrize('flow_type', ['dis', 'farneback'])
def test_flow_measures_translation(flow_type):
    rng = np.random.default_rng(1)
    img = cv2.GaussianBlur(rng.uniform(0, 255, (64, 80)).astype(np.float32), (0, 0), 2).astype(np.uint8)
    shifted = np.roll(img, 3, axis=1)  # content moves 3 px right
    flow = make_flow_fn(flow_type)(img, shifted)
    inner = flow[8:-8, 8:-8]
    assert np.median(inner[..., 0]) == pytest.approx(3.0, abs=0.3)
    assert np.median(inner[..., 1]) == pytest.approx(0.0, abs=0.3)


@pytest.mark.parametrize('preset', ['ultrafast', 'fast', 'medium'])
def test_dis_presets_measure_translation_and_are_applied(preset):
    rng = np.random.default_rng(2)
    img = cv2.GaussianBlur(rng.uniform(0, 255, (96, 128)).astype(np.float32), (0, 0), 2).astype(np.uint8)
    shifted = np.roll(np.roll(img, 4, axis=1), -2, axis=0)  # content moves 4 px right, 2 px up
    flow = make_flow_fn('dis', preset)(img, shifted)
    inner = flow[16:-16, 16:-16]
    assert np.median(inner[..., 0]) == pytest.approx(4.0, abs=0.5)
    assert np.median(inner[..., 1]) == pytest.approx(-2.0, abs=0.5)
    # the function really uses that preset: bit-identical to OpenCV's DIS created with it
    ref = cv2.DISOpticalFlow_create(DIS_PRESETS[preset]).calc(img, shifted, None)
    np.testing.assert_array_equal(flow, ref)


def test_dis_presets_differ_and_bad_preset_is_rejected(video_tree, tmp_path):
    rng = np.random.default_rng(3)
    img = cv2.GaussianBlur(rng.uniform(0, 255, (96, 128)).astype(np.float32), (0, 0), 2).astype(np.uint8)
    shifted = np.roll(img, 3, axis=1)
    flows = {p: make_flow_fn('dis', p)(img, shifted) for p in DIS_PRESETS}
    assert not np.array_equal(flows['ultrafast'], flows['medium'])
    with pytest.raises(ValueError, match="--flow-preset must be one of .*'slow'"):
        make_flow_fn('dis', 'slow')
    with pytest.raises(ValueError, match='--flow-preset'):
        br.build_rawframes(video_tree, str(tmp_path / 'raw'), task='flow', flow_type='dis', flow_preset='slow')
    assert not os.path.exists(tmp_path / 'raw')  # rejected before any output


def test_flow_preset_cli_is_used_and_reported(video_tree, tmp_path, capsys):
    out = tmp_path / 'raw'
    assert br.main([video_tree, str(out), '--task', 'flow', '--flow-type', 'dis', '--flow-preset', 'ultrafast',
                    '--num-workers', '1', '--quiet']) == 0
    text = capsys.readouterr().out
    assert 'optical flow: dis-ultrafast' in text and 'flow (dis-ultrafast): 16 pairs' in text
    # the written JPEGs are the ultrafast flow of the decoded frames, quantised
    frames = [f for f in br.iter_video_frames(os.path.join(video_tree, 'run', 'v3.mp4'), 'decord')]
    g = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY) for f in frames[:2]]
    fx, fy = quantize_flow(cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST).calc(g[0], g[1], None))
    jx = cv2.imread(str(out / 'run' / 'v3' / 'flow_x_00001.jpg'), 0)
    jy = cv2.imread(str(out / 'run' / 'v3' / 'flow_y_00001.jpg'), 0)
    # JPEG (quality 95) error only: a wrong preset gives differences of many steps near the moving square
    assert np.abs(jx.astype(int) - fx).max() <= 3 and np.abs(jy.astype(int) - fy).max() <= 3


def test_rgb_frame_counts_equal_decoder_count_on_samples(samples_dir, tmp_path):
    decord = pytest.importorskip('decord')
    src = tmp_path / 'src'
    (src / 'cls').mkdir(parents=True)
    video = os.path.join(samples_dir, 'tests', 'data', 'rawvideo_dataset', 'part_0.mp4')
    os.symlink(video, src / 'cls' / 'part_0.mp4')
    out = tmp_path / 'out'
    results = br.build_rawframes(str(src), str(out), level=2, ext='mp4', task='rgb', num_workers=1, progress=False)
    vr = decord.VideoReader(video)
    assert [(r.video, r.status, r.frames) for r in results] == [('cls/part_0.mp4', 'done', len(vr))]
    files = sorted(os.listdir(out / 'cls' / 'part_0'))
    assert files == [f'img_{i:05d}.jpg' for i in range(1, len(vr) + 1)]
    # frame k on disk is the decoder's frame k-1 (1-based names), up to JPEG loss
    last = cv2.imread(str(out / 'cls' / 'part_0' / f'img_{len(vr):05d}.jpg'))[..., ::-1]
    assert np.abs(last.astype(int) - vr[len(vr) - 1].asnumpy()).mean() < 3


def test_both_tasks_layout_and_flow_values(video_tree, tmp_path):
    out = tmp_path / 'raw'
    results = br.build_rawframes(video_tree, str(out), task='both', flow_type='dis', num_workers=2, progress=False)
    assert [(r.video, r.status, r.frames, r.flows) for r in results] == [
        ('run/v3.mp4', 'done', 6, 5), ('walk/v1.mp4', 'done', 6, 5), ('walk/v2.mp4', 'done', 7, 6)]
    d = out / 'walk' / 'v2'
    names = sorted(os.listdir(d))
    assert names == sorted([f'img_{i:05d}.jpg' for i in range(1, 8)] + [f'flow_x_{i:05d}.jpg' for i in range(1, 7)]
                           + [f'flow_y_{i:05d}.jpg' for i in range(1, 7)])
    flow = dequantize_flow(cv2.imread(str(d / 'flow_x_00003.jpg'), 0), cv2.imread(str(d / 'flow_y_00003.jpg'), 0))
    # the square (rows 16-32) moves +2 px in x; the background is static (flow ~ 0 -> pixel value ~128)
    x = 8 + 2 * 2
    assert np.median(flow[19:29, x + 3:x + 13, 0]) == pytest.approx(2.0, abs=0.5)
    assert abs(np.median(flow[38:, :, 0])) < 0.3 and abs(np.median(flow[..., 1])) < 0.3


def test_resize_options(video_tree, tmp_path):
    out = tmp_path / 'short'
    br.build_rawframes(video_tree, str(out), task='rgb', new_short=24, progress=False)
    assert cv2.imread(str(out / 'run' / 'v3' / 'img_00001.jpg')).shape == (24, 32, 3)
    out = tmp_path / 'wh'
    br.build_rawframes(video_tree, str(out), task='rgb', new_width=40, new_height=30, progress=False)
    assert cv2.imread(str(out / 'run' / 'v3' / 'img_00001.jpg')).shape == (30, 40, 3)
    with pytest.raises(ValueError, match='new-short'):
        br.build_rawframes(video_tree, str(out), new_short=24, new_width=40)


def test_resume_skips_complete_and_redoes_partial(video_tree, tmp_path):
    out = tmp_path / 'raw'
    br.build_rawframes(video_tree, str(out), task='rgb', progress=False)
    done_mtime = os.path.getmtime(out / 'walk' / 'v1' / 'img_00001.jpg')
    os.remove(out / 'walk' / 'v2' / 'img_00007.jpg')  # partial (e.g. written by another tool)
    shutil.rmtree(out / 'run' / 'v3')
    os.makedirs(out / 'run' / '.v3.xyz12345.tmp')  # debris of an interrupted run
    (out / 'run' / '.v3.xyz12345.tmp' / 'img_00001.jpg').write_bytes(b'')
    results = br.build_rawframes(video_tree, str(out), task='rgb', resume=True, progress=False)
    assert {r.video: r.status for r in results} == {'walk/v1.mp4': 'skipped', 'walk/v2.mp4': 'done',
                                                     'run/v3.mp4': 'done'}
    assert os.path.getmtime(out / 'walk' / 'v1' / 'img_00001.jpg') == done_mtime
    assert len(os.listdir(out / 'walk' / 'v2')) == 7 and len(os.listdir(out / 'run' / 'v3')) == 6
    assert os.listdir(out / 'run') == ['v3']
    # rgb-only output is not complete for --task both: flow gets computed
    results = br.build_rawframes(video_tree, str(out), task='both', flow_type='dis', resume=True, progress=False)
    assert all(r.status == 'done' for r in results) and len(os.listdir(out / 'walk' / 'v1')) == 6 + 5 + 5


def test_use_frames_adds_flow_with_xy_naming(video_tree, tmp_path):
    raw = tmp_path / 'raw'
    br.build_rawframes(video_tree, str(raw), task='rgb', progress=False)
    results = br.build_rawframes(str(raw), str(raw), task='flow', flow_type='farneback', flow_naming='x',
                                 use_frames=True, progress=False)
    assert [(r.video, r.status, r.frames, r.flows) for r in results][0] == ('run/v3', 'done', 6, 5)
    names = sorted(os.listdir(raw / 'run' / 'v3'))
    assert names == sorted([f'img_{i:05d}.jpg' for i in range(1, 7)] + [f'x_{i:05d}.jpg' for i in range(1, 6)]
                           + [f'y_{i:05d}.jpg' for i in range(1, 6)])
    assert not [n for n in os.listdir(raw / 'run') if n != 'v3']
    with pytest.raises(ValueError, match='--task flow'):
        br.build_rawframes(str(raw), str(raw), task='rgb', use_frames=True)


def test_failures_are_reported_not_fatal(video_tree, tmp_path, capsys):
    with open(os.path.join(video_tree, 'run', 'broken.mp4'), 'wb') as f:
        f.write(b'\x00\x00\x00\x18ftypmp42 this is not a video')
    out = tmp_path / 'raw'
    fail_file = tmp_path / 'failures.txt'
    rc = br.main([video_tree, str(out), '--num-workers', '1', '--quiet', '--failures', str(fail_file)])
    assert rc == 1
    text = capsys.readouterr().out
    assert '3 extracted, 0 skipped (already complete), 1 failed' in text
    assert 'run/broken.mp4' in text and 'RGB: 19 frames' in text
    assert fail_file.read_text().startswith('run/broken.mp4\t')
    assert not os.path.exists(out / 'run' / 'broken')
    with pytest.raises(FileNotFoundError, match='no \\*.avi videos'):
        br.build_rawframes(video_tree, str(out), ext='avi')
