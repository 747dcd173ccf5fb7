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
    for backend in ('decord', 'opencv', 'pyav'):
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


# -- PyAV GOP-aware decoding -------------------------------------------------------------------------
@pytest.fixture(scope='module')
def demo_mp4(samples_dir):
    return os.path.join(samples_dir, 'demo', 'demo.mp4')


@pytest.mark.parametrize('num_threads', [1, 2])
def test_pyav_gop_plan_matches_decord(test_mp4, demo_mp4, num_threads):
    """Skipping packets and non-reference frames must not change one pixel of the frames asked for.

    demo.mp4 has keyframes at 0, 187, 230, 268 and test.mp4 at 0, 235 (long-GOP H.264 with B-frames),
    so these requests start mid-file, jump over dead zones before a keyframe and end on the last frame.
    """
    import decord
    requests = {demo_mp4: [[279], [186, 187, 188], [5, 40, 75, 110, 145, 185, 200, 269], [231, 240, 248],
                           [0, 8, 16, 24, 32, 40, 48, 56]],
                test_mp4: [[299], [1, 234, 235, 236, 299], [100, 108, 116]]}
    for path, reqs in requests.items():
        vr = decord.VideoReader(path, num_threads=1)
        for idx in reqs:
            ref = vr.get_batch(idx).asnumpy()
            with build_decoder('pyav', path, num_threads=num_threads) as dec:
                assert dec._index is not None  # the planned path, not the sequential fallback
                np.testing.assert_array_equal(dec.get_frames(idx), ref, err_msg=f'{path} {idx}')


def test_pyav_second_request_on_same_reader(test_mp4):
    with build_decoder('pyav', test_mp4) as dec, build_decoder('decord', test_mp4) as ref:
        a = dec.get_frames([250, 299])     # drained at the end of the stream
        b = dec.get_frames([3, 250, 10])   # seeks back, unsorted + repeated row handling
        np.testing.assert_array_equal(a, ref.get_frames([250, 299]))
        np.testing.assert_array_equal(b, ref.get_frames([3, 250, 10]))


def test_pyav_skip_nonref_equals_full_decode(test_mp4):
    idx = [7, 61, 62, 63, 290]
    with build_decoder('pyav', test_mp4, skip_nonref=True) as a, \
            build_decoder('pyav', test_mp4, skip_nonref=False) as b:
        np.testing.assert_array_equal(a.get_frames(idx), b.get_frames(idx))


def test_plan_packets_hand_computed():
    from mmaction.datasets.decoders.pyav_decoder import GopIndex, plan_packets

    def gop(display, keys):
        display = np.asarray(display)
        pts = display * 10
        return GopIndex(display=display, keyframe=np.isin(np.arange(len(display)), keys), pts=pts,
                        pts_to_display={int(p): int(d) for p, d in zip(pts, display)},
                        pts_to_packet={int(p): j for j, p in enumerate(pts)})

    # closed GOPs: decode order I0 P3 B1 B2 | I4 P7 B5 B6
    g = gop([0, 3, 1, 2, 4, 7, 5, 6], keys=[0, 4])
    mask, first = plan_packets(g, np.array([5]))
    assert first == 4 and mask.tolist() == [0, 0, 0, 0, 1, 1, 1, 0]   # I4 P7 B5: B5 needs P7
    mask, first = plan_packets(g, np.array([1, 5]))
    assert first == 0 and mask.tolist() == [1, 1, 1, 0, 1, 1, 1, 0]   # B2 (packet 3) is a dead zone
    mask, _ = plan_packets(g, np.array([3]))
    assert mask.tolist() == [1, 1, 0, 0, 0, 0, 0, 0]
    # open GOP: the sync I-frame at packet 3 is shown 5th; leading B3, B4 (packets 4, 5) precede it in
    # display order and reference the previous GOP, so asking for 4 must start from packet 0.
    g = gop([0, 2, 1, 5, 3, 4, 6], keys=[0, 3])
    mask, first = plan_packets(g, np.array([4]))
    assert first == 0 and mask.tolist() == [1, 1, 1, 1, 1, 1, 0]
    mask, first = plan_packets(g, np.array([6]))
    assert first == 3 and mask.tolist() == [0, 0, 0, 1, 1, 1, 1]


