"""Remaining original RawFramesDataset options (v0 reference §5.2-§5.3) against hand-computed tensors:
``pre_mean_npy``, ``img_scale_file``, ``temporal_jitter``, ``resize_crop``, ``rescale_crop``,
``input_size=None`` and the flow-aware ten-crop flips.

The sample frames are 320x240 (w x h) JPEGs ``img_00001..10.jpg`` plus flow ``x_/y_00001..5.jpg``. The
normalisation is the identity with ``to_rgb=False`` so tensors are the BGR pixels cv2 reads.
"""
import os

import cv2
import numpy as np
import pytest

from _dataset_helpers import raw_frames
from mmaction.datasets.annotations import AnnotationError
from mmaction.registry import ConfigError

from test_datasets_modalities import data_dir, lst  # noqa: F401  (shared fixtures)

IDENTITY = dict(mean=[0, 0, 0], std=[1, 1, 1], to_rgb=False)
TMPL = 'img_{:05d}.jpg'
FLOW = dict(mean=[128], std=[1], to_rgb=False)


def bgr(data_dir, idx):
    return cv2.imread(os.path.join(data_dir, 'imgs', f'img_{idx:05d}.jpg')).astype(np.float32)


def chw(img):
    return np.ascontiguousarray(img.transpose(2, 0, 1))


class Queue:
    """Stands in for ``np.random.<fn>``: returns queued values and records the arguments."""

    def __init__(self, *values):
        self.values, self.calls = list(values), []

    def __call__(self, *args, **kwargs):
        self.calls.append(args)
        return self.values.pop(0)


# ---------------------------------------------------------------- pre_mean_npy (C3D mean volume)
def test_pre_mean_npy_subtracts_frame_i_mod_L_before_the_crop(data_dir, lst, tmp_path):
    rng = np.random.RandomState(0)
    # File layout as the C3D mean: (C, L, H, W); L = 2 < clip length 3, so frame 2 reuses volume frame 0.
    vol = rng.uniform(0, 100, (3, 2, 120, 160)).astype(np.float32)
    vol[:, 1] += 50  # the two volume frames differ clearly
    np.save(tmp_path / 'mean.npy', vol)
    ds = raw_frames(lst('imgs 10 0\n'), data_dir, IDENTITY, image_tmpl=TMPL, pre_mean_npy=str(tmp_path / 'mean.npy'),
                          num_segments=1, new_length=3, test_mode=True, img_scale=(160, 120),
                          resize_keep_ratio=False, input_size=112, flip_ratio=0, input_format='NCTHW')
    x = ds[0]['img_group_0'].numpy()
    assert x.shape == (1, 3, 3, 112, 112)  # M' x C x L x H x W
    # test offset: tick = (10 - 3 + 1) / 1 = 8 -> int(4) + 1 = 5: frames 5, 6, 7
    # the mean is subtracted from the whole resized 160x120 frame, then the centre crop (24, 4) is taken
    for k, idx in enumerate([5, 6, 7]):
        resized = cv2.resize(cv2.imread(os.path.join(data_dir, 'imgs', f'img_{idx:05d}.jpg')), (160, 120),
                             interpolation=cv2.INTER_LINEAR).astype(np.float32)
        expected = resized - vol[:, k % 2].transpose(1, 2, 0)
        np.testing.assert_allclose(x[0, :, k], chw(expected[4:116, 24:136]), atol=1e-4)


