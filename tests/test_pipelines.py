"""Transforms of mmaction.datasets.pipelines against hand-computed indices, boxes and values."""
import math

import numpy as np
import pytest

import mmaction.datasets  # noqa: F401  (registration)
from mmaction.datasets.pipelines.augmentations import (CenterCrop, Flip, FlowInvertX, MultiScaleCrop, Normalize,
                                                       RandomResizedCrop, Resize, TenCrop, ThreeCrop,
                                                       fill_fix_offset)
from mmaction.datasets.pipelines.compose import Compose
from mmaction.datasets.pipelines.formatting import FormatShape
from mmaction.datasets.pipelines.sampling import TSNSampleFrames, tsn_clip_frames, tsn_segment_offsets
from mmaction.registry import ConfigError


class FixedRng:
    """Returns the queued arrays from randint, to check the formulas around the random draw."""

    def __init__(self, *draws):
        self.draws = list(draws)
        self.calls = []

    def randint(self, high, size):
        self.calls.append((high, size))
        return np.asarray(self.draws.pop(0))


def coord_clip(n=2, h=256, w=340):
    """Frames whose pixel (y, x) holds (x % 256, y % 256, frame index)."""
    ys, xs = np.mgrid[0:h, 0:w]
    base = np.stack([xs % 256, ys % 256, np.zeros_like(xs)], -1).astype(np.uint8)
    clip = np.repeat(base[None], n, 0)
    clip[..., 2] = np.arange(n, dtype=np.uint8)[:, None, None]
    return clip


# ---------------------------------------------------------------- sampling (original §5.2)
def test_train_offsets_random_shift():
    rng = FixedRng([2, 0, 1])
    # avg = (10 - 1 + 1) // 3 = 3 -> [0, 3, 6] + [2, 0, 1] + 1
    assert tsn_segment_offsets(10, 3, 1, 'train', rng).tolist() == [3, 4, 8]
    assert rng.calls == [(3, 3)]


def test_train_offsets_short_video_sorted_random():
    rng = FixedRng([2, 0, 1, 0])
    # avg = (10 - 8 + 1) // 4 = 0 and 10 > max(4, 8): sorted randint(3, size=4) + 1
    assert tsn_segment_offsets(10, 4, 8, 'train', rng).tolist() == [1, 1, 2, 3]
    assert rng.calls == [(3, 4)]


def test_train_offsets_very_short_video_zeros():
    assert tsn_segment_offsets(5, 8, 1, 'train').tolist() == [1] * 8


def test_val_and_test_offsets():
    # tick = 10 / 3: int(1.67)=1, int(5.0)=5, int(8.33)=8
    assert tsn_segment_offsets(10, 3, 1, 'val').tolist() == [2, 6, 9]
    # val needs num_frames > num_segments + old_length - 1; test only > old_length - 1
    assert tsn_segment_offsets(3, 3, 1, 'val').tolist() == [1, 1, 1]
    assert tsn_segment_offsets(3, 3, 1, 'test').tolist() == [1, 2, 3]
    # 300 frames, 25 segments: tick 12 -> 6 + 12 i, 1-based
    assert tsn_segment_offsets(300, 25, 1, 'test').tolist() == [7 + 12 * i for i in range(25)]
    # I3D test: 300 frames, 10 clips of 32 x 2: tick = 237 / 10
    assert tsn_segment_offsets(300, 10, 64, 'test').tolist() == [int(11.85 + 23.7 * i) + 1 for i in range(10)]


def test_clip_frames_repeat_at_end():
    # p advances by new_step only while p + new_step < num_frames
    assert tsn_clip_frames(np.array([1]), np.zeros(4, int), 5, 4, 2).tolist() == [1, 3, 3, 3]
    assert tsn_clip_frames(np.array([1]), np.ones(4, int), 5, 4, 2).tolist() == [2, 4, 4, 4]
    # p + skip past the end falls back to p
    assert tsn_clip_frames(np.array([5]), np.array([1]), 5, 1, 2).tolist() == [5]
    assert tsn_clip_frames(np.array([1, 6]), np.zeros(2, int), 20, 2, 3).tolist() == [1, 4, 6, 9]


