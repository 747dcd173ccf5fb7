"""Shared helpers of the slow tests that run the test configs through ``tools/dist_test_recognizer*.sh``.

Everything runs the real command-line tools in subprocesses (training with ``tools/train_recognizer.py``, testing
with the ``dist_*.sh`` wrappers under torchrun on CPU, pinned there on a GPU machine too) on toy-sized inputs built
from the shared sample rawframes:
``tests/data/imgs`` holds ``img_00001..10.jpg`` (320x240 RGB) and ``x_/y_00001..5.jpg`` (TV-L1 flow pairs).
"""
from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Sequence

import numpy as np

from mmaction.apis.cli import free_port  # noqa: F401  (the tests' one free-port helper: several torchrun jobs share a machine)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
# Labels of the listed sample videos (all < 51, the smallest class count among the test configs).
LABELS = (7, 0, 50, 3, 42)
NUM_RGB_FRAMES = 10
NUM_FLOW_FRAMES = 5


def load_script(rel_path: str):
    """Import a tool, demo or data_tools script of this repository by its path (they are scripts, not modules of
    the package; they import the installed mmaction themselves)."""
    import importlib.util
    path = os.path.join(REPO, rel_path)
    spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cpu_env(**extra: str) -> dict:
    """The environment of a multi-process CPU test, pinned to the CPU so that it runs the same on a GPU machine:
    ``DEVICE=cpu`` for the ``tools/dist_*.sh`` wrappers, ``CUDA_VISIBLE_DEVICES=`` (GPUs hidden) for a bare torchrun
    and single-process tools; one thread per process; a free ``PORT``; ``PYTHON`` is this interpreter."""
    env = dict(os.environ, DEVICE='cpu', CUDA_VISIBLE_DEVICES='', OMP_NUM_THREADS='1', PYTHON=sys.executable,
               PORT=str(free_port()))
    env.update(extra)
    return env


def run(cmd: Sequence[str], timeout: int = 600) -> str:
    """Run a command in the repository root, pinned to the CPU (``cpu_env``); returns stdout+stderr, fails with its
    tail."""
    env = cpu_env()
    proc = subprocess.run(list(cmd), cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'{" ".join(cmd)} failed ({proc.returncode}):\n{output[-6000:]}'
    return output


def sample_list(tmp_path, samples_dir: str, labels: Sequence[int] = LABELS, name: str = 'samples',
                num_frames: int = NUM_RGB_FRAMES, video: str = 'imgs') -> tuple[str, str]:
    """An annotation file listing the sample clip ``video`` once per label; returns (ann_file, img_prefix)."""
    ann = tmp_path / f'{name}_rawframes.txt'
    ann.write_text(''.join(f'{video} {num_frames} {label}\n' for label in labels))
    return str(ann), os.path.join(samples_dir, 'tests', 'data')


def rotated_videos(tmp_path, samples_dir: str, labels: Sequence[int], image_tmpl: str, flow: bool,
                   name: str = 'test') -> tuple[str, str]:
    """Videos ``vid0, vid1, ...`` (one per label) whose frames are the sample frames rotated by the video index, so
    every video gives different scores and a shuffled result order shows. Flow videos hold the ``x_/y_`` pairs under
    the config's ``image_tmpl`` (``flow_{}_{:05d}.jpg`` for TSN, ``{}_{:05d}.jpg`` for I3D); RGB ones the
    ``img_*.jpg`` frames under ``image_tmpl``. Returns (ann_file, img_prefix); frames are symlinks."""
    src = os.path.join(samples_dir, 'tests', 'data', 'imgs')
    count = NUM_FLOW_FRAMES if flow else NUM_RGB_FRAMES
    root = tmp_path / 'rawframes'
    lines = []
    for vid, label in enumerate(labels):
        video = root / f'vid{vid}'
        if not video.is_dir():
            video.mkdir(parents=True)
            for idx in range(1, count + 1):
                source = (idx - 1 + vid) % count + 1
                if flow:
                    for axis in ('x', 'y'):
                        os.symlink(os.path.join(src, f'{axis}_{source:05d}.jpg'), video / image_tmpl.format(axis, idx))
                else:
                    os.symlink(os.path.join(src, f'img_{source:05d}.jpg'), video / image_tmpl.format(idx))
        lines.append(f'vid{vid} {count} {label}\n')
    ann = tmp_path / f'{name}_rawframes.txt'
    ann.write_text(''.join(lines))
    return str(ann), str(root)


def train(tmp_path, config: str, options: Sequence[str]) -> str:
    """A short run of tools/train_recognizer.py (``options`` are --cfg-options); returns the saved checkpoint."""
    work_dir = str(tmp_path / ('train_' + os.path.basename(config).replace('.py', '')))
    run([sys.executable, 'tools/train_recognizer.py', config, '--work_dir', work_dir, '--seed', '0',
         '--cfg-options', 'data.workers_per_gpu=0', 'total_epochs=1', 'log_config.interval=1', *options])
    ckpt = os.path.join(work_dir, 'latest.pth')
    assert os.path.isfile(ckpt), f'training wrote no checkpoint in {work_dir}'
    return ckpt


def load_scores(path: str, num_videos: int, num_classes: int) -> list[np.ndarray]:
    """The result pickle in the original format: a list (dataset order) of float32 ``(1, num_classes)`` arrays."""
    with open(path, 'rb') as f:
        scores = pickle.load(f)
    assert isinstance(scores, list) and len(scores) == num_videos, f'{path}: {type(scores)} of {len(scores)}'
    for s in scores:
        assert isinstance(s, np.ndarray) and s.shape == (1, num_classes) and s.dtype == np.float32, \
            (type(s), getattr(s, 'shape', None), getattr(s, 'dtype', None))
        assert np.isfinite(s).all()
    return scores


def check_weights_loaded(output: str, ckpt: str) -> None:
    """The test tools load with ``strict=False`` (as the original): a checkpoint that does not fit the test config's
    model only logs a warning, so a silently half-random model is caught here."""
    assert f'{ckpt} does not match the model' not in output, output[-3000:]


def check_metrics(output: str, scores: Sequence[np.ndarray], labels: Sequence[int]) -> None:
    """The printed top-1 line must be the accuracy recomputed from the pickle (and printed by rank 0 only)."""
    top1 = 100.0 * np.mean([int(np.argmax(s)) == y for s, y in zip(scores, labels)])
    assert f'Top-1 Accuracy = {top1:.2f}' in output, output[-3000:]
    assert output.count('Top-1 Accuracy = ') == 1, output[-3000:]