def test_pre_mean_npy_errors_name_the_file(data_dir, lst, tmp_path):
    np.save(tmp_path / 'flat.npy', np.zeros((120, 160, 3), np.float32))
    with pytest.raises(ConfigError, match=r'flat\.npy.*\(C, L, H, W\)'):
        raw_frames(lst('imgs 10 0\n'), data_dir, IDENTITY, image_tmpl=TMPL, pre_mean_npy=str(tmp_path / 'flat.npy'))
    with pytest.raises(FileNotFoundError, match='missing.npy'):
        raw_frames(lst('imgs 10 0\n'), data_dir, IDENTITY, image_tmpl=TMPL, pre_mean_npy=str(tmp_path / 'missing.npy'))
    # a volume whose frames do not match the resized frames is refused when the sample is built
    np.save(tmp_path / 'small.npy', np.zeros((3, 1, 10, 10), np.float32))
    ds = raw_frames(lst('imgs 10 0\n'), data_dir, IDENTITY, image_tmpl=TMPL, pre_mean_npy=str(tmp_path / 'small.npy'),
                          num_segments=1, test_mode=True)
    with pytest.raises(Exception, match='mean volume frames'):
        ds[0]


# ---------------------------------------------------------------- img_scale_file
@pytest.mark.parametrize('keep_ratio', [True, False])
def test_img_scale_file_per_video_target(data_dir, lst, tmp_path, keep_ratio):
    scale_file = tmp_path / 'scales.txt'
    scale_file.write_text('imgs 200 100\nother 50 50\n')
    # the second record is the same folder under another name: it is not in the file -> img_scale
    # (an int needs keep_ratio, as mmcv.imresize needed a finite (w, h))
    ds = raw_frames(lst('imgs 10 0\nimgs/../imgs 10 1\n'), data_dir, IDENTITY, image_tmpl=TMPL,
                          img_scale=256 if keep_ratio else (340, 256),
                          img_scale_file=str(scale_file), resize_keep_ratio=keep_ratio, num_segments=1,
                          test_mode=True, input_size=None, flip_ratio=0)
    a, b = ds[0], ds[1]
    # keep ratio: factor min(200/320, 100/240) = 0.41667 -> (int(133.8), int(100.5)) = (133, 100)
    w, h = (133, 100) if keep_ratio else (200, 100)
    assert a['img_group_0'].shape == (1, 3, h, w) and a['img_meta']['img_shape'] == (h, w, 3)
    # test offset: int((10 - 1 + 1) / 2) + 1 = 6
    expected = cv2.resize(bgr(data_dir, 6).astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(a['img_group_0'][0].numpy(), chw(expected.astype(np.float32)))
    # short side 256: 320 * 256 / 240 = 341.3; exact (340, 256) without keep_ratio
    assert b['img_group_0'].shape == ((1, 3, 256, 341) if keep_ratio else (1, 3, 256, 340))


def test_img_scale_file_malformed_line(data_dir, lst, tmp_path):
    bad = tmp_path / 'bad_scales.txt'
    bad.write_text('imgs 200 100\nother 50\n')
    with pytest.raises(AnnotationError, match=r'bad_scales\.txt:2.*<path> <w> <h>'):
        raw_frames(lst('imgs 10 0\n'), data_dir, IDENTITY, image_tmpl=TMPL, img_scale_file=str(bad))


# ---------------------------------------------------------------- temporal_jitter
def test_temporal_jitter_frames(data_dir, lst):
    kw = dict(num_segments=2, new_length=3, new_step=2, random_shift=False, input_size=None,
              img_scale=(320, 240), flip_ratio=0)
    ds = raw_frames(lst('imgs 10 0\n'), data_dir, IDENTITY, image_tmpl=TMPL, temporal_jitter=True, **kw)
    plain = raw_frames(lst('imgs 10 0\n'), data_dir, IDENTITY, image_tmpl=TMPL, temporal_jitter=False, **kw)
    # val offsets: old_length 6, 10 > 2 + 6 - 1 -> tick = 2.5 -> int(1.25), int(3.75) = 1, 3 -> +1 = 2, 4
    # one skip per snippet position, drawn once: randint(new_step=2, size=3) (the val branch draws nothing else)
    seed = 0
    skip = np.random.RandomState(seed).randint(2, size=3)
    assert skip.tolist() == [0, 1, 1]  # the seed is chosen so the jitter shows
    expected_inds = [p + s for start in (2, 4) for p, s in zip(range(start, start + 6, 2), skip)]
    assert expected_inds == [2, 5, 7, 4, 7, 9]
    np.random.seed(seed)
    x = ds[0]['img_group_0'].numpy()
    assert x.shape == (6, 3, 240, 320)
    for k, idx in enumerate(expected_inds):
        np.testing.assert_array_equal(x[k], chw(bgr(data_dir, idx)))
    y = plain[0]['img_group_0'].numpy()  # no jitter: 2, 4, 6, 4, 6, 8
    np.testing.assert_array_equal(y[1], chw(bgr(data_dir, 4)))
    assert not np.array_equal(x[1], y[1])


# ---------------------------------------------------------------- resize_crop / rescale_crop
def test_resize_crop_box_then_resize(data_dir, lst, monkeypatch):
    ds = raw_frames(lst('imgs 10 0\n'), data_dir, IDENTITY, image_tmpl=TMPL, resize_crop=True, input_size=112,
                          num_segments=1, random_shift=False, flip_ratio=0)
    # area fraction 0.5, log-ratio 0 (w/h = 1): target 0.5 * 320 * 240 = 38400 -> w = h = round(195.96) = 196
    uniform = Queue(0.5, 0.0)
    randint = Queue(10, 5)
    monkeypatch.setattr(np.random, 'uniform', uniform)
    monkeypatch.setattr(np.random, 'randint', randint)
    out = ds[0]
    assert randint.calls == [(0, 320 - 196 + 1), (0, 240 - 196 + 1)]
    assert out['img_meta']['crop_quadruple'].tolist() == [10, 5, 196, 196]
    assert out['img_meta']['scale_factor'] is None  # resize_crop replaces the resize step (original)
    # val offset of 1 segment: int((10 / 1) / 2) + 1 = 6
    crop = bgr(data_dir, 6).astype(np.uint8)[5:201, 10:206]
    expected = cv2.resize(crop, (112, 112), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    np.testing.assert_array_equal(out['img_group_0'][0].numpy(), chw(expected))


def test_resize_crop_falls_back_to_centre_square(data_dir, lst, monkeypatch):
    ds = raw_frames(lst('imgs 10 0\n'), data_dir, IDENTITY, image_tmpl=TMPL, resize_crop=True, input_size=64,
                          num_segments=1, random_shift=False, flip_ratio=0)
    # whole area at w/h = 3/4 -> 240 x 320 never fits a 320 x 240 image: 10 failed attempts, then the
    # centre crop of the short side: (320 - 240) // 2 = 40
    monkeypatch.setattr(np.random, 'uniform', lambda lo, hi: hi if lo > 0 else lo)
    out = ds[0]
    assert out['img_meta']['crop_quadruple'].tolist() == [40, 0, 240, 240]
    expected = cv2.resize(bgr(data_dir, 6).astype(np.uint8)[:, 40:280], (64, 64), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(out['img_group_0'][0].numpy(), chw(expected.astype(np.float32)))


def test_rescale_crop_short_side_then_random_crop(data_dir, lst, monkeypatch):
    ds = raw_frames(lst('imgs 10 0\n'), data_dir, IDENTITY, image_tmpl=TMPL, rescale_crop=True, input_size=224,
                          num_segments=1, random_shift=False, flip_ratio=0)
    # short side 288 -> factor 1.2 -> 384 x 288; crop at (100, 30)
    randint = Queue(288, 100, 30)
    monkeypatch.setattr(np.random, 'randint', randint)
    out = ds[0]
    assert randint.calls == [(256, 321), (0, 384 - 224 + 1), (0, 288 - 224 + 1)]
    assert out['img_meta']['crop_quadruple'].tolist() == [100, 30, 224, 224]
    resized = cv2.resize(bgr(data_dir, 6).astype(np.uint8), (384, 288), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(out['img_group_0'][0].numpy(), chw(resized[30:254, 100:324].astype(np.float32)))


def test_random_crop_flags_refuse_missing_input_size_and_oversample(data_dir, lst):
    with pytest.raises(ConfigError, match='input_size'):
        raw_frames(lst('imgs 10 0\n'), data_dir, IDENTITY, image_tmpl=TMPL, resize_crop=True, input_size=None)
    with pytest.raises(ConfigError, match='oversample'):
        raw_frames(lst('imgs 10 0\n'), data_dir, IDENTITY, image_tmpl=TMPL, rescale_crop=True, oversample='ten_crop')


# ---------------------------------------------------------------- input_size=None
@pytest.mark.parametrize('oversample', [None, 'ten_crop'])
def test_input_size_none_keeps_whole_resized_frame(data_dir, lst, oversample):
    # crop_size None: the original built no crop operator at all, whatever 'oversample' said
    ds = raw_frames(lst('imgs 10 0\n'), data_dir, IDENTITY, image_tmpl=TMPL, num_segments=2, test_mode=True, img_scale=120,
                          input_size=None, oversample=oversample, flip_ratio=0)
    out = ds[0]
    x = out['img_group_0'].numpy()
    assert x.shape == (2, 3, 120, 160)  # short side 120 (factor 0.5); no crop, no ten views
    assert out['img_meta']['crop_quadruple'] is None and out['img_meta']['img_shape'] == (120, 160, 3)
    # test offsets: tick 5 -> int(2.5), int(7.5) -> frames 3 and 8
    for k, idx in enumerate([3, 8]):
        expected = cv2.resize(bgr(data_dir, idx).astype(np.uint8), (160, 120), interpolation=cv2.INTER_LINEAR)
        np.testing.assert_array_equal(x[k], chw(expected.astype(np.float32)))


# ---------------------------------------------------------------- flow-aware ten-crop flips
@pytest.mark.parametrize('invert', [True, False])
def test_flow_ten_crop_all_views(data_dir, lst, invert):
    ds = raw_frames(lst('imgs 5 0\n'), data_dir, FLOW, num_segments=1, test_mode=True, modality='Flow',
                          image_tmpl='{}_{:05d}.jpg', img_scale=(320, 240), input_size=224, oversample='ten_crop',
                          flip_ratio=0, flow_invert_x=invert)
    x = ds[0]['img_group_0'].numpy()
    assert x.shape == (10, 2, 224, 224)
    read = lambda name: cv2.imread(os.path.join(data_dir, 'imgs', name), cv2.IMREAD_GRAYSCALE).astype(np.float32)
    fx, fy = read('x_00003.jpg'), read('y_00003.jpg')  # test offset int((5 / 1) / 2) + 1 = 3
    # fill_fix_offset(False, 320, 240, 224, 224): steps 96 // 4 = 24, 16 // 4 = 4 ->
    # corners (0, 0), (96, 0), (0, 16), (96, 16) and centre (48, 8); each view followed by its mirror
    for k, (ox, oy) in enumerate([(0, 0), (96, 0), (0, 16), (96, 16), (48, 8)]):
        cx, cy = fx[oy:oy + 224, ox:ox + 224], fy[oy:oy + 224, ox:ox + 224]
        # plain view: x inverted only by the global quirk; mirrored view: 255 - x for the mirror, then the quirk
        plain_x = 255 - cx if invert else cx
        mirror_x = cx[:, ::-1] if invert else 255 - cx[:, ::-1]
        np.testing.assert_array_equal(x[2 * k, 0], plain_x - 128)
        np.testing.assert_array_equal(x[2 * k, 1], cy - 128)
        np.testing.assert_array_equal(x[2 * k + 1, 0], mirror_x - 128)
        np.testing.assert_array_equal(x[2 * k + 1, 1], cy[:, ::-1] - 128)  # y is mirrored, never inverted
