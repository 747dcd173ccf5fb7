"""data_tools/check_videos.py and data_tools/resize_videos.py on generated and sample videos."""
import os
import shutil

import numpy as np
import pytest

from data_tools import check_videos as cv
from data_tools import resize_videos as rv
from data_tools.media import write_h264


def _clip(n=30, h=48, w=64):
    t = np.arange(n)[:, None, None, None]
    x = np.arange(w)[None, None, :, None]
    return ((x * 4 + t * 8 + np.zeros((n, h, w, 3))) % 256).astype(np.uint8)


@pytest.fixture
def tree(tmp_path):
    src = tmp_path / 'videos'
    write_h264(str(src / 'a' / 'good.mp4'), _clip(), fps=25, gop=5)
    write_h264(str(src / 'a' / 'cut.mp4'), _clip(), fps=25, gop=5)
    data = (src / 'a' / 'cut.mp4').read_bytes()
    (src / 'a' / 'cut.mp4').write_bytes(data[:len(data) // 2])  # interrupted download
    (src / 'b').mkdir()
    (src / 'b' / 'empty.mp4').write_bytes(b'')
    return src


def test_check_videos_flags_truncated_and_empty(tree):
    res = {c.video: c for c in cv.check_videos(str(tree), decoder='pyav', progress=False)}
    assert res['a/good.mp4'].problem == '' and res['a/good.mp4'].frames == 30
    assert res['a/good.mp4'].declared == 30 and res['a/good.mp4'].fps == pytest.approx(25.0)
    # the moov atom of a cut mp4 sits at the end: the container cannot even be opened
    assert res['a/cut.mp4'].problem in ('unreadable', 'truncated')
    assert res['b/empty.mp4'].problem == 'unreadable'


def test_check_videos_truncated_with_index_up_front(tmp_path):
    # a faststart-like file whose index survives but whose media data is cut: fewer frames than declared
    import av
    path = str(tmp_path / 'v' / 'c' / 'x.mp4')
    os.makedirs(os.path.dirname(path))
    with av.open(path, 'w', options={'movflags': 'faststart'}) as c:
        s = c.add_stream('libx264', rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, 'yuv420p'
        s.options = {'g': '5'}
        for f in _clip(60):
            for p in s.encode(av.VideoFrame.from_ndarray(f, format='rgb24')):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    data = open(path, 'rb').read()
    open(path, 'wb').write(data[:int(len(data) * 0.6)])
    (r,) = cv.check_videos(str(tmp_path / 'v'), progress=False)
    assert r.problem == 'truncated' and r.declared == 60 and 0 < r.frames < 60, r


def test_check_videos_cli_writes_remove_list(tree, tmp_path, capsys):
    remove = tmp_path / 'bad.txt'
    rc = cv.main([str(tree), '--num-workers', '2', '--quiet', '--remove-list', str(remove)])
    assert rc == 1
    assert sorted(remove.read_text().split()) == sorted([str(tree / 'a' / 'cut.mp4'), str(tree / 'b' / 'empty.mp4')])
    assert '3 videos checked, 2 with problems' in capsys.readouterr().out


def test_check_videos_on_samples(samples_dir, tmp_path):
    src = tmp_path / 's' / 'c'
    src.mkdir(parents=True)
    for name in ('demo.mp4', 'test_video_structuralize.mp4'):
        os.symlink(os.path.join(samples_dir, 'demo', name), src / name)
    res = cv.check_videos(str(tmp_path / 's'), decoder='decord', progress=False)
    assert [(r.video, r.problem, r.frames) for r in res] == [('c/demo.mp4', '', 280),
                                                             ('c/test_video_structuralize.mp4', '', 300)]


def test_target_size_keeps_ratio_even_and_never_upscales():
    assert rv.target_size(340, 256, 128) == (170, 128)
    assert rv.target_size(426, 240, 128) == (228, 128)  # 227.2 -> nearest even
    assert rv.target_size(64, 48, 256) == (64, 48)


def test_resize_videos_short_side_gop_and_resume(tree, tmp_path):
    import av
    shutil.rmtree(tree / 'b')
    os.remove(tree / 'a' / 'cut.mp4')
    out = tmp_path / 'small'
    res = rv.resize_videos(str(tree), str(out), short_side=24, gop=4, num_workers=1, progress=False)
    assert res == {'a/good.mp4': (30, '')}
    with av.open(str(out / 'a' / 'good.mp4')) as c:
        s = c.streams.video[0]
        assert (s.width, s.height) == (32, 24) and float(s.average_rate) == pytest.approx(25.0)
        keys = [i for i, p in enumerate(c.demux(s)) if p.is_keyframe]
    assert keys[:3] == [0, 4, 8]
    assert rv.resize_videos(str(tree), str(out), short_side=24, resume=True, progress=False) == \
        {'a/good.mp4': (0, 'skipped')}
