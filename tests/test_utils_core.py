"""Registry errors, config validation, checkpoint safety and atomic/restricted pickle I/O."""
import os
import pickle

import numpy as np
import pytest
import torch
import torch.nn as nn

from mmaction.registry import BACKBONES, ConfigError, build_from_cfg
from mmaction.utils.checkpoint import (CheckpointError, get_state_dict, load_checkpoint, load_file,
                                       resolve_checkpoint, save_checkpoint)
from mmaction.utils.config import load_config
from mmaction.utils.io import atomic_open, dump_pickle, load_pickle


class _Evil:
    def __reduce__(self):
        return (os.system, ('echo pwned > /dev/null',))


class _Custom:
    pass


@BACKBONES.register_module(name='_TinyTestNet')
class _TinyTestNet(nn.Module):
    def __init__(self, width: int = 2):
        super().__init__()
        self.fc = nn.Linear(3, width)


def test_registry_suggests_closest_names():
    with pytest.raises(ConfigError) as err:
        build_from_cfg(dict(type='_TinyTestNett'), BACKBONES, where='model.backbone')
    message = str(err.value)
    assert "model.backbone" in message and "'_TinyTestNett'" in message and "'_TinyTestNet'" in message


def test_registry_bad_keyword_names_config_key():
    with pytest.raises(ConfigError, match=r"model.backbone.*_TinyTestNet.*depthh"):
        build_from_cfg(dict(type='_TinyTestNet', depthh=3), BACKBONES, where='model.backbone')
    net = build_from_cfg(dict(type='_TinyTestNet'), BACKBONES, default_args=dict(width=5))
    assert net.fc.out_features == 5


def test_config_type_errors_name_the_key(tmp_path):
    path = tmp_path / 'cfg.py'
    path.write_text("data = dict(videos_per_gpu='8', workers_per_gpu=2)\n")
    with pytest.raises(ConfigError, match=r"cfg.py.*'data.videos_per_gpu' must be int, got str"):
        load_config(str(path))
    path.write_text("total_epochs = 3\nlr_config = dict(policy='step')\n")
    cfg = load_config(str(path), cfg_options={'total_epochs': 5})
    assert cfg.total_epochs == 5
    with pytest.raises(FileNotFoundError, match='nope.py'):
        load_config(str(tmp_path / 'nope.py'))


def test_checkpoint_roundtrip_with_numpy_meta(tmp_path):
    model = nn.Linear(2, 3)
    path = str(tmp_path / 'ckpt.pth')
    save_checkpoint(model, path, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                    meta=dict(epoch=2, numpy_state=np.arange(4, dtype=np.uint32)))
    ckpt = load_file(path)
    assert set(ckpt) == {'meta', 'state_dict', 'optimizer'}
    assert ckpt['meta']['epoch'] == 2 and ckpt['meta']['numpy_state'].tolist() == [0, 1, 2, 3]
    other = nn.Linear(2, 3)
    load_checkpoint(other, path, strict=True)
    assert torch.equal(other.weight, model.weight)
    assert not [n for n in os.listdir(tmp_path) if n.endswith('.tmp')]


def test_checkpoint_refuses_arbitrary_objects(tmp_path):
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'meta': {'x': _Custom()}}, path)
    with pytest.raises(CheckpointError, match='--trust-checkpoint'):
        load_file(path)
    assert isinstance(load_file(path, trust=True)['meta']['x'], _Custom)


def test_checkpoint_key_report_and_prefix_stripping(tmp_path):
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    state = {'module.0.weight': torch.zeros(3, 2), 'module.0.bias': torch.zeros(3),
             'module.1.weight': torch.zeros(2, 3), 'module.extra': torch.zeros(1)}
    assert list(get_state_dict(state)) == ['0.weight', '0.bias', '1.weight', 'extra']
    path = str(tmp_path / 'raw.pth')
    torch.save(state, path)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(model, path, strict=True)
    text = str(err.value)
    assert '1.weight: checkpoint (2, 3) vs model (1, 3)' in text
    assert 'missing keys in checkpoint (2): 1.weight, 1.bias' in text or 'missing keys in checkpoint (1): 1.bias' in text
    assert 'unexpected keys in checkpoint (1): extra' in text
    load_checkpoint(model, path, strict=False)
    assert torch.count_nonzero(model[0].weight) == 0


def test_resolve_checkpoint_names():
    with pytest.raises(CheckpointError, match='not found: /no/such/file.pth'):
        resolve_checkpoint('/no/such/file.pth')
    with pytest.raises(CheckpointError, match="unknown model-zoo name 'modelzoo://resnet51'"):
        resolve_checkpoint('modelzoo://resnet51')


def test_restricted_unpickler(tmp_path):
    good = [np.zeros((1, 5), np.float32), {'a': (1, 2.5, 'x')}]
    path = tmp_path / 'res.pkl'
    dump_pickle(good, path)
    loaded = load_pickle(path)
    assert loaded[0].dtype == np.float32 and loaded[0].shape == (1, 5) and loaded[1] == {'a': (1, 2.5, 'x')}
    evil = tmp_path / 'evil.pkl'
    evil.write_bytes(pickle.dumps([_Evil()]))
    with pytest.raises(pickle.UnpicklingError, match=r'evil.pkl: refusing to unpickle (posix|os|nt)\.system'):
        load_pickle(evil)


def test_atomic_open_keeps_old_file_on_crash(tmp_path):
    path = tmp_path / 'out.bin'
    path.write_bytes(b'old')
    with pytest.raises(RuntimeError):
        with atomic_open(path) as f:
            f.write(b'partial')
            raise RuntimeError('crash')
    assert path.read_bytes() == b'old'
    assert os.listdir(tmp_path) == ['out.bin']


def test_read_json_object_names_the_file_and_the_problem(tmp_path):
    from mmaction.utils.io import read_json_object
    good = tmp_path / 'a.json'
    good.write_text('{"v": {"duration_second": 1.5}}')
    assert read_json_object(good) == {'v': {'duration_second': 1.5}}
    with pytest.raises(FileNotFoundError, match=r'annotation file not found: .*missing\.json'):
        read_json_object(tmp_path / 'missing.json', 'annotation file')
    (tmp_path / 'bad.json').write_text('{\n"v": ,\n}')
    with pytest.raises(ValueError, match=r'bad\.json: invalid JSON at line 2'):
        read_json_object(tmp_path / 'bad.json')
    (tmp_path / 'list.json').write_text('[1, 2]')
    with pytest.raises(ValueError, match=r'list\.json: expected a JSON object at the top level, got list'):
        read_json_object(tmp_path / 'list.json')


def test_check_pickle_path_before_a_long_run(tmp_path):
    from mmaction.utils.io import check_pickle_path
    check_pickle_path(None)
    check_pickle_path(str(tmp_path / 'new' / 'deeper' / 'r.pkl'))  # parents are created when written
    with pytest.raises(ValueError, match=r'--out must end with \.pkl or \.pickle, got r\.json'):
        check_pickle_path('r.json')
    (tmp_path / 'd.pkl').mkdir()
    check_pickle_path(str(tmp_path / 'd.pkl'), writable=False)  # suffix only: the tool checks the rest later
    with pytest.raises(IsADirectoryError, match=r'--out .*d\.pkl is an existing directory'):
        check_pickle_path(str(tmp_path / 'd.pkl'))
