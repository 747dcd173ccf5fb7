"""Offline end-to-end runs of each dataset's extract_frames.sh / generate_filelist.sh (and AVA's trimming) on a
fake ``DATA_ROOT`` layout made from the sample videos. Downloads are never run; every script is run from an
unrelated working directory to prove the paths do not depend on it."""
import csv
import glob
import json
import os
import subprocess
import sys

import cv2
import decord
import numpy as np
import pytest

from data_tools.media import write_h264

TOOLS = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', 'data_tools'))
# DIS ultrafast on 64x48 clips keeps each script at about a second, and does not depend on cv2.optflow (TV-L1)
FAST_FLOW = ['--flow-type', 'dis', '--flow-preset', 'ultrafast', '--quiet']


@pytest.fixture(scope='module')
def clips(samples_dir):
    """Frames (T, 48, 64, 3) RGB from the two sample videos: 40 of tests/data/test.mp4, 12 of demo/demo.mp4."""
    out = {}
    for key, rel, n in (('test', 'tests/data/test.mp4', 40), ('demo', 'demo/demo.mp4', 12)):
        vr = decord.VideoReader(os.path.join(samples_dir, rel), num_threads=1)
        out[key] = np.stack([cv2.resize(f, (64, 48), interpolation=cv2.INTER_AREA)
                             for f in vr.get_batch(list(range(n))).asnumpy()])
    return out


def _video(path, frames, fps=30):
    write_h264(str(path), frames, fps=fps)
    return len(decord.VideoReader(str(path), num_threads=1))  # the count extraction must reproduce