def test_tsn_sample_frames_transform_start_index():
    t = TSNSampleFrames(num_segments=3, new_length=2, new_step=1, random_shift=False)
    out = t(dict(total_frames=10, start_index=0))
    # val offsets tick = 9/3 = 3: int(1.5)=1, 4, 7 -> 1-based 2, 5, 8 -> 0-based
    assert out['frame_inds'].tolist() == [1, 2, 4, 5, 7, 8]
    assert (out['clip_len'], out['num_clips'], out['frame_interval']) == (2, 3, 1)
    out = TSNSampleFrames(3, 2, 1, random_shift=False)(dict(total_frames=10, start_index=1))
    assert out['frame_inds'].tolist() == [2, 3, 5, 6, 8, 9]


def test_tsn_sample_frames_seeded_train_and_jitter():
    np.random.seed(3)
    expected_r = np.random.RandomState(3).randint(33, size=3)
    out = TSNSampleFrames(3, 1, 1, random_shift=True)(dict(total_frames=100, start_index=1))
    assert out['frame_inds'].tolist() == (np.arange(3) * 33 + expected_r + 1).tolist()
    np.random.seed(0)
    out = TSNSampleFrames(1, 4, 4, random_shift=False, temporal_jitter=True)(dict(total_frames=100, start_index=1))
    starts = np.array([int((100 - 16 + 1) / 2.0) + 1 + 4 * i for i in range(4)])
    jitter = out['frame_inds'] - starts
    assert ((jitter >= 0) & (jitter < 4)).all()


def test_sampler_rejects_bad_values():
    with pytest.raises(ValueError, match='num_segments'):
        TSNSampleFrames(num_segments=0)


# ---------------------------------------------------------------- geometry
def test_resize_int_tuple_exact():
    clip = np.zeros((2, 240, 320, 3), np.uint8)
    out = Resize(256)(dict(imgs=clip))
    assert out['imgs'].shape == (2, 256, 341, 3)  # 320 * 256/240 = 341.33 -> int(341.83)
    assert out['scale_factor'] == pytest.approx(256 / 240)
    out = Resize((340, 256), keep_ratio=True)(dict(imgs=clip))
    assert out['imgs'].shape == (2, 255, 340, 3)  # factor min(340/320, 256/240) = 1.0625
    out = Resize((340, 256), keep_ratio=False)(dict(imgs=clip))
    assert out['imgs'].shape == (2, 256, 340, 3)
    np.testing.assert_allclose(out['scale_factor'], [340 / 320, 256 / 240, 340 / 320, 256 / 240], rtol=1e-6)
    out = Resize((-1, 128))(dict(imgs=clip))
    assert out['imgs'].shape[1:3] == (128, 171)

def test_resize_scale_file_entry_wins(tmp_path):
    clip = np.zeros((2, 240, 320, 3), np.uint8)
    (tmp_path / 'scales.txt').write_text('a/b 160 120\n')
    resize = Resize(256, scale_file=str(tmp_path / 'scales.txt'))  # the original's img_scale_file
    assert resize(dict(imgs=clip, video_key='a/b'))['imgs'].shape[1:3] == (120, 160)
    assert resize(dict(imgs=clip, video_key='other'))['imgs'].shape[1:3] == (256, 341)


def test_resize_matches_cv2_per_frame():
    import cv2
    rng = np.random.RandomState(0)
    clip = rng.randint(0, 255, (3, 40, 60, 3), dtype=np.uint8)
    out = Resize((30, 20), keep_ratio=False)(dict(imgs=clip))['imgs']
    for i in range(3):
        np.testing.assert_array_equal(out[i], cv2.resize(clip[i], (30, 20), interpolation=cv2.INTER_LINEAR))


