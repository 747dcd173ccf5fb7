"""data_tools/build_file_list.py modes ``activitynet`` and ``ava`` on the shared mmaction2 samples."""
import json
import os
import shutil

import cv2
import numpy as np
import pytest

from data_tools import build_file_list as bfl
from mmaction.datasets.activitynet_dataset import ActivityNetDataset
from mmaction.datasets.ava_dataset import load_video_stats


def _frames(folder, n, size=None):
    folder.mkdir(parents=True)
    for i in range(1, n + 1):
        (folder / f'img_{i:05d}.jpg').write_bytes(b'')
    if size is not None:  # only the first frame needs real pixels (the size is read from it)
        cv2.imwrite(str(folder / 'img_00001.jpg'), np.zeros((size[1], size[0], 3), np.uint8))


def _read(path):
    with open(path) as f:
        return f.read().splitlines()


def test_activitynet_rawframes_reproduce_the_sample_annotation(samples_dir, tmp_path):
    data = os.path.join(samples_dir, 'tests', 'data')
    ann = os.path.join(data, 'annotations', 'action_test_anno.json')
    raw = tmp_path / 'activitynet' / 'rawframes'
    _frames(raw / 'v_test1', 30)   # 1 s at 30 fps
    _frames(raw / 'v_test2', 48)   # 2 s at 24 fps
    bfl.build_file_list('activitynet', str(raw), ann_file=ann)
    root = tmp_path / 'activitynet'
    with open(ann) as f:
        expected = json.load(f)
    with open(root / 'anet_anno_full.json') as f:
        got = json.load(f)
    assert got == expected  # every field the dataset reads, from frame counts and durations alone
    assert _read(root / 'anet_label_map.txt') == ['Drinking beer', 'Rock climbing']
    assert _read(root / 'anet_full_video.txt') == ['v_test1 30 1', 'v_test2 48 0']
    # [0.3, 0.6] s at 30 fps -> frames 9..18 (offset 9, 9 frames); [1.0, 2.0] s at 24 fps -> offset 24, 24 frames
    assert _read(root / 'anet_full_clip.txt') == ['v_test1 9 9 1', 'v_test2 24 24 0']
    ds = ActivityNetDataset(str(root / 'anet_anno_full.json'), os.path.join(data, 'activitynet_features'),
                            temporal_scale=100)
    item = ds[1]
    assert item['raw_feature'].shape == (400, 100)
    np.testing.assert_allclose(item['gt_bbox'].numpy(), [[0.5, 1.0]])


def test_activitynet_official_json_with_videos(samples_dir, tmp_path, capsys):
    videos = tmp_path / 'anet' / 'videos'
    videos.mkdir(parents=True)
    shutil.copy(os.path.join(samples_dir, 'tests', 'data', 'test.mp4'), videos / 'v_abc.mp4')  # 300 frames, 30 fps
    ann = tmp_path / 'activity_net.v1-3.min.json'
    ann.write_text(json.dumps({'version': 'VERSION 1.3', 'database': {
        'abc': {'subset': 'training', 'duration': 10.0, 'resolution': '340x256', 'url': '',
                'annotations': [{'segment': [2.5, 5.0], 'label': 'Zumba'}]},
        'gone': {'subset': 'validation', 'duration': 3.0, 'annotations': [{'segment': [0, 1], 'label': 'Archery'}]},
        'tst': {'subset': 'testing', 'duration': 5.0, 'annotations': []}}}))
    bfl.build_file_list('activitynet', str(videos), fmt='videos', ann_file=str(ann), feature_stride=16)
    root = tmp_path / 'anet'
    with open(root / 'anet_anno_train.json') as f:
        train = json.load(f)
    assert train == {'v_abc': dict(duration_second=10.0, duration_frame=300, feature_frame=288, fps=30.0, rfps=30.0,
                                   annotations=[{'segment': [2.5, 5.0], 'label': 'Zumba'}])}
    assert _read(root / 'anet_train_video.txt') == ['v_abc 1']  # classes: Archery, Zumba
    assert _read(root / 'anet_val_video.txt') == []
    assert _read(root / 'anet_val_video.txt.missing.txt') == ['v_gone']
    assert 'v_gone' in capsys.readouterr().err
    with open(root / 'anet_anno_full.json') as f:
        assert list(json.load(f)) == ['v_abc']
    with pytest.raises(FileNotFoundError, match='anet_test_video.txt: 1 listed videos have no file .e.g. v_tst'):
        bfl.build_file_list('activitynet', str(videos), fmt='videos', ann_file=str(ann), strict=True)


