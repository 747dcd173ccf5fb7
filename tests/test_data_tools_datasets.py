"""Per-dataset helpers of data_tools: shell scripts parse, Kinetics renaming, AVA trimming, ActivityNet rescaling."""
import glob
import os

import numpy as np

from data_tools.activitynet.rescale_features import rescale, rescale_csv
from data_tools.ava.trim_videos import resolution_stats, trim_video
from data_tools.build_file_list import normalize_class_name
from data_tools.kinetics400.rename_classnames import rename_classnames
from data_tools.media import write_h264

TOOLS = os.path.join(os.path.dirname(__file__), '..', 'data_tools')


def test_shell_scripts_find_the_repo():  # `bash -n` of every script: test_data_tools_scripts.py
    scripts = sorted(glob.glob(os.path.join(TOOLS, '*', '*.sh')))
    assert {os.path.basename(os.path.dirname(s)) for s in scripts} == \
        {'ucf101', 'hmdb51', 'kinetics400', 'thumos14', 'activitynet', 'ava'}
    for s in scripts:
        text = open(s).read()
        assert 'HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"' in text, s  # cwd-independent
        assert '../../data' not in text, s


def test_rename_classnames_matches_list_builder(tmp_path):
    for name in ('passing American football (in game)', 'abseiling', 'massaging person\'s head'):
        (tmp_path / name).mkdir()
    renamed = rename_classnames(str(tmp_path))
    assert len(renamed) == 2
    assert sorted(os.listdir(tmp_path)) == sorted(normalize_class_name(n) for n in
                                                  ('passing American football (in game)', 'abseiling',
                                                   "massaging person's head"))


def test_rescale_features_linear_and_csv(tmp_path):
    feats = np.stack([np.arange(5.0), 10 - 2 * np.arange(5.0)], 1)  # linear in time
    out = rescale(feats, 9)
    np.testing.assert_allclose(out[:, 0], np.linspace(0, 4, 9))
    np.testing.assert_allclose(out[:, 1], 10 - 2 * np.linspace(0, 4, 9))
    np.testing.assert_allclose(rescale(feats[:1], 4), np.repeat(feats[:1], 4, 0))
    src = tmp_path / 'v_x.csv'
    src.write_text('f0,f1\n' + '\n'.join(f'{a},{b}' for a, b in feats) + '\n')
    assert rescale_csv(str(src), str(tmp_path / 'out' / 'v_x.csv'), 100) == (5, 2)
    lines = (tmp_path / 'out' / 'v_x.csv').read_text().splitlines()
    assert lines[0] == 'f0,f1' and len(lines) == 101 and lines[-1] == '4,2'


def test_ava_trim_resamples_by_time(tmp_path):
    # frame i of the source is uniformly grey 4*i: the trimmed frame k must show source frame floor(25 * t_k)
    n, fps = 60, 25
    frames = np.repeat(np.repeat(np.repeat((4 * np.arange(n)).astype(np.uint8)[:, None, None, None], 32, 1), 48, 2),
                       3, 3)
    src = str(tmp_path / 'vid.mp4')
    write_h264(src, frames, fps=fps, gop=10)
    dst = str(tmp_path / 'out' / 'vid.mp4')
    assert trim_video(src, dst, start=1.0, duration=1.0, fps=10, height=16) == 10
    import av
    with av.open(dst) as c:
        got = [f.to_ndarray(format='gray').mean() for f in c.decode(video=0)]
        s = c.streams.video[0]
        assert (s.width, s.height) == (24, 16) and float(s.average_rate) == 10
    expected = [4 * int(np.floor(fps * (1.0 + k / 10) + 1e-9)) for k in range(10)]
    assert np.abs(np.array(got) - expected).max() < 3, (got, expected)
    assert resolution_stats(str(tmp_path / 'out'), str(tmp_path / 'stats.csv')) == 1
    assert (tmp_path / 'stats.csv').read_text() == 'vid 24x16\n'