def test_center_crop_box():
    out = CenterCrop(224)(dict(imgs=coord_clip()))
    assert out['imgs'].shape == (2, 224, 224, 3)
    np.testing.assert_array_equal(out['crop_quadruple'], [58, 16, 224, 224])
    assert out['imgs'][0, 0, 0, :2].tolist() == [58, 16]


def test_fill_fix_offset_and_candidates():
    assert fill_fix_offset(False, 340, 256, 224, 224) == [(0, 0), (116, 0), (0, 32), (116, 32), (58, 16)]
    assert len(fill_fix_offset(True, 340, 256, 224, 224)) == 13
    msc = MultiScaleCrop(224, scales=[1, .875, .75, .66], max_distort=1)
    assert msc.candidate_pairs(340, 256) == [(256, 256), (224, 256), (256, 224), (224, 224), (192, 224),
                                             (224, 192), (192, 192), (168, 192), (192, 168), (168, 168)]
    # sizes within 3 px of input_size are snapped to it: 256 * 0.875 = 224, 230 * 0.975 = 224.25 -> 224
    assert MultiScaleCrop(224, scales=[0.975], max_distort=0).candidate_pairs(300, 230) == [(224, 224)]


def test_multiscale_crop_box_and_resize():
    np.random.seed(0)
    msc = MultiScaleCrop(224, scales=[1, .875, .75, .66], max_distort=1, resize=True)
    for _ in range(20):
        out = msc(dict(imgs=coord_clip()))
        x, y, cw, ch = out['crop_quadruple'].astype(int).tolist()
        assert (cw, ch) in msc.candidate_pairs(340, 256)
        assert (x, y) in fill_fix_offset(False, 340, 256, cw, ch)
        assert out['imgs'].shape == (2, 224, 224, 3)
    out = MultiScaleCrop(224, scales=[.75], max_distort=0)(dict(imgs=coord_clip()))  # no resize: raw crop
    x, y = out['crop_quadruple'][:2].astype(int)
    assert out['imgs'].shape == (2, 192, 192, 3) and out['imgs'][0, 0, 0, :2].tolist() == [x, y]


def test_ten_crop_order():
    clip = coord_clip(n=2)
    out = TenCrop(224)(dict(imgs=clip))
    imgs = out['imgs']
    assert imgs.shape == (20, 224, 224, 3) and out['num_crops'] == 10
    for k, (ox, oy) in enumerate([(0, 0), (116, 0), (0, 32), (116, 32), (58, 16)]):
        crop = clip[:, oy:oy + 224, ox:ox + 224]
        np.testing.assert_array_equal(imgs[4 * k:4 * k + 2], crop)            # crop k, both frames
        np.testing.assert_array_equal(imgs[4 * k + 2:4 * k + 4], crop[:, :, ::-1])  # then its flip
    assert imgs[1, 0, 0, 2] == 1 and imgs[2, 0, 0, 0] == 223  # frame order kept; flipped starts at x=223


def test_ten_crop_flow_inverts_flipped_x():
    flow = np.full((1, 256, 340, 2), 10, np.uint8)
    flow[..., 1] = 20
    out = TenCrop(224)(dict(imgs=flow, channel_order='flow'))['imgs']
    assert out[0, 0, 0].tolist() == [10, 20] and out[1, 0, 0].tolist() == [245, 20]
    out = TenCrop(224, flow_invert_flipped=False)(dict(imgs=flow, channel_order='flow'))['imgs']
    assert out[1, 0, 0].tolist() == [10, 20]


def test_three_crop_offsets():
    out = ThreeCrop(256)(dict(imgs=coord_clip(n=1)))
    assert out['imgs'].shape == (3, 256, 256, 3)
    # w_step = (340 - 256) // 2 = 42: left, right, middle
    assert [out['imgs'][i, 0, 0, 0] for i in range(3)] == [0, 84, 42]
    with pytest.raises(ValueError, match='must match the image width or height'):
        ThreeCrop(224)(dict(imgs=coord_clip(n=1)))


