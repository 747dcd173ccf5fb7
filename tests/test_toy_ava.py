"""Toy AVA data (data_tools/toy/build_toy_ava.py) and the toy FastRCNN config trained through the dist wrappers."""
import os
import pickle
import subprocess

import numpy as np
import pytest

from data_tools.toy.build_toy_ava import FPS, box_iou, build
from mmaction.datasets import build_dataset
from mmaction.datasets.ava_dataset import load_video_stats
from mmaction.evaluation.ava import MAP_KEY, ava_eval, read_labelmap

from _dist_test_helpers import cpu_env, free_port  # noqa: E402 (tests/ helper)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, 'configs', 'ava', 'toy', 'fast_rcnn_i3d_r18_thin_toy_ava.py')
# Measured: 0.912 val frame-mAP@0.5 (seed 0, 2 CPU processes, ~30 s of training); chance (random scores) 0.156.
MAP_THRESHOLD = 0.75


def _rows(path):
    return [line.split(',') for line in open(path).read().splitlines()]


@pytest.fixture(scope='module')
def small_toy(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('toy_ava') / 'toy_ava')
    counts = build(out, num_train=2, num_val=1, seconds=3, size=(48, 64), seed=3)
    return out, counts


def test_layout_and_annotations(small_toy):
    out, counts = small_toy
    ann = os.path.join(out, 'annotations')
    assert counts['videos'] == 3 and counts['keyframes'] == 3 * 2  # key-frames at ts 1, 2
    # 3 s at 30 fps + 1 frame, 1-based JPEGs
    frames = sorted(os.listdir(os.path.join(out, 'rawframes', 'toy_train_0000')))
    assert len(frames) == 3 * FPS + 1 and frames[0] == 'img_00001.jpg' and frames[-1] == 'img_00091.jpg'
    rows = _rows(os.path.join(ann, 'toy_ava_train.csv'))
    assert counts['boxes'] == len(rows) + len(_rows(os.path.join(ann, 'toy_ava_val.csv')))
    for vid, ts, x1, y1, x2, y2, action, pid in rows:
        assert vid.startswith('toy_train_') and ts in ('0001', '0002')
        assert 0 <= float(x1) < float(x2) <= 1 and 0 <= float(y1) < float(y2) <= 1
        assert 1 <= int(action) <= 8
    # 2-3 actors per key-frame, each with a distinct class and entity id
    per_key = {}
    for r in rows:
        per_key.setdefault((r[0], r[1]), []).append((r[6], r[7]))
    for acts in per_key.values():
        assert 2 <= len(acts) <= 3 and len({a for a, _ in acts}) == len(acts) == len({p for _, p in acts})
    labelmap, ids = read_labelmap(os.path.join(ann, 'toy_ava_action_list.pbtxt'))
    assert ids == set(range(1, 9)) and labelmap[0]['name'] == 'circle_slide'
    assert load_video_stats(os.path.join(ann, 'toy_ava_video_resolution_stats.csv'))['toy_val_0000'] == (64, 48)
    assert len(_rows(os.path.join(ann, 'toy_ava_train_excluded_timestamps.csv'))) == 2


def test_proposals_are_jittered_gt_plus_false_positives(small_toy):
    out, _ = small_toy
    ann = os.path.join(out, 'annotations')
    props = pickle.load(open(os.path.join(ann, 'toy_ava_proposals_train.pkl'), 'rb'))
    gts = {}
    for r in _rows(os.path.join(ann, 'toy_ava_train.csv')):
        gts.setdefault(f'{r[0]},{r[1]}', []).append([float(v) for v in r[2:6]])
    assert set(props) == set(gts)
    for key, p in props.items():
        gt = np.array(gts[key])
        assert p.dtype == np.float32 and p.shape[1] == 5
        iou = box_iou(p[:, :4].astype(float), gt).max(1)
        true = iou > 0.6
        assert true.sum() == len(gt) and 1 <= (~true).sum() <= 2  # one per actor + 1-2 false positives
        assert np.all(iou[~true] < 0.2 + 1e-3) and np.all(p[true, 4] >= 0.9)


def test_gt_box_covers_the_actor_in_the_keyframe(small_toy):
    """The key-frame of timestamp ts is rawframe 30 * ts + 1: the actor's colour fills its box there."""
    import cv2
    out, _ = small_toy
    rows = _rows(os.path.join(out, 'annotations', 'toy_ava_train.csv'))
    vid, ts, *box = rows[0][:6]
    img = cv2.imread(os.path.join(out, 'rawframes', vid, f'img_{FPS * int(ts) + 1:05d}.jpg')).astype(float)
    h, w = img.shape[:2]
    x1, y1, x2, y2 = (float(v) * s for v, s in zip(box, (w, h, w, h)))
    inside = img[int(y1) + 1:int(y2), int(x1) + 1:int(x2)].reshape(-1, 3)
    sat = inside.max(1) - inside.min(1)  # actors are saturated colours, backgrounds are greyish
    assert np.percentile(sat, 90) > 80


