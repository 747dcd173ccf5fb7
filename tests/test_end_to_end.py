"""End-to-end runs of the README's main job and of the original MMAction's documented command.

Both are marked slow (minutes on 2 CPU cores); CI runs them once.
"""
import os
import pickle
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from _dist_test_helpers import cpu_env  # noqa: E402 (tests/ helper)
from conftest import link_toy_dataset  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
SEED_CKPT = 'modelzoo/tsn_2d_rgb_bninception_seg3_f1s1_b32_g8-98160339.pth'


def _run(cmd: list[str], cwd: str, timeout: int) -> str:
    env = cpu_env()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'{" ".join(cmd)} failed ({proc.returncode}):\n{output[-6000:]}'
    return output


def _accuracy(output: str, name: str) -> float:
    found = re.findall(rf'^{name} = (\d+\.\d\d)$', output, flags=re.M)
    assert found, f'no "{name} = xx.xx" line in:\n{output[-3000:]}'
    return float(found[-1])


def _build_toy(root: str, *args: str) -> None:
    _run([sys.executable, os.path.join(REPO, 'data_tools/toy/build_toy_dataset.py'), '--out', 'data/toy', '--quiet',
          *args], cwd=root, timeout=600)


@pytest.mark.slow
def test_toy_tsn_reaches_90_percent_with_two_processes(tmp_path, default_toy_dataset):
    """README quick start: toy data, `dist_train_recognizer.sh` with 2 processes, `dist_test_recognizer.sh`."""
    root = str(tmp_path)
    link_toy_dataset(root, default_toy_dataset)  # the builder's defaults, as quickstart.sh runs it
    config = os.path.join(REPO, 'configs/TSN/toy/tsn_r18_toy.py')
    train_log = _run(['bash', os.path.join(REPO, 'tools/dist_train_recognizer.sh'), config, '2', '--validate',
                      '--seed', '0', '--work_dir', 'work_dirs/toy'], cwd=root, timeout=1200)
    assert 'Epoch(val) [20]' in train_log
    test_log = _run(['bash', os.path.join(REPO, 'tools/dist_test_recognizer.sh'), config,
                     'work_dirs/toy/latest.pth', '2', '--out', 'toy.pkl'], cwd=root, timeout=600)
    top1 = _accuracy(test_log, 'Top-1 Accuracy')
    assert top1 >= 90.0, f'toy TSN top-1 {top1} < 90'
    with open(tmp_path / 'toy.pkl', 'rb') as f:
        scores = pickle.load(f)
    with open(tmp_path / 'data/toy/toy_val_list_rawframes.txt') as f:
        labels = [int(line.split()[2]) for line in f if line.strip()]
    assert len(scores) == len(labels)
    assert all(s.shape == (1, 8) and s.dtype == np.float32 for s in scores)
    # The printed top-1 is the pickle's argmax accuracy, in annotation order.
    recomputed = 100.0 * np.mean([int(np.argmax(s)) == y for s, y in zip(scores, labels)])
    assert abs(recomputed - top1) < 0.01


@pytest.mark.slow
def test_original_ucf101_command_with_our_bninception_checkpoint(tmp_path):
    """The seed note's command, verbatim but for the process count, with a checkpoint saved by our training:
    `bash tools/dist_test_recognizer.sh test_configs/TSN/ucf101/tsn_rgb_bninception.py modelzoo/...98160339.pth N`."""
    root = str(tmp_path)
    _build_toy(root, '--num-per-class', '2', '--formats', 'rawframes', '--min-frames', '30', '--max-frames', '30')
    os.makedirs(tmp_path / 'data/ucf101')
    os.symlink(tmp_path / 'data/toy/rawframes', tmp_path / 'data/ucf101/rawframes')
    shutil.copy(tmp_path / 'data/toy/toy_train_list_rawframes.txt',
                tmp_path / 'data/ucf101/ucf101_train_split_1_rawframes.txt')
    # Two test videos: each is 25 segments x 10 crops of BNInception at 224 (~250 frames), slow on a CPU.
    with open(tmp_path / 'data/toy/toy_val_list_rawframes.txt') as f:
        val_lines = [line for line in f if line.strip()][:2]
    with open(tmp_path / 'data/ucf101/ucf101_val_split_1_rawframes.txt', 'w') as f:
        f.writelines(val_lines)
    for name in ('configs', 'test_configs', 'tools'):
        os.symlink(os.path.join(REPO, name), tmp_path / name)
    # Train the original config for a few iterations (no ImageNet download: pretrained=None).
    _run([sys.executable, 'tools/train_recognizer.py', 'configs/TSN/ucf101/tsn_rgb_bninception.py',
          '--work_dir', 'work_dirs/bni', '--cfg-options', 'model.backbone.pretrained=None', 'total_epochs=1',
          'data.videos_per_gpu=4', 'data.workers_per_gpu=0'], cwd=root, timeout=900)
    os.makedirs(tmp_path / 'modelzoo')
    shutil.copy(tmp_path / 'work_dirs/bni/latest.pth', tmp_path / SEED_CKPT)
    output = _run(['bash', 'tools/dist_test_recognizer.sh', 'test_configs/TSN/ucf101/tsn_rgb_bninception.py',
                   SEED_CKPT, '2'], cwd=root, timeout=900)
    for name in ('Mean Class Accuracy', 'Top-1 Accuracy', 'Top-5 Accuracy'):
        assert 0.0 <= _accuracy(output, name) <= 100.0
    with open(tmp_path / 'default.pkl', 'rb') as f:
        scores = pickle.load(f)
    with open(tmp_path / 'data/ucf101/ucf101_val_split_1_rawframes.txt') as f:
        num_videos = sum(1 for line in f if line.strip())
    assert isinstance(scores, list) and len(scores) == num_videos
    assert all(isinstance(s, np.ndarray) and s.shape == (1, 101) and s.dtype == np.float32 for s in scores)