def test_flip_and_flow_invert():
    clip = coord_clip(n=1)
    out = Flip(flip_ratio=1.0)(dict(imgs=clip))
    assert out['flip'] is True and out['imgs'][0, 0, 0, 0] == 339 % 256
    out = Flip(flip_ratio=0.0)(dict(imgs=clip))
    assert out['flip'] is False and out['imgs'][0, 0, 0, 0] == 0
    flow = np.zeros((1, 2, 2, 2), np.uint8)
    flow[..., 0] = 5
    out = FlowInvertX()(dict(imgs=flow, channel_order='flow'))['imgs']
    assert out[..., 0].max() == 250 and out[..., 1].max() == 0


def test_random_resized_crop_inside_image():
    np.random.seed(1)
    rrc = RandomResizedCrop()
    for _ in range(50):
        x, y, w, h = rrc.draw_box(340, 256)
        assert 0 <= x and x + w <= 340 and 0 <= y and y + h <= 256
        assert 0.08 * 340 * 256 * 0.9 <= w * h <= 340 * 256
        assert 3 / 4 - 0.05 <= w / h <= 4 / 3 + 0.05


# ---------------------------------------------------------------- normalisation and layout
def test_normalize_orders_and_values():
    px = np.array([[[[10, 20, 30]]]], np.uint8)  # stored as BGR: b=10, g=20, r=30
    out = Normalize([104, 117, 128], [1, 1, 1], to_rgb=False, out_order='bgr')(dict(imgs=px, channel_order='bgr'))
    assert out['imgs'].dtype == np.float32 and out['imgs'][0, 0, 0].tolist() == [-94, -97, -98]
    mean, std = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]
    out = Normalize(mean, std, to_rgb=True)(dict(imgs=px, channel_order='bgr'))
    expect = (np.array([30, 20, 10], np.float32) - np.float32(mean)) / np.float32(std)
    np.testing.assert_array_equal(out['imgs'][0, 0, 0], expect)
    # the same pixel decoded as RGB gives the same tensor
    rgb = px[..., ::-1].copy()
    out2 = Normalize(mean, std, to_rgb=True)(dict(imgs=rgb, channel_order='rgb'))
    np.testing.assert_array_equal(out2['imgs'], out['imgs'])
    out = Normalize([0.5] * 3, [0.25] * 3, div_255=True, out_order='bgr')(dict(imgs=px, channel_order='bgr'))
    np.testing.assert_allclose(out['imgs'][0, 0, 0], (np.array([10, 20, 30]) / 255 - 0.5) / 0.25, rtol=1e-6)


def test_format_shape_ncthw_order():
    # 2 crops x 3 clips x 4 frames, frame value = its position
    imgs = np.arange(24, dtype=np.float32).reshape(24, 1, 1, 1) * np.ones((1, 2, 2, 3), np.float32)
    out = FormatShape('NCTHW')(dict(imgs=imgs, clip_len=4, num_clips=3))['imgs']
    assert out.shape == (6, 3, 4, 2, 2)
    assert out[:, 0, :, 0, 0].tolist() == np.arange(24).reshape(6, 4).tolist()
    out = FormatShape('NCHW')(dict(imgs=imgs))['imgs']
    assert out.shape == (24, 3, 2, 2) and out[5, 2, 1, 1] == 5


def test_compose_builds_from_config_and_names_bad_key():
    pipe = Compose([dict(type='CenterCrop', crop_size=8), dict(type='Flip', flip_ratio=0)])
    out = pipe(dict(imgs=np.zeros((1, 10, 12, 3), np.uint8)))
    assert out['imgs'].shape == (1, 8, 8, 3)
    with pytest.raises(ConfigError, match=r"pipeline\[1\].*CenterCrp.*did you mean 'CenterCrop'"):
        Compose([dict(type='Flip'), dict(type='CenterCrp', crop_size=8)])


