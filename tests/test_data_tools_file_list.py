"""data_tools/build_file_list.py: UCF101/HMDB51 splits, Kinetics names, custom trees, THUMOS14 proposals."""
import os

import pytest

from data_tools import build_file_list as bfl


def _frames(root, rel, n, flow=0):
    d = root / rel
    d.mkdir(parents=True)
    for i in range(1, n + 1):
        (d / f'img_{i:05d}.jpg').write_bytes(b'')
    for i in range(1, flow + 1):
        (d / f'flow_x_{i:05d}.jpg').write_bytes(b'')
        (d / f'flow_y_{i:05d}.jpg').write_bytes(b'')


def _read(path):
    with open(path) as f:
        return f.read().splitlines()


@pytest.fixture
def ucf(tmp_path):
    root = tmp_path / 'ucf101'
    ann = root / 'annotations'
    ann.mkdir(parents=True)
    (ann / 'classInd.txt').write_text('1 ApplyEyeMakeup\n2 Archery\n')
    (ann / 'trainlist01.txt').write_text('ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\n'
                                         'Archery/v_Archery_g08_c02.avi 2\nArchery/v_Archery_g09_c01.avi 2\n')
    (ann / 'testlist01.txt').write_text('ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi\n')
    raw = root / 'rawframes'
    _frames(raw, 'ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01', 5, flow=4)
    _frames(raw, 'Archery/v_Archery_g08_c02', 3, flow=2)
    _frames(raw, 'ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01', 7, flow=6)
    return root


def test_ucf101_split_lists(ucf, capsys):
    written = bfl.build_file_list('ucf101', str(ucf / 'rawframes'), num_split=1)
    assert sorted(os.path.basename(p) for p in written) == ['ucf101_train_split_1_rawframes.txt',
                                                            'ucf101_val_split_1_rawframes.txt']
    assert _read(ucf / 'ucf101_train_split_1_rawframes.txt') == [
        'ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01 5 0', 'Archery/v_Archery_g08_c02 3 1']
    assert _read(ucf / 'ucf101_val_split_1_rawframes.txt') == ['ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01 7 0']
    # the third training video has no frames: reported, with the full list on disk
    err = capsys.readouterr().err
    assert '1 listed videos have no frames' in err and 'v_Archery_g09_c01' in err
    assert _read(ucf / 'ucf101_train_split_1_rawframes.txt.missing.txt') == ['v_Archery_g09_c01']
    with pytest.raises(FileNotFoundError, match='v_Archery_g09_c01'):
        bfl.build_file_list('ucf101', str(ucf / 'rawframes'), num_split=1, strict=True)
    # flow lists carry the number of flow pairs
    bfl.build_file_list('ucf101', str(ucf / 'rawframes'), num_split=1, modality='flow',
                        out_list_path=str(ucf / 'flowlists'))
    assert _read(ucf / 'flowlists' / 'ucf101_val_split_1_rawframes.txt') == [
        'ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01 6 0']


def test_ucf101_video_lists_and_bad_classind(ucf):
    vids = ucf / 'videos'
    for rel in ('ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi', 'Archery/v_Archery_g08_c02.avi',
                'Archery/v_Archery_g09_c01.avi', 'ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi'):
        (vids / rel).parent.mkdir(parents=True, exist_ok=True)
        (vids / rel).write_bytes(b'')
    bfl.build_file_list('ucf101', str(vids), fmt='videos', num_split=1)
    assert _read(ucf / 'ucf101_train_split_1_videos.txt') == [
        'ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01 0', 'Archery/v_Archery_g08_c02 1', 'Archery/v_Archery_g09_c01 1']
    (ucf / 'annotations' / 'classInd.txt').write_text('1 ApplyEyeMakeup\nArchery\n')
    with pytest.raises(ValueError, match=r'classInd.txt:2: expected'):
        bfl.build_file_list('ucf101', str(vids), fmt='videos', num_split=1)


def test_hmdb51_flags_and_classind(tmp_path):
    root = tmp_path / 'hmdb51'
    ann = root / 'annotations'
    ann.mkdir(parents=True)
    (ann / 'walk_test_split1.txt').write_text('w1.avi 1 \nw2.avi 2 \nw3.avi 0 \n')
    (ann / 'brush_hair_test_split1.txt').write_text('b1.avi 2 \nb2.avi 1 \n')
    raw = root / 'rawframes'
    for rel, n in (('walk/w1', 4), ('walk/w2', 5), ('walk/w3', 6), ('brush_hair/b1', 2), ('brush_hair/b2', 3)):
        _frames(raw, rel, n)
    bfl.build_file_list('hmdb51', str(raw), num_split=1, shuffle=False)
    assert _read(ann / 'classInd.txt') == ['1 brush_hair', '2 walk']
    assert _read(root / 'hmdb51_train_split_1_rawframes.txt') == ['brush_hair/b2 3 0', 'walk/w1 4 1']
    assert _read(root / 'hmdb51_val_split_1_rawframes.txt') == ['brush_hair/b1 2 0', 'walk/w2 5 1']


