"""Outputs are readable by others as with a plain ``open()``: the atomic writers' temp files and folders must not
keep the private mode (0600/0700) of ``mkstemp``/``mkdtemp``."""
import os
import stat

import pytest
import torch

from data_tools.toy.build_toy_dataset import build_toy_dataset
from mmaction.utils.checkpoint import save_checkpoint
from mmaction.utils.io import atomic_dir, atomic_open, atomic_path, dump_pickle, is_atomic_temp, stale_atomic_temps


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_checkpoint_and_result_pickle_get_the_plain_open_mode(tmp_path, umask_022):
    ckpt, pkl, plain = tmp_path / 'epoch_1.pth', tmp_path / 'results.pkl', tmp_path / 'plain.txt'
    save_checkpoint(torch.nn.Linear(2, 3), str(ckpt))
    dump_pickle([1, 2], str(pkl))
    plain.write_text('x')
    assert _mode(plain) == 0o644
    assert _mode(ckpt) == 0o644 and _mode(pkl) == 0o644


def test_modes_follow_the_umask(tmp_path):
    old = os.umask(0o077)
    try:
        with atomic_open(tmp_path / 'private.bin') as f:
            f.write(b'1')
        with atomic_dir(tmp_path / 'private_dir') as d:
            open(os.path.join(d, 'a'), 'w').close()
    finally:
        os.umask(old)
    assert _mode(tmp_path / 'private.bin') == 0o600 and _mode(tmp_path / 'private_dir') == 0o700


def test_toy_dataset_files_and_folders(tmp_path, umask_022):
    out = tmp_path / 'toy'
    build_toy_dataset(str(out), num_per_class=2, seed=0, workers=1, size=16, min_frames=4, max_frames=4,
                      progress=False)
    files, dirs = [], []
    for root, ds, fs in os.walk(out):
        dirs += [os.path.join(root, d) for d in ds]
        files += [os.path.join(root, f) for f in fs]
    assert any(f.endswith('.mp4') for f in files) and any(f.endswith('.jpg') for f in files)
    assert any(f.endswith('meta.json') for f in files) and any(f.endswith('_list_videos.txt') for f in files)
    assert {os.path.relpath(f, out): oct(_mode(f)) for f in files if _mode(f) != 0o644} == {}
    assert {os.path.relpath(d, out): oct(_mode(d)) for d in dirs if _mode(d) != 0o755} == {}


def test_temp_names_share_one_pattern(tmp_path):
    """``atomic_path`` (with an encoder's extension) and ``atomic_dir`` leave names one sweep recognises."""
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / 'clip.mp4', suffix='.mp4') as tmp:
            assert tmp.endswith('.tmp.mp4') and is_atomic_temp(os.path.basename(tmp))
            raise RuntimeError
    assert os.listdir(tmp_path) == []
    with atomic_dir(tmp_path / 'frames') as d:
        assert is_atomic_temp(os.path.basename(d))
    assert not is_atomic_temp('frames') and not is_atomic_temp('.hidden.txt')
    os.makedirs(tmp_path / '.epoch_3.pth.abcd_123.tmp')
    assert [os.path.basename(p) for p in stale_atomic_temps(tmp_path, '*.pth')] == ['.epoch_3.pth.abcd_123.tmp']
