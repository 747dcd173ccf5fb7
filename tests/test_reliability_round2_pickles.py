"""Issue 17 points 1-2 and issue 14 item 3: crafted pickles (object/structured numpy dtypes, allocation bombs)
are refused by the one safe loader behind result pickles, proposal pickles and checkpoints, with a message naming
the file; mmengine checkpoints (message_hub objects) load without running code. Every file is built here."""
import collections
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn as nn


from test_ava_dataset import _ds as build_ava_dataset, ava_root  # noqa: E402,F401 (ava_root: a fixture)

from mmaction.utils.checkpoint import CheckpointError, load_checkpoint, load_file  # noqa: E402
from mmaction.utils.io import InertObject, PickleLoadError, load_pickle, loads_pickle  # noqa: E402
from _dist_test_helpers import load_script  # noqa: E402 (tests/ helper)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_reconstruct = np.ndarray.__reduce__(np.zeros(1))[0]  # numpy's array rebuild function, wherever numpy keeps it


class Reduce:
    """Pickles as the given reduce tuple: how an attacker writes any opcode sequence with the stock pickler."""

    def __init__(self, *rv):
        self.rv = rv

    def __reduce__(self):
        return self.rv


def structured_object_array():
    """The SIGSEGV case: a 'V8' dtype rebuilt with an object field and its object flags zeroed, over 8 bytes
    that numpy would dereference as a pointer."""
    dtype = Reduce(np.dtype, ('V8', False, True), (3, '|', None, ('f',), {'f': (np.dtype('O'), 0)}, 8, 1, 0))
    return Reduce(_reconstruct, (np.ndarray, (0,), b'b'), (1, (1,), dtype, False, b'\x41' * 8))


def float_dtype_turned_structured():
    dtype = Reduce(np.dtype, ('f8', False, True), (3, '|', None, ('f',), {'f': (np.dtype('i8'), 0)}, 8, 1, 0))
    return Reduce(_reconstruct, (np.ndarray, (0,), b'b'), (1, (1,), dtype, False, b'\x41' * 8))


CRAFTED = {
    'structured': (structured_object_array, r"refusing to unpickle a numpy array of dtype dtype\('V8'\)"),
    'float_with_fields': (float_dtype_turned_structured, r'refusing to unpickle a numpy dtype with state'),
    'object_array': (lambda: np.array([1, 'a'], dtype=object), r"refusing to unpickle a numpy array of dtype "
                                                                 r"dtype\('O'\)"),
}
BOMB = b'\x80\x02c__builtin__\nbytearray\nq\x00J\x00\xca\x9a;\x85q\x01Rq\x02.'  # bytearray(10**9), 43 bytes


@pytest.mark.parametrize('kind', sorted(CRAFTED))
def test_result_pickle_with_crafted_numpy_is_refused_naming_file(tmp_path, kind):
    make, message = CRAFTED[kind]
    path = tmp_path / f'{kind}.pkl'
    path.write_bytes(pickle.dumps([np.zeros((1, 3), np.float32), make()], protocol=2))
    with pytest.raises(PickleLoadError, match=message) as err:
        load_pickle(path)
    assert str(path) in str(err.value)


def test_plain_arrays_still_load_all_protocols():
    obj = {'scores': [np.arange(6, dtype='>f4').reshape(2, 3)], 'n': np.int64(3), 'ok': np.bool_(True),
           'od': collections.OrderedDict(a=np.zeros(2, np.complex64)), 'dd': collections.defaultdict(list, x=[1])}
    for protocol in (2, 4, 5):
        out = loads_pickle(pickle.dumps(obj, protocol=protocol))
        np.testing.assert_array_equal(out['scores'][0], obj['scores'][0])
        assert out['n'] == 3 and out['ok'] and out['od']['a'].dtype == np.complex64 and out['dd']['x'] == [1]
        assert out['scores'][0].flags.writeable


def test_allocation_bombs_fail_fast(tmp_path):
    path = tmp_path / 'bomb.pkl'
    path.write_bytes(BOMB)
    with pytest.raises(PickleLoadError, match=r'bomb.pkl: refusing bytearray\(1000000000\).*allocates from a number'):
        load_pickle(path)
    # an ndarray "shape" in _reconstruct is an allocation from a number too
    with pytest.raises(PickleLoadError, match=r'refusing numpy _reconstruct'):
        loads_pickle(pickle.dumps(Reduce(_reconstruct, (np.ndarray, (10 ** 9,), b'b')), protocol=2))
    # total budget: one 64 KiB string copied into 200 bytes objects through memo references (~13 MB from 66 KB)
    payload = b'x' * 65536
    # (the stock pickler would memoize the call, so the opcodes are written by hand)
    ops = [b'\x80\x02c__builtin__\nbytes\nq\x00', b'B' + len(payload).to_bytes(4, 'little') + payload + b'q\x01', b'(']
    ops += [b'h\x00h\x01\x85R'] * 200
    ops += [b'l.']
    with pytest.raises(PickleLoadError, match=r'<bytes>: refusing to unpickle: bytes\(\.\.\.\) would bring the memory'):
        loads_pickle(b''.join(ops))