def _run(script, data_root, tmp_path, *args, **env):
    cwd = tmp_path / 'elsewhere'
    cwd.mkdir(exist_ok=True)
    full_env = dict(os.environ, DATA_ROOT=str(data_root), PYTHON=sys.executable, WORKERS='1', **env)
    p = subprocess.run(['bash', os.path.join(TOOLS, script), *args], cwd=cwd, env=full_env, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, f'{script} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}'
    return p.stdout + p.stderr


def _count(folder, prefix):
    return len(glob.glob(os.path.join(str(folder), prefix + '*.jpg')))


def _lines(path):
    return sorted(open(path).read().split('\n')[:-1])


def test_every_shell_script_parses():
    scripts = sorted(glob.glob(os.path.join(TOOLS, '**', '*.sh'), recursive=True))
    assert len(scripts) >= 26  # 6 datasets x 4 scripts + AVA/THUMOS extras
    for s in scripts:
        p = subprocess.run(['bash', '-n', s], capture_output=True, text=True)
        assert p.returncode == 0, f'{s}: {p.stderr}'


def test_ucf101_extract_and_lists(clips, tmp_path):
    ds = tmp_path / 'data' / 'ucf101'
    vids = {'ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01': clips['test'][:8],
            'Archery/v_Archery_g01_c01': clips['demo'][:6], 'Archery/v_Archery_g02_c01': clips['test'][10:17]}
    n = {k: _video(ds / 'videos' / f'{k}.avi', f) for k, f in vids.items()}
    assert sorted(n.values()) == [6, 7, 8]
    ann = ds / 'annotations'
    ann.mkdir()
    (ann / 'classInd.txt').write_text('1 ApplyEyeMakeup\n2 Archery\n')
    for s in (1, 2, 3):  # split s keeps a different Archery video for testing
        test = 'Archery/v_Archery_g02_c01' if s != 2 else 'Archery/v_Archery_g01_c01'
        train = [k for k in vids if k != test]
        (ann / f'trainlist0{s}.txt').write_text(''.join(f'{k}.avi {1 + k.startswith("Archery")}\n' for k in train))
        (ann / f'testlist0{s}.txt').write_text(f'{test}.avi\n')
    _run('ucf101/extract_frames.sh', tmp_path / 'data', tmp_path, *FAST_FLOW)
    for k, count in n.items():
        d = ds / 'rawframes' / k
        assert (_count(d, 'img_'), _count(d, 'flow_x_'), _count(d, 'flow_y_')) == (count, count - 1, count - 1), k
    out = _run('ucf101/generate_filelist.sh', tmp_path / 'data', tmp_path)
    assert 'WARNING' not in out
    assert _lines(ds / 'ucf101_train_split_1_rawframes.txt') == [
        f'ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01 {n["ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01"]} 0',
        f'Archery/v_Archery_g01_c01 {n["Archery/v_Archery_g01_c01"]} 1']
    assert _lines(ds / 'ucf101_val_split_2_rawframes.txt') == [
        f'Archery/v_Archery_g01_c01 {n["Archery/v_Archery_g01_c01"]} 1']
    assert _lines(ds / 'ucf101_val_split_3_videos.txt') == ['Archery/v_Archery_g02_c01 1']
    # flow lists count flow pairs (frames - 1)
    assert _lines(ds / 'flow_lists' / 'ucf101_val_split_1_rawframes.txt') == [
        f'Archery/v_Archery_g02_c01 {n["Archery/v_Archery_g02_c01"] - 1} 1']
    # rerun: --resume skips all three videos
    assert '0 extracted, 3 skipped' in _run('ucf101/extract_frames.sh', tmp_path / 'data', tmp_path, *FAST_FLOW)


def test_hmdb51_extract_rgb_only_and_lists(clips, tmp_path):
    ds = tmp_path / 'data' / 'hmdb51'
    vids = {'brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0': clips['test'][:5],
            'brush_hair/Blonde_being_brushed_h_nm_np2_le_med_0': clips['test'][20:26],
            'cartwheel/Bodenturnen_cartwheel_f_cm_np1_le_med_0': clips['demo'][:7]}
    n = {k: _video(ds / 'videos' / f'{k}.avi', f) for k, f in vids.items()}
    ann = ds / 'annotations'
    ann.mkdir()
    for s in (1, 2, 3):
        (ann / f'brush_hair_test_split{s}.txt').write_text(
            'April_09_brush_hair_u_nm_np1_ba_goo_0.avi 1 \nBlonde_being_brushed_h_nm_np2_le_med_0.avi 2 \n')
        (ann / f'cartwheel_test_split{s}.txt').write_text(f'Bodenturnen_cartwheel_f_cm_np1_le_med_0.avi {s % 3} \n')
    _run('hmdb51/extract_frames.sh', tmp_path / 'data', tmp_path, '--quiet', TASK='rgb')
    for k, count in n.items():
        assert (_count(ds / 'rawframes' / k, 'img_'), _count(ds / 'rawframes' / k, 'flow_x_')) == (count, 0), k
    _run('hmdb51/generate_filelist.sh', tmp_path / 'data', tmp_path)
    assert (ann / 'classInd.txt').read_text() == '1 brush_hair\n2 cartwheel\n'
    assert _lines(ds / 'hmdb51_train_split_1_rawframes.txt') == [
        f'brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0 {n["brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0"]} 0',
        f'cartwheel/Bodenturnen_cartwheel_f_cm_np1_le_med_0 {n["cartwheel/Bodenturnen_cartwheel_f_cm_np1_le_med_0"]} 1']
    assert _lines(ds / 'hmdb51_val_split_2_videos.txt') == [
        'brush_hair/Blonde_being_brushed_h_nm_np2_le_med_0 0', 'cartwheel/Bodenturnen_cartwheel_f_cm_np1_le_med_0 1']
    assert _lines(ds / 'hmdb51_train_split_3_videos.txt') == ['brush_hair/April_09_brush_hair_u_nm_np1_ba_goo_0 0']


def test_kinetics400_extract_short_side_and_lists(clips, tmp_path):
    ds = tmp_path / 'data' / 'kinetics400'
    classes = ['passing American football (in game)', "massaging person's head"]
    folders = ['passing_American_football_-in_game-', 'massaging_persons_head']
    ann = ds / 'annotations'
    ann.mkdir(parents=True)
    rows = {'train': [(classes[0], 'abc', 10), (classes[1], 'def', 0), (classes[1], 'gone', 5)],
            'val': [(classes[0], 'ghi', 30)]}
    n = {}
    for subset, items in rows.items():
        with open(ann / f'kinetics_{subset}.csv', 'w', newline='') as f:
            w = csv.writer(f)
            w.writerow(['label', 'youtube_id', 'time_start', 'time_end', 'split'])
            for i, (cls, yt, t) in enumerate(items):
                w.writerow([cls, yt, t, t + 10, subset])
                if yt != 'gone':  # listed in the CSV, never downloaded: reported, not fatal
                    key = f'{folders[classes.index(cls)]}/{yt}_{t:06d}_{t + 10:06d}'
                    n[subset, key] = _video(ds / f'videos_{subset}' / f'{key}.mp4', clips['test'][i * 8:i * 8 + 6 + i])
    _run('kinetics400/extract_frames.sh', tmp_path / 'data', tmp_path, '--new-short', '32', '--quiet')
    for (subset, key), count in n.items():
        d = ds / f'rawframes_{subset}' / key
        assert _count(d, 'img_') == count
        assert cv2.imread(str(d / 'img_00001.jpg')).shape[:2] == (32, 43)  # 48x64 -> short side 32
    out = _run('kinetics400/generate_filelist.sh', tmp_path / 'data', tmp_path)
    assert 'kinetics400_train_list_rawframes.txt: 1 listed videos have no frames (e.g. gone_000005_000015)' in out
    k_abc = 'passing_American_football_-in_game-/abc_000010_000020'
    k_def = 'massaging_persons_head/def_000000_000010'
    # labels: index in the sorted normalised train class names
    assert _lines(ds / 'kinetics400_train_list_rawframes.txt') == sorted(
        [f'{k_abc} {n["train", k_abc]} 1', f'{k_def} {n["train", k_def]} 0'])
    assert _lines(ds / 'kinetics400_train_list_rawframes.txt.missing.txt') == ['gone_000005_000015']
    assert _lines(ds / 'kinetics400_val_list_videos.txt') == ['passing_American_football_-in_game-/ghi_000030_000040 1']


def test_thumos14_extract_both_subsets_and_proposals(clips, tmp_path):
    ds = tmp_path / 'data' / 'thumos14'
    n_val = _video(ds / 'videos' / 'val' / 'video_validation_0000051.mp4', clips['test'][:20])
    n_test = _video(ds / 'videos' / 'test' / 'video_test_0000004.mp4', clips['demo'][:10])
    ann = ds / 'annotations'
    ann.mkdir()
    (ann / 'thumos14_tag_val_normalized_proposal_list.txt').write_text(
        '# 0\nvideo_validation_0000051\n1.0\n1.0\n1\n7 0.1 0.25\n1\n7 0.8 0.9 0.5 0.75\n')
    (ann / 'thumos14_tag_test_normalized_proposal_list.txt').write_text(
        '# 0\nvideo_test_0000004\n1.0\n1.0\n0\n1\n0 0.0 0.1 0.2 0.6\n')
    _run('thumos14/extract_frames.sh', tmp_path / 'data', tmp_path, *FAST_FLOW)
    raw = ds / 'rawframes'
    assert sorted(os.listdir(raw)) == ['video_test_0000004', 'video_validation_0000051']
    assert _count(raw / 'video_validation_0000051', 'img_') == n_val == 20
    assert _count(raw / 'video_test_0000004', 'flow_y_') == n_test - 1
    _run('thumos14/generate_filelist.sh', tmp_path / 'data', tmp_path)
    assert (ds / 'thumos14_tag_val_proposal_list.txt').read_text().split('\n')[:-1] == [
        '# 0', 'video_validation_0000051', '20', '1', '1', '7 2 5', '1', '7 0.8 0.9 10 15']
    assert (ds / 'thumos14_tag_test_proposal_list.txt').read_text().split('\n')[:-1] == [
        '# 0', 'video_test_0000004', str(n_test), '1', '0', '1', f'0 0.0 0.1 {int(0.2 * n_test)} {int(0.6 * n_test)}']


def test_activitynet_extract_lists_and_feature_rescaling(clips, tmp_path):
    ds = tmp_path / 'data' / 'activitynet'
    n_a = _video(ds / 'videos' / 'v_abc.mp4', clips['test'][:30])   # 1 s at 30 fps
    n_b = _video(ds / 'videos' / 'v_def.mp4', clips['demo'][:12])
    ann = ds / 'annotations'
    ann.mkdir()
    db = {'abc': dict(subset='training', duration=1.0, annotations=[dict(segment=[0.2, 0.5], label='Zumba')]),
          'def': dict(subset='validation', duration=0.4, annotations=[dict(segment=[0.0, 0.4], label='Archery')])}
    (ann / 'activity_net.v1-3.min.json').write_text(json.dumps(dict(database=db)))
    feats = ds / 'features_raw'
    feats.mkdir()
    (feats / 'v_abc.csv').write_text('f0,f1\n0,10\n1,8\n2,6\n')
    _run('activitynet/extract_frames.sh', tmp_path / 'data', tmp_path, '--new-short', '32', '--quiet', TASK='rgb')
    assert (_count(ds / 'rawframes' / 'v_abc', 'img_'), _count(ds / 'rawframes' / 'v_def', 'img_')) == (n_a, n_b)
    _run('activitynet/generate_filelist.sh', tmp_path / 'data', tmp_path, '--feature-stride', '8')
    train = json.loads((ds / 'anet_anno_train.json').read_text())
    assert list(train) == ['v_abc']
    assert train['v_abc']['duration_frame'] == 30 and train['v_abc']['feature_frame'] == 24  # whole 8-frame snippets
    assert list(json.loads((ds / 'anet_anno_full.json').read_text())) == ['v_abc', 'v_def']
    assert _lines(ds / 'anet_label_map.txt') == ['Archery', 'Zumba']
    # segment [0.2, 0.5] s at 30 frames/s -> frames 6..15 (0-based offset 6, 9 frames)
    assert _lines(ds / 'anet_train_clip.txt') == ['v_abc 6 9 1']
    assert _lines(ds / 'anet_val_video.txt') == [f'v_def {n_b} 0']  # rawframes: <dir> <frames> <label>
    rescaled = (ds / 'activitynet_feature_cuhk' / 'csv_mean_100' / 'v_abc.csv').read_text().split('\n')[:-1]
    assert len(rescaled) == 101 and rescaled[0] == 'f0,f1' and rescaled[-1] == '2,6'


def test_ava_trim_extract_and_stats(clips, tmp_path):
    ds = tmp_path / 'data' / 'ava'
    _video(ds / 'videos' / 'vid_long.mp4', clips['test'][:40], fps=30)   # 1.33 s
    _video(ds / 'videos' / 'vid_short.mp4', clips['demo'][:12], fps=30)  # 0.4 s
    ann = ds / 'annotations'
    ann.mkdir()
    # the real trim is 840 s + 1020 s; here 0 s + 1 s at 30 fps, so timestamp 841 needs frame 30 * 1 + 1 = 31
    (ann / 'ava_train_v2.1.csv').write_text('vid_long,0840,0.1,0.1,0.5,0.9,12,0\nvid_short,0841,0.1,0.1,0.5,0.9,12,0\n')
    _run('ava/preprocess_videos.sh', tmp_path / 'data', tmp_path, '--start', '0', '--duration', '1', '--height', '32')
    trimmed = ds / 'videos_trimmed_trainval'
    lens = {v: len(decord.VideoReader(str(trimmed / f'{v}.mp4'), num_threads=1)) for v in ('vid_long', 'vid_short')}
    # a source shorter than the window ends with it (no frozen frames appended): 12 frames of 1/30 s = 0.4 s
    assert lens == {'vid_long': 30, 'vid_short': 12}
    _run('ava/extract_frames.sh', tmp_path / 'data', tmp_path, '--quiet')
    assert _count(ds / 'rawframes' / 'vid_long', 'img_') == 30
    assert cv2.imread(str(ds / 'rawframes' / 'vid_long' / 'img_00001.jpg')).shape[:2] == (32, 42)
    out = _run('ava/generate_filelist.sh', tmp_path / 'data', tmp_path)
    assert _lines(ds / 'ava_video_resolution_stats.csv') == ['vid_long 42x32', 'vid_short 42x32']
    # vid_long reaches timestamp 840 (frame 1); vid_short cannot reach 841 (frame 31): reported, not fatal
    assert '1 annotated videos are missing or too short' in out
    assert _lines(ds / 'ava_train_v2.1.csv.missing.txt') == [
        f'vid_short has {lens["vid_short"]} frames, timestamp 841 needs frame 31']