def test_pyav_index_cached_per_file(test_mp4, monkeypatch):
    from mmaction.datasets.decoders import pyav_decoder
    build_decoder('pyav', test_mp4).close()  # scanned (or already cached)

    def fail(*args):
        raise AssertionError('index scanned twice for an unchanged file')
    monkeypatch.setattr(pyav_decoder, '_scan_index', fail)
    with build_decoder('pyav', test_mp4) as dec:
        assert dec.num_frames == 300 and dec._index is not None


def test_thread_count_and_auto_backend(monkeypatch):
    import torch.utils.data

    from mmaction.datasets.decoders.base import default_backend, resolve_num_threads
    assert resolve_num_threads(3) == 3
    assert resolve_num_threads(None) == len(os.sched_getaffinity(0))
    monkeypatch.setattr(torch.utils.data, 'get_worker_info', lambda: object())  # as inside a worker
    assert resolve_num_threads(None) == 1
    assert default_backend() == 'pyav'  # av is installed here: the GOP-aware backend is the default


def test_pyav_avi_falls_back_to_sequential(samples_dir):
    """AVI packets carry decode times and packed B-frame placeholders: no pts plan, plain decoding."""
    path = os.path.join(samples_dir, 'tests', 'data', 'test.avi')
    with build_decoder('pyav', path) as dec, build_decoder('decord', path) as ref:
        assert dec._index is None
        np.testing.assert_array_equal(dec.get_frames([2, 3, 50]), ref.get_frames([2, 3, 50]))


# ---------------------------------------------------------------- optional torchcodec backend
def test_torchcodec_matches_decord_when_installed(test_mp4):
    from mmaction.datasets.decoders.torchcodec_decoder import TorchCodecDecoder
    if not TorchCodecDecoder.is_available():
        pytest.skip('torchcodec is not installed (optional; it is built against one torch release)')
    idx = [0, 5, 100, 299, 5, 50, 49]
    with build_decoder('torchcodec', test_mp4) as t, build_decoder('decord', test_mp4) as d:
        assert t.num_frames == d.num_frames == 300 and t.fps == pytest.approx(30.0)
        np.testing.assert_array_equal(t.get_frames(idx), d.get_frames(idx))


class FakeFrameBatch:
    def __init__(self, data):
        self.data = data


class FakeTorchCodecDecoder:
    """Stands in for ``torchcodec.decoders.VideoDecoder``: 12 frames of 4x6 RGB where frame i holds
    (i, 2i, 3i); records its constructor arguments and every ``get_frames_at`` request."""

    instances: list = []

    def __init__(self, source, **kwargs):
        import torch
        self.source, self.kwargs, self.requests = source, kwargs, []
        self.video = torch.arange(12, dtype=torch.uint8)[:, None, None, None] * torch.tensor([1, 2, 3],
                                                                                             dtype=torch.uint8)
        self.video = self.video.expand(12, 4, 6, 3).contiguous()
        self.metadata = type('Meta', (), dict(num_frames=12, average_fps=25.0))()
        FakeTorchCodecDecoder.instances.append(self)

    def __len__(self):
        return 12

    def get_frames_at(self, indices):
        self.requests.append(list(indices))
        return FakeFrameBatch(self.video[list(indices)])


@pytest.fixture()
def fake_torchcodec(monkeypatch):
    import sys
    import types
    pkg, mod = types.ModuleType('torchcodec'), types.ModuleType('torchcodec.decoders')
    mod.VideoDecoder = FakeTorchCodecDecoder
    pkg.decoders = mod
    monkeypatch.setitem(sys.modules, 'torchcodec', pkg)
    monkeypatch.setitem(sys.modules, 'torchcodec.decoders', mod)
    FakeTorchCodecDecoder.instances = []
    return mod