def test_refused_code_execution_still_names_the_global(tmp_path):
    path = tmp_path / 'evil.pkl'
    path.write_bytes(pickle.dumps(Reduce(eval, ('1+1',)), protocol=2))
    with pytest.raises(PickleLoadError, match=r'evil.pkl: refusing to unpickle builtins.eval'):
        load_pickle(path)


@pytest.mark.parametrize('where', ['meta', 'state_dict'])
def test_checkpoint_with_crafted_numpy_is_refused(tmp_path, where):
    ckpt = {'meta': {'epoch': 1}, 'state_dict': {'w': torch.zeros(2)}}
    ckpt[where]['evil'] = structured_object_array()
    path = tmp_path / f'evil_{where}.pth'
    torch.save(ckpt, path)
    with pytest.raises(CheckpointError, match=r'evil_\w+\.pth: refusing .*--trust-checkpoint'):
        load_file(str(path))


def test_checkpoint_with_bomb_is_refused(tmp_path):
    path = tmp_path / 'bomb.pth'
    torch.save({'meta': {'x': Reduce(bytearray, (10 ** 9,))}, 'state_dict': {}}, path)
    with pytest.raises(CheckpointError, match=r'bomb.pth: refusing bytearray\(1000000000\)'):
        load_file(str(path))


def test_checkpoint_tensor_class_cannot_allocate_from_a_number(tmp_path):
    path = tmp_path / 'tensor_bomb.pth'
    torch.save({'state_dict': {'w': Reduce(torch.Tensor, (10 ** 9,))}}, path)
    with pytest.raises(CheckpointError, match=r'tensor_bomb.pth: refusing to call torch.*Tensor'):
        load_file(str(path))
    # ... also not through the rebuild helper that calls its first argument
    torch.save({'w': Reduce(torch._tensor._rebuild_from_type_v2, (torch.Tensor, torch.Tensor, (10 ** 9,), {}))},
               path)
    with pytest.raises(CheckpointError, match=r'tensor_bomb.pth: refusing torch._tensor._rebuild_from_type_v2'):
        load_file(str(path))


class Recognizer(nn.Module):
    """mmaction2 naming: ``backbone.*`` and ``cls_head.*`` keys."""

    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
        self.cls_head = nn.Module()
        self.cls_head.fc_cls = nn.Linear(4, 5)


def mmengine_checkpoint(path, model):
    """A checkpoint written the way mmengine's runner writes one (mmengine 0.10.7 objects in message_hub)."""
    mmengine_logging = pytest.importorskip('mmengine.logging')
    hub = mmengine_logging.MessageHub.get_instance('round2_test_hub')
    hub.update_scalar('train/loss', 1.5)
    hub.update_scalar('train/loss', np.float64(1.25))
    hub.update_info('epoch', 3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 2)
    checkpoint = {
        'meta': {'epoch': 3, 'iter': 30, 'mmengine_version': '0.10.7', 'cfg': "model = dict(type='Recognizer2D')",
                 'seed': 0, 'experiment_name': 'tsn', 'time': '20240101_000000',
                 'dataset_meta': {'classes': ('a', 'b')}},
        'state_dict': collections.OrderedDict((k, v.clone()) for k, v in model.state_dict().items()),
        'message_hub': hub.state_dict(), 'optimizer': optimizer.state_dict(),
        'param_schedulers': [scheduler.state_dict()],
    }
    torch.save(checkpoint, path)
    return checkpoint