def test_replay_shares_crop_and_flip():
    pipe = Compose([dict(type='MultiScaleCrop', input_size=32, scales=[1, .75, .5], random_crop=True),
                    dict(type='Flip', flip_ratio=0.5)])
    np.random.seed(5)
    for _ in range(5):
        first = pipe(dict(imgs=coord_clip(1, 64, 80)))
        second = pipe(dict(imgs=coord_clip(1, 64, 80), replay=first['aug_params']))
        np.testing.assert_array_equal(first['crop_quadruple'], second['crop_quadruple'])
        assert first['flip'] == second['flip']
        np.testing.assert_array_equal(first['imgs'], second['imgs'])
    assert math.isfinite(first['crop_quadruple'][0])


def test_box_aware_resize_crop_flip_pad():
    from mmaction.datasets.pipelines.augmentations import Pad
    clip = np.arange(2 * 30 * 40 * 3, dtype=np.uint8).reshape(2, 30, 40, 3)
    props = np.array([[4, 3, 20, 27, 0.9]], np.float32)
    res = Resize((80, 60))(dict(imgs=clip, proposals=props, gt_bboxes=props[:, :4]))
    np.testing.assert_allclose(res['proposals'], [[8, 6, 40, 54, 0.9]])  # score untouched
    assert props[0, 0] == 4  # the input boxes are not changed in place
    res = CenterCrop(50)(res)  # (80 - 50) // 2 = 15, (60 - 50) // 2 = 5; clipped to [0, 49]
    np.testing.assert_allclose(res['gt_bboxes'], [[0, 1, 25, 49]])
    v0 = Flip(flip_ratio=1.0, inclusive_boxes=True)(dict(res))
    np.testing.assert_allclose(v0['gt_bboxes'], [[50 - 25 - 1, 1, 50 - 0 - 1, 49]])  # the original AVA flip
    mm2 = Flip(flip_ratio=1.0)(dict(res))
    np.testing.assert_allclose(mm2['gt_bboxes'], [[25, 1, 50, 49]])  # mmaction2: x' = W - x
    np.testing.assert_array_equal(mm2['imgs'], res['imgs'][:, :, ::-1])
    padded = Pad(32)(dict(imgs=np.ones((2, 50, 50, 3), np.float32)))
    assert padded['imgs'].shape == (2, 64, 64, 3) and padded['pad_shape'] == (64, 64)
    assert padded['imgs'][:, 50:].sum() == 0 and padded['imgs'][:, :50, :50].sum() == 2 * 50 * 50 * 3


def test_multiscale_resize_and_test_views():
    from mmaction.datasets.pipelines.multiview import MultiScaleFlipAug
    clip = np.zeros((1, 30, 40, 3), np.uint8)
    resize = Resize([(40, 30), (80, 60)])
    np.random.seed(3)
    picks = {resize(dict(imgs=clip))['img_shape'] for _ in range(20)}
    assert picks == {(30, 40), (60, 80)}
    # range mode: long side in [40, 80], short in [30, 60], drawn in that order
    np.random.seed(0)
    long_side, short_side = np.random.randint(40, 81), np.random.randint(30, 61)
    np.random.seed(0)
    out = Resize([(40, 30), (80, 60)], multiscale_mode='range')(dict(imgs=clip))
    factor = min(long_side / 40, short_side / 30)
    assert out['img_shape'] == (int(30 * factor + 0.5), int(40 * factor + 0.5))
    aug = MultiScaleFlipAug([dict(type='Resize', scale=(40, 30)), dict(type='Flip', flip_ratio=0)],
                            img_scale=[(40, 30), (80, 60)], flip=True)
    views = aug(dict(imgs=clip, proposals=np.array([[0, 0, 10, 10]], np.float32)))['views']
    assert [(v['img_shape'], v['flip']) for v in views] == [((30, 40), False), ((30, 40), True),
                                                             ((60, 80), False), ((60, 80), True)]
    np.testing.assert_allclose(views[3]['proposals'], [[60, 0, 80, 20]])