def test_torchcodec_adapter_with_fake_module(test_mp4, fake_torchcodec):
    from mmaction.datasets.decoders.torchcodec_decoder import TorchCodecDecoder
    assert TorchCodecDecoder.is_available() and 'torchcodec' in available_backends()
    with build_decoder('torchcodec', test_mp4, num_threads=2) as dec:
        fake = FakeTorchCodecDecoder.instances[-1]
        assert fake.source == test_mp4
        assert fake.kwargs == dict(dimension_order='NHWC', num_ffmpeg_threads=2, seek_mode='exact')
        assert dec.num_frames == len(dec) == 12 and dec.fps == 25.0
        out = dec.get_frames([5, 1, 5, 11])
        assert fake.requests == [[1, 5, 11]]  # one sorted, de-duplicated batch
        assert out.shape == (4, 4, 6, 3) and out.dtype == np.uint8
        assert out[:, 0, 0].tolist() == [[5, 10, 15], [1, 2, 3], [5, 10, 15], [11, 22, 33]]
        with pytest.raises(IndexError, match='frame index 12 out of range'):
            dec.get_frames([12])


def test_torchcodec_adapter_missing_count_bad_shape_and_absent(test_mp4, fake_torchcodec, monkeypatch):
    import sys
    meta = type('Meta', (), dict(num_frames=None, average_fps=None))()
    monkeypatch.setattr(FakeTorchCodecDecoder, 'metadata', meta, raising=False)
    orig_init = FakeTorchCodecDecoder.__init__

    def init_without_count(self, source, **kwargs):
        orig_init(self, source, **kwargs)
        self.metadata = meta
    monkeypatch.setattr(FakeTorchCodecDecoder, '__init__', init_without_count)
    dec = build_decoder('torchcodec', test_mp4, seek_mode='approximate')
    assert dec.num_frames == 12 and dec.fps == 0.0  # falls back to len(decoder)
    assert FakeTorchCodecDecoder.instances[-1].kwargs['seek_mode'] == 'approximate'
    monkeypatch.setattr(FakeTorchCodecDecoder, 'get_frames_at',
                        lambda self, indices: FakeFrameBatch(self.video[:1].permute(0, 3, 1, 2)))
    with pytest.raises(DecodeError, match=r'torchcodec: .*test\.mp4: expected \(2, H, W, 3\)'):
        dec.get_frames([0, 1])
    monkeypatch.setitem(sys.modules, 'torchcodec.decoders', None)  # import now fails
    from mmaction.datasets.decoders.torchcodec_decoder import TorchCodecDecoder
    assert not TorchCodecDecoder.is_available() and 'torchcodec' not in available_backends()
    with pytest.raises(DecodeError, match="'torchcodec' requested but torchcodec cannot be imported"):
        build_decoder('torchcodec', test_mp4)


def test_torchcodec_pipeline_pair_with_fake_module(test_mp4, fake_torchcodec):
    from mmaction.datasets.pipelines.compose import Compose
    pipe = Compose([dict(type='TorchCodecInit', num_threads=1), dict(type='SampleFrames', clip_len=3,
                                                                     frame_interval=2, num_clips=1, test_mode=True),
                    dict(type='TorchCodecDecode')])
    out = pipe(dict(filename=test_mp4))
    # mmaction2 test sampling, 12 frames, clip 3 x 2: interval (12 - 6 + 1) / 1 = 7, offset int(7 / 2) = 3 -> 3, 5, 7
    assert out['total_frames'] == 12 and out['frame_inds'].tolist() == [3, 5, 7]
    assert out['imgs'][:, 0, 0, 0].tolist() == [3, 5, 7] and out['channel_order'] == 'rgb'