def test_ava_dataset_reads_the_toy_data(small_toy):
    out, _ = small_toy
    ann = os.path.join(out, 'annotations')
    ds = build_dataset(dict(  # the original flag form, translated into a pipeline at build time
        type='AVADataset', ann_file=os.path.join(ann, 'toy_ava_train.csv'), img_prefix=os.path.join(out, 'rawframes'),
        exclude_file=os.path.join(ann, 'toy_ava_train_excluded_timestamps.csv'),
        proposal_file=os.path.join(ann, 'toy_ava_proposals_train.pkl'), image_tmpl='img_{:05d}.jpg',
        new_length=4, new_step=4, random_shift=False, img_scale=(64, 48), flip_ratio=0,
        input_format='NCTHW', fps=30, timestamp_start=0, num_classes=9, with_label=True))
    assert len(ds) == 4 - 2  # 2 videos x 2 key-frames, one excluded per video
    np.testing.assert_array_equal(ds.frame_indices(1), [23, 27, 31, 35])
    item = ds[0]
    assert tuple(item['img_group_0'].shape) == (1, 3, 4, 48, 64)
    assert item['gt_labels'].shape[1] == 9 and int(item['gt_labels'][:, 0].min()) >= 1


@pytest.mark.slow
def test_toy_config_trains_to_stated_map(tmp_path):
    # one thread per process: 2 processes x OMP_NUM_THREADS=2 (run_tests.sh) on 2 cores ran 3-6x slower
    env = cpu_env(PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    build(str(tmp_path / 'data' / 'toy_ava'))
    work = tmp_path / 'work'
    subprocess.run(['bash', os.path.join(ROOT, 'tools', 'dist_train_detector.sh'), CONFIG, '2', '--seed', '0',
                    '--work_dir', str(work)], cwd=tmp_path, env=dict(env, PORT=str(free_port())), check=True, timeout=600)
    ckpt = work / 'epoch_20.pth'
    assert ckpt.is_file()
    subprocess.run(['bash', os.path.join(ROOT, 'tools', 'dist_test_detector.sh'), CONFIG, str(ckpt), '2',
                    '--out', 'res.pkl', '--eval', 'bbox'], cwd=tmp_path, env=dict(env, PORT=str(free_port())), check=True,
                   timeout=300)
    ann = tmp_path / 'data' / 'toy_ava' / 'annotations'
    args = (str(ann / 'toy_ava_action_list.pbtxt'), str(ann / 'toy_ava_val.csv'),
            str(ann / 'toy_ava_val_excluded_timestamps.csv'))
    trained = ava_eval(str(tmp_path / 'res.csv'), 'bbox', *args, verbose=False)[MAP_KEY]
    # Chance: the same boxes with scores that ignore the input.
    rng = np.random.default_rng(0)
    lines = [line.rsplit(',', 1)[0] + f',{rng.random():.4f}' for line in open(tmp_path / 'res.csv').read().split()]
    (tmp_path / 'chance.csv').write_text('\n'.join(lines) + '\n')
    chance = ava_eval(str(tmp_path / 'chance.csv'), 'bbox', *args, verbose=False)[MAP_KEY]
    print(f'toy AVA frame-mAP@0.5: trained {trained:.4f}, chance {chance:.4f}')
    assert chance < 0.35
    assert trained >= MAP_THRESHOLD


def test_slowonly_ava_config_builds_and_scores_rois():
    import torch

    from mmaction.models import build_detector
    from mmaction.models.detectors.bbox.transforms import bbox2roi
    from mmaction.utils.config import load_config
    cfg = load_config(os.path.join(ROOT, 'configs', 'ava', 'slowonly',
                                   'slowonly_kinetics_pretrained_r50_4x16x1_20e_ava_rgb.py'))
    assert (cfg.data.train.new_length, cfg.data.train.new_step, cfg.total_epochs) == (4, 16, 20)
    model = build_detector(cfg.model, train_cfg=cfg.train_cfg, test_cfg=cfg.test_cfg).eval()
    with torch.no_grad():
        feat = model.extract_feat(torch.randn(1, 3, 4, 64, 64))
        # res5 keeps stride 16 and all 4 frames: (1, 2048, 4, 64/16, 64/16)
        assert tuple(feat.shape) == (1, 2048, 4, 4, 4)
        assert tuple(model.roi_scores(feat, bbox2roi([torch.tensor([[4., 4., 40., 60.]])])).shape) == (1, 81)
