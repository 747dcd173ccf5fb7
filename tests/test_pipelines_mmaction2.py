"""mmaction2-style transforms (issue 3): samplers' worked examples, RGBDiff, ColorJitter, RandomRescale."""
import numpy as np
import pytest

import mmaction.datasets  # noqa: F401  (registration)
from mmaction.datasets.pipelines.augmentations import ColorJitter, RandomRescale, RGBDiff
from mmaction.datasets.pipelines.sampling import (DenseSampleFrames, SampleFrames, UniformSample,
                                                  UntrimmedSampleFrames)


def run(t, total, start_index=0, **extra):
    return t(dict(total_frames=total, start_index=start_index, **extra))


def test_sample_frames_2d_test_worked_example():
    out = run(SampleFrames(1, 1, 8, test_mode=True), 300)
    assert out['frame_inds'].tolist() == [18, 56, 93, 131, 168, 206, 243, 281]
    out = run(SampleFrames(1, 1, 8, test_mode=True, twice_sample=True), 300)
    assert out['frame_inds'].tolist() == [18, 56, 93, 131, 168, 206, 243, 281, 0, 37, 75, 112, 150, 187, 225, 262]
    assert run(SampleFrames(1, 1, 8, test_mode=True), 300, start_index=1)['frame_inds'][0] == 19


def test_sample_frames_3d_test_worked_example():
    out = run(SampleFrames(32, 2, 1, test_mode=True), 300)
    assert out['frame_inds'].tolist() == list(range(118, 181, 2))
    # test span (8 - 1) * 2 + 1 = 15: offsets round(i * 285 / 2) = 0, round(142.5) = 142 (half to even), 285
    out = run(SampleFrames(8, 2, 3, test_mode=True), 300)
    assert out['frame_inds'].reshape(3, 8)[:, 0].tolist() == [0, 142, 285]
    with pytest.raises(ValueError, match='divides by zero'):
        run(SampleFrames(8, 2, 1, test_mode=True, twice_sample=True), 300)


def test_sample_frames_train_branches():
    np.random.seed(4)
    expect = np.arange(8) * 37 + np.random.RandomState(4).randint(37, size=8)  # (300 - 1 + 1) // 8 = 37
    assert run(SampleFrames(1, 1, 8), 300)['frame_inds'].tolist() == expect.tolist()
    # too short for any branch but zeros: [0, 2, 4, 6] then out of bound (5 frames)
    assert run(SampleFrames(4, 2, 1), 5)['frame_inds'].tolist() == [0, 2, 4, 1]
    assert run(SampleFrames(4, 2, 1, out_of_bound_opt='repeat_last'), 5)['frame_inds'].tolist() == [0, 2, 4, 4]
    # avg == 0 -> rounded even spacing: around([0, 0.5]) = [0, 0]
    assert run(SampleFrames(4, 2, 2), 8)['frame_inds'].tolist() == [0, 2, 4, 6, 0, 2, 4, 6]
    np.random.seed(0)
    out = run(SampleFrames(4, 4, 1, temporal_jitter=True, test_mode=True), 100)
    base = 43 + 4 * np.arange(4)  # span (4 - 1) * 4 + 1 = 13, single clip centred: (100 - 13) // 2 = 43
    assert ((out['frame_inds'] - base >= 0) & (out['frame_inds'] - base < 4)).all()
    with pytest.raises(ValueError, match='out_of_bound_opt'):
        SampleFrames(1, out_of_bound_opt='clip')


def test_uniform_dense_untrimmed():
    out = run(UniformSample(4, num_clips=2, test_mode=True), 17)
    assert out['frame_inds'].tolist() == [1, 5, 9, 13, 2, 6, 10, 14]
    np.random.seed(0)
    out = run(UniformSample(4), 17)
    segs = [(0, 4), (4, 8), (8, 12), (12, 16)]
    assert all(lo <= i <= hi for i, (lo, hi) in zip(out['frame_inds'], segs)) and out['num_clips'] == 1
    out = run(DenseSampleFrames(2, 1, 2, sample_range=64, num_sample_positions=3, test_mode=True), 100)
    assert out['frame_inds'].tolist() == [0, 1, 32, 33, 18, 19, 50, 51, 36, 37, 68, 69]
    out = run(UntrimmedSampleFrames(clip_len=3, clip_interval=16, frame_interval=2), 40, start_index=1)
    assert out['frame_inds'].tolist() == [7, 9, 11, 23, 25, 27] and out['num_clips'] == 2


def test_rgbdiff_values():
    frames = np.array([1, 4, 9, 0, 10, 30], np.float32)[:, None, None, None] * np.ones((1, 2, 2, 3), np.float32)
    out = RGBDiff()(dict(imgs=frames, clip_len=3))
    assert out['clip_len'] == 2 and out['imgs'][:, 0, 0, 0].tolist() == [3, 5, 10, 20]


def test_random_rescale_short_side():
    np.random.seed(0)
    for _ in range(5):
        out = RandomRescale((200, 210))(dict(imgs=np.zeros((1, 256, 340, 3), np.uint8)))
        short = out['imgs'].shape[1]
        assert 200 <= short <= 210 and out['imgs'].shape[2] == int(340 * short / 256 + 0.5)


def test_color_jitter_brightness_and_replay():
    clip = np.full((2, 4, 4, 3), 100, np.uint8)
    out = ColorJitter(brightness=0.5, contrast=0, saturation=0, hue=0)(dict(imgs=clip.copy(), channel_order='rgb'))
    f = out['aug_params']['color_jitter']['brightness']
    assert 0.5 <= f <= 1.5 and out['imgs'][0, 0, 0, 0] == min(255, round(100 * f))
    again = ColorJitter()(dict(imgs=clip.copy(), channel_order='rgb', replay=out['aug_params']))
    assert again['aug_params']['color_jitter'] == out['aug_params']['color_jitter']
    gray = np.full((1, 2, 2, 3), 80, np.uint8)  # grey pixels are unchanged by saturation and hue
    out = ColorJitter(0, 0, 0.9, 0.3)(dict(imgs=gray, channel_order='bgr'))
    assert np.abs(out['imgs'].astype(int) - 80).max() <= 1