def test_activitynet_bad_annotation_names_video_and_key(tmp_path):
    raw = tmp_path / 'a' / 'rawframes'
    _frames(raw / 'v_x', 3)
    ann = tmp_path / 'bad.json'
    ann.write_text(json.dumps({'v_x': {'duration_second': 1, 'annotations': [{'segment': [0.1], 'label': 'a'}]}}))
    with pytest.raises(ValueError, match=r"bad.json: video 'v_x' annotation 0: expected"):
        bfl.build_file_list('activitynet', str(raw), ann_file=str(ann))
    ann.write_text(json.dumps({'v_x': {'annotations': []}}))
    with pytest.raises(ValueError, match="video 'v_x' has neither 'duration' nor 'duration_second'"):
        bfl.build_file_list('activitynet', str(raw), ann_file=str(ann))


def test_segment_frames_clips_to_the_video():
    assert bfl.segment_frames([0.3, 0.6], 30.0, 30) == (9, 9)
    assert bfl.segment_frames([-1.0, 99.0], 10.0, 50) == (0, 50)
    assert bfl.segment_frames([4.99, 5.0], 10.0, 50) == (49, 1)   # at least one frame, inside the video


def test_ava_stats_file_and_keyframe_check(samples_dir, tmp_path, capsys):
    ava = tmp_path / 'ava'
    ann = ava / 'annotations'
    ann.mkdir(parents=True)
    shutil.copy(os.path.join(samples_dir, 'tests', 'data', 'ava_dataset', 'ava_sample.csv'), ann / 'ava_sample.csv')
    raw = ava / 'rawframes'
    # the last key-frame of 0f39OWEqJ24 is timestamp 903 -> frame 30 * (903 - 840) + 1 = 1891
    _frames(raw / '0f39OWEqJ24', 1891, size=(340, 256))
    bfl.build_file_list('ava', str(raw))
    stats = ava / 'ava_video_resolution_stats.csv'
    assert _read(stats) == ['0f39OWEqJ24 340x256']
    assert load_video_stats(str(stats)) == {'0f39OWEqJ24': (340, 256)}
    # _-Z6wFjXtGQ is annotated but has no frames
    assert _read(ava / 'ava_sample.csv.missing.txt') == ['_-Z6wFjXtGQ missing']
    assert '1 annotated videos are missing or too short' in capsys.readouterr().err
    # one frame short of the key-frame is reported with the frame it needs
    os.remove(raw / '0f39OWEqJ24' / 'img_01891.jpg')
    _frames(raw / '_-Z6wFjXtGQ', 1831, size=(320, 240))
    with pytest.raises(FileNotFoundError, match='0f39OWEqJ24 has 1890 frames, timestamp 903 needs frame 1891'):
        bfl.build_file_list('ava', str(raw), strict=True)


def test_ava_videos_stats_from_the_decoder(samples_dir, tmp_path):
    videos = tmp_path / 'ava' / 'videos_trimmed_trainval'
    videos.mkdir(parents=True)
    shutil.copy(os.path.join(samples_dir, 'tests', 'data', 'test.mp4'), videos / 'vidA.mp4')
    shutil.copy(os.path.join(samples_dir, 'tests', 'data', 'test.avi'), videos / 'vidB.avi')
    bfl.build_file_list('ava', str(videos), fmt='videos')
    assert _read(tmp_path / 'ava' / 'ava_video_resolution_stats.csv') == ['vidA 340x256', 'vidB 320x240']
