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
