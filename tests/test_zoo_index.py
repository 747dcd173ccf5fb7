"""The shipped mmaction2 model-zoo index and label maps."""
import re

import pytest

from mmaction.utils.results import read_label_map
from mmaction.utils.zoo import LABEL_MAP_ALIASES, find_zoo_model, shipped_label_map, zoo_records


def test_index_covers_the_issue_families_with_hashes():
    records = zoo_records()
    families = {r['family'] for r in records if r['task'] == 'recognition'}
    assert {'tsn', 'tsm', 'tin', 'tanet', 'trn', 'tpn', 'c2d', 'i3d', 'slowonly', 'slowfast', 'r2plus1d', 'csn',
            'c3d', 'x3d'} <= families
    assert len({r['name'] for r in records}) == len(records)
    for r in records:
        assert r['url'].startswith('https://download.openmmlab.com/mmaction/')
        # the prefix is the hex tail of the file name, as torch hub checks it
        assert re.search(rf"-{r['sha256_prefix']}\.pth$", r['url'])
    k400_rgb = [r for r in records if r['dataset'] == 'Kinetics-400' and r['task'] == 'recognition']
    assert len(k400_rgb) >= 40
    assert any(r['dataset'] == 'UCF101' for r in records)


def test_find_zoo_model_exact_and_near_miss():
    record = find_zoo_model('tsn_imagenet-pretrained-r50_8xb32-1x1x8-100e_kinetics400-rgb')
    assert record['metrics']['Top 1 Accuracy'] == pytest.approx(74.12, abs=1.0)
    assert record['config'] == 'configs/recognition/tsn/tsn_imagenet-pretrained-r50_8xb32-1x1x8-100e_kinetics400-rgb.py'
    with pytest.raises(KeyError, match='closest: tsn_imagenet-pretrained-r50_8xb32-1x1x8-100e_kinetics400-rgb'):
        find_zoo_model('tsn_imagenet-pretrained-r50_8xb32-1x1x8-100e_kinetics400')


@pytest.mark.parametrize('name,count,first', [('kinetics400', 400, 'abseiling'), ('K600', 600, None),
                                              ('kinetics-700', 700, None), ('ssv2', 174, None),
                                              ('ucf101', 101, 'ApplyEyeMakeup'), ('hmdb51', 51, 'brush_hair')])
def test_shipped_label_maps(name, count, first):
    names = read_label_map(shipped_label_map(name))
    assert len(names) == count and len(set(names)) == count
    if first:
        assert names[0] == first


def test_unknown_label_map_name_is_none():
    assert shipped_label_map('not-a-dataset') is None
    assert set(LABEL_MAP_ALIASES) >= {'kinetics400', 'kinetics600', 'kinetics700', 'sthv2', 'ucf101', 'hmdb51'}


def test_label_map_names_resolve_to_shipped_files(tmp_path):
    from mmaction.utils.results import find_label_map, resolve_label_map
    assert read_label_map('kinetics400')[:2] == ['abseiling', 'air drumming']
    assert find_label_map(None, explicit='ucf101') == shipped_label_map('ucf101')
    own = tmp_path / 'kinetics400'
    own.write_text('a\nb\n')
    assert resolve_label_map(str(own)) == str(own)  # a real file wins over the shipped name
    with pytest.raises(FileNotFoundError, match='nor a shipped one'):
        resolve_label_map('no-such-map.txt')


def _serve(directory):
    import functools
    import http.server
    import threading
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_zoo_name_downloads_once_with_hash_check(tmp_path, monkeypatch):
    """A zoo name resolves to its URL (here a local server standing in for download.openmmlab.com), is downloaded
    into the cache with its SHA-256 prefix checked, and reused the next time."""
    import hashlib

    import torch

    import mmaction.utils.zoo as zoo
    from mmaction.utils.checkpoint import CheckpointError, resolve_checkpoint
    served = tmp_path / 'served'
    served.mkdir()
    payload = tmp_path / 'w.pth'
    torch.save({'state_dict': {'w': torch.ones(2)}}, payload)
    digest = hashlib.sha256(payload.read_bytes()).hexdigest()[:8]
    name = f'tiny_zoo_model_20240101-{digest}.pth'
    (served / name).write_bytes(payload.read_bytes())
    server = _serve(served)
    url = f'http://127.0.0.1:{server.server_address[1]}/{name}'
    records = zoo.zoo_records() + (dict(name='tiny_zoo_model', url=url, sha256_prefix=digest),)
    monkeypatch.setattr(zoo, 'zoo_records', lambda: records)
    monkeypatch.setenv('MMACTION_CACHE', str(tmp_path / 'cache'))
    try:
        local = resolve_checkpoint('tiny_zoo_model')
        assert local == str(tmp_path / 'cache' / name) and torch.load(local)['state_dict']['w'].sum() == 2
        assert resolve_checkpoint('mmaction2://tiny_zoo_model') == local
    finally:
        server.shutdown()
    assert resolve_checkpoint('tiny_zoo_model') == local  # reused without the server
    with pytest.raises(CheckpointError, match="not in the mmaction2 model-zoo index"):
        resolve_checkpoint('tiny_zoo_modle')


def test_unreachable_pretrained_names_do_not_stop_a_test_build_and_explain_in_training(tmp_path):
    from mmaction.models import build_detector
    from mmaction.models.builder import without_pretrained
    from mmaction.utils.checkpoint import CheckpointError
    from mmaction.utils.config import load_config
    cfg = load_config('configs/ava/ava_fast_rcnn_nl_r50_c4_1x_kinetics_pretrain_crop.py')
    assert cfg.model.backbone.pretrained == 'open-mmlab://kin400/nl3d_r50_f32s2_k400'
    stripped = without_pretrained(cfg.model)
    assert stripped.backbone.pretrained is None and cfg.model.backbone.pretrained is not None  # a copy
    model = build_detector(stripped, train_cfg=cfg.get('train_cfg'), test_cfg=cfg.get('test_cfg'))
    import torch

    from mmaction.apis.model_loading import load_model
    torch.save({'state_dict': model.state_dict()}, tmp_path / 'ava.pth')
    # the test tools' one loading path: the checkpoint replaces the unreachable pretrained weights
    loaded = load_model(cfg, str(tmp_path / 'ava.pth'), device='cpu')
    assert torch.equal(loaded.state_dict()['backbone.conv1.weight'], model.state_dict()['backbone.conv1.weight'])
    with pytest.raises(CheckpointError, match='no longer published.*or None to start from scratch'):
        build_detector(cfg.model, train_cfg=cfg.get('train_cfg'), test_cfg=cfg.get('test_cfg'))