def test_mmengine_checkpoint_loads_without_running_code(tmp_path):
    torch.manual_seed(0)
    model = Recognizer()
    path = str(tmp_path / 'tsn_mmaction2.pth')
    saved = mmengine_checkpoint(path, model)
    loaded = load_file(path)
    assert set(loaded) == set(saved)
    for key, value in saved['state_dict'].items():
        assert torch.equal(loaded['state_dict'][key], value), key
    buffer = loaded['message_hub']['log_scalars']['train/loss']
    # the HistoryBuffer came back as an inert placeholder holding its data, not as mmengine's class
    assert isinstance(buffer, InertObject)
    assert buffer.inert_class == 'mmengine.logging.history_buffer.HistoryBuffer'
    np.testing.assert_array_equal(buffer.state['_log_history'], [1.5, 1.25])
    assert loaded['meta']['dataset_meta'] == {'classes': ('a', 'b')}
    assert loaded['param_schedulers'][0]['step_size'] == 2
    # strict load of backbone.* / cls_head.* keys into a model with mmaction2's names
    target = Recognizer()
    report = load_checkpoint(target, path, strict=True)
    assert report['meta']['epoch'] == 3
    assert torch.equal(target.cls_head.fc_cls.weight, model.cls_head.fc_cls.weight)
    # prefix='backbone.' takes the backbone out of a recognizer checkpoint (mmaction2's init_cfg prefix)
    backbone = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    load_checkpoint(backbone, path, strict=True, prefix='backbone.')
    assert torch.equal(backbone[0].weight, model.backbone[0].weight)
    with pytest.raises(CheckpointError, match=r"no key starts with 'neck\.'"):
        load_checkpoint(backbone, path, prefix='neck.')


def test_checkpoint_with_unknown_class_outside_openmmlab_is_refused(tmp_path):
    path = tmp_path / 'other.pth'
    torch.save({'state_dict': {}, 'meta': {'args': Reduce(collections.Counter, ())}}, path)
    with pytest.raises(CheckpointError, match=r'other.pth: refusing to unpickle collections.Counter'):
        load_file(str(path))


def _tool(rel):
    return load_script(rel)


@pytest.fixture()
def evil_results(tmp_path):
    (tmp_path / 'list.txt').write_text('v0 3 0\nv1 3 1\n')
    (tmp_path / 'cfg.py').write_text(f"data = dict(test=dict(ann_file='{tmp_path / 'list.txt'}'))\n")
    path = tmp_path / 'results.pkl'
    path.write_bytes(pickle.dumps([np.zeros((1, 2), np.float32), structured_object_array()], protocol=2))
    return tmp_path, str(path)


def test_tools_reading_result_pickles_refuse(evil_results):
    root, path = evil_results
    ann, cfg = str(root / 'list.txt'), str(root / 'cfg.py')
    calls = [
        ('tools/analysis/eval_metric.py', ['cfg.py', path, '--ann-file', ann]),
        ('tools/analysis/report_accuracy.py', ['--scores', path, '--ann-file', ann]),
        ('tools/analysis/confusion_matrix.py', [cfg, path, '--ann-file', ann, '--out', str(root / 'cm.png')]),
    ]
    for tool, argv in calls:
        with pytest.raises(PickleLoadError, match='results.pkl: refusing') as err:
            _tool(tool).main(argv)
        assert path in str(err.value), tool


def test_eval_metric_exits_cleanly_not_with_a_crash(evil_results):
    root, path = evil_results
    proc = subprocess.run([sys.executable, os.path.join(ROOT, 'tools/analysis/eval_metric.py'), 'cfg.py', path,
                           '--ann-file', str(root / 'list.txt')], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=ROOT))
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-2000:])  # 139 was the SIGSEGV
    assert 'results.pkl: refusing to unpickle a numpy' in proc.stderr or 'results.pkl: refusing' in proc.stderr


def test_proposal_and_localizer_pickles_refuse(tmp_path):
    from mmaction.apis.inference_detector import proposals_lookup
    path = tmp_path / 'proposals.pkl'
    path.write_bytes(pickle.dumps({'vid,0902': structured_object_array()}, protocol=2))
    with pytest.raises(PickleLoadError, match='proposals.pkl: refusing'):
        proposals_lookup(str(path), 'vid', 40, 30)
    out = tmp_path / 'ssn_out.pkl'
    out.write_bytes(BOMB)
    (tmp_path / 'cfg.py').write_text('data = dict()\n')
    with pytest.raises(PickleLoadError, match=r'ssn_out.pkl: refusing bytearray'):
        _tool('tools/eval_localize_results.py').main([str(tmp_path / 'cfg.py'), str(out)])


def test_ava_dataset_refuses_crafted_proposal_pickle(ava_root):  # noqa: F811 (the fixture)
    crafted = ava_root / 'crafted_proposals.pkl'
    crafted.write_bytes(pickle.dumps({'0f39OWEqJ24,0902': structured_object_array()}, protocol=2))
    with pytest.raises(PickleLoadError, match='crafted_proposals.pkl: refusing'):
        build_ava_dataset(ava_root, proposal_file=str(crafted))