@pytest.mark.parametrize('name,expected', [
    ('abseiling', 'abseiling'),
    ('passing American football (in game)', 'passing_American_football_-in_game-'),
    ('"tying knot (not on a tie)"', 'tying_knot_-not_on_a_tie-'),
    ("massaging person's head", 'massaging_persons_head'),
    ('  riding mule ', 'riding_mule'),
])
def test_kinetics_name_normalisation(name, expected):
    assert bfl.normalize_class_name(name) == expected


def test_kinetics_lists_match_renamed_folders(tmp_path, capsys):
    root = tmp_path / 'kinetics400'
    ann = root / 'annotations'
    ann.mkdir(parents=True)
    (ann / 'kinetics_train.csv').write_text(
        'label,youtube_id,time_start,time_end,split,is_cc\n'
        '"passing American football (in game)",abc,10,20,train,0\n'
        'abseiling,xyz,3,13,train,0\n'
        'abseiling,gone,0,10,train,0\n')
    (ann / 'test.csv').write_text('youtube_id,time_start,time_end,split\nqqq,7,17,test\n')
    vids = root / 'videos_train'
    for rel in ('passing_American_football_-in_game-/abc_000010_000020.mp4', 'abseiling/xyz_000003_000013.mp4'):
        (vids / rel).parent.mkdir(parents=True, exist_ok=True)
        (vids / rel).write_bytes(b'')
    bfl.build_file_list('kinetics400', str(vids), fmt='videos', subset='train')
    assert _read(root / 'kinetics400_train_list_videos.txt') == [
        'passing_American_football_-in_game-/abc_000010_000020 1', 'abseiling/xyz_000003_000013 0']
    assert 'gone_000000_000010' in capsys.readouterr().err
    tvids = root / 'videos_test'
    (tvids).mkdir()
    (tvids / 'qqq_000007_000017.mp4').write_bytes(b'')
    bfl.build_file_list('kinetics400', str(tvids), fmt='videos', subset='test', level=1)
    assert _read(root / 'kinetics400_test_list_videos.txt') == ['qqq_000007_000017 -1']


def test_custom_tree_split_is_stratified_and_seeded(tmp_path):
    raw = tmp_path / 'mine' / 'rawframes'
    for c in ('b_cls', 'a_cls'):
        for i in range(4):
            _frames(raw, f'{c}/{c}{i}', 2 + i)
    bfl.build_file_list('custom', str(raw), val_ratio=0.25, seed=1)
    train = _read(tmp_path / 'mine' / 'custom_train_list_rawframes.txt')
    val = _read(tmp_path / 'mine' / 'custom_val_list_rawframes.txt')
    assert len(train) == 6 and len(val) == 2
    assert sorted(v.split()[2] for v in val) == ['0', '1']
    assert all(line.split()[0].startswith('a_cls/') == (line.split()[2] == '0') for line in train + val)
    assert _read(tmp_path / 'mine' / 'classInd.txt') == ['1 a_cls', '2 b_cls']
    # --shuffle only reorders (same split), reproducibly for a given seed
    bfl.build_file_list('custom', str(raw), val_ratio=0.25, seed=1, shuffle=True)
    shuffled = _read(tmp_path / 'mine' / 'custom_train_list_rawframes.txt')
    assert sorted(shuffled) == sorted(train)
    bfl.build_file_list('custom', str(raw), val_ratio=0.25, seed=1, shuffle=True)
    assert _read(tmp_path / 'mine' / 'custom_train_list_rawframes.txt') == shuffled


def test_thumos14_proposals_are_denormalised(tmp_path):
    root = tmp_path / 'thumos14'
    raw = root / 'rawframes'
    _frames(raw, 'video_validation_0000051', 200)
    (root / 'annotations').mkdir(parents=True)
    (root / 'annotations' / 'thumos14_tag_val_normalized_proposal_list.txt').write_text(
        '# 0\nvideo_validation_0000051\n1.0\n1.0\n1\n7 0.1 0.25\n2\n7 0.8 0.9 0.12 0.26\n0 0.0 0.1 0.5 0.7\n')
    bfl.build_file_list('thumos14', str(raw), level=1)
    assert _read(root / 'thumos14_tag_val_proposal_list.txt') == [
        '# 0', 'video_validation_0000051', '200', '1', '1', '7 20 50', '2', '7 0.8 0.9 24 52', '0 0.0 0.1 100 140']


def test_flow_count_mismatch_names_the_folder(tmp_path):
    raw = tmp_path / 'd' / 'rawframes'
    _frames(raw, 'c/v', 3, flow=2)
    os.remove(raw / 'c' / 'v' / 'flow_y_00002.jpg')
    with pytest.raises(ValueError, match=r'c/v: 2 flow_x_\* files but 1 flow_y_\*'):
        bfl.build_file_list('custom', str(raw))
