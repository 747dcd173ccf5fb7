"""Decoder backends: identical frames for the same indices, counts, fps, and clear errors."""
import os

import numpy as np
import pytest

import mmaction.datasets  # noqa: F401  (registration)
from mmaction.datasets.decoders.base import DecodeError, available_backends, build_decoder
from mmaction.datasets.decoders.frames import FrameReadError, read_image, read_images


@pytest.fixture(scope='module')
def test_mp4(samples_dir):
    return os.path.join(samples_dir, 'tests', 'data', 'test.mp4')


def test_backends_registered():
    assert {'decord', 'opencv'} <= set(available_backends())


def test_decord_opencv_identical_frames(test_mp4):
    idx = [0, 5, 100, 299, 5, 50, 49]  # unsorted, duplicated, first and last
    with build_decoder('decord', test_mp4) as d, build_decoder('opencv', test_mp4) as o:
        assert d.num_frames == o.num_frames == 300
        assert d.fps == pytest.approx(30.0) and o.fps == pytest.approx(30.0)
        a, b = d.get_frames(idx), o.get_frames(idx)
    assert a.shape == b.shape == (7, 256, 340, 3) and a.dtype == b.dtype == np.uint8
    diff = np.abs(a.astype(int) - b.astype(int))
    assert diff.mean() < 1.0, diff.mean()   # both RGB; colour conversion rounding only
    np.testing.assert_array_equal(a[1], a[4])  # duplicate index -> same frame
    assert np.abs(a[5].astype(int) - a[6].astype(int)).mean() > 0  # neighbouring frames differ


def test_opencv_seek_and_grab_paths_agree(test_mp4):
    far = build_decoder('opencv', test_mp4, seek_threshold=0).get_frames([10, 200])
    near = build_decoder('opencv', test_mp4, seek_threshold=1000).get_frames([10, 200])
    np.testing.assert_array_equal(far, near)


def test_index_out_of_range_names_file(test_mp4):
    with pytest.raises(IndexError, match=r'test\.mp4: frame index 300 out of range.*300 frames'):
        build_decoder('decord', test_mp4).get_frames([3, 300])


def test_missing_and_corrupt_video(tmp_path):
    with pytest.raises(FileNotFoundError, match='video file not found'):
        build_decoder('decord', str(tmp_path / 'nope.mp4'))
    bad = tmp_path / 'bad.mp4'
    bad.write_bytes(b'\x00\x00\x00\x18ftypmp42' + os.urandom(2000))
    for backend in ('decord', 'opencv'):
        with pytest.raises(DecodeError, match=r'bad\.mp4'):
            build_decoder(backend, str(bad)).get_frames([0])


def test_image_readers_agree(samples_dir):
    import cv2
    path = os.path.join(samples_dir, 'tests', 'data', 'imgs', 'img_00001.jpg')
    ref = cv2.imread(path)
    np.testing.assert_array_equal(read_image(path, backend='cv2'), ref)
    np.testing.assert_array_equal(read_image(path, backend='auto'), ref)
    np.testing.assert_array_equal(read_image(path, channel_order='rgb'), ref[..., ::-1])
    gray = os.path.join(samples_dir, 'tests', 'data', 'imgs', 'x_00001.jpg')
    np.testing.assert_array_equal(read_image(gray, 'grayscale'), cv2.imread(gray, cv2.IMREAD_GRAYSCALE))
    stack = read_images([path, path, gray.replace('x_', 'img_')], 'color')
    assert stack.shape == (3, 240, 320, 3)


def test_image_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='frame file not found: .*img_00009.jpg'):
        read_image(str(tmp_path / 'img_00009.jpg'))
    bad = tmp_path / 'img_00001.jpg'
    bad.write_bytes(b'\xff\xd8garbage')
    with pytest.raises(FrameReadError, match=r'cannot decode image .*img_00001\.jpg'):
        read_image(str(bad))
