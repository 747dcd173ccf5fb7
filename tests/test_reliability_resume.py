"""Issue 9, crash safety: SIGKILL a deterministic training run of tools/train_recognizer.py (tiny TSN2D, generated
rawframes, ``--seed 0 --deterministic``, a checkpoint every epoch), rerun it with ``--auto-resume`` and compare the
final weights with an uninterrupted run of the same seed.

What is guaranteed (and asserted, bit for bit, CPU, ``workers_per_gpu=0``): the final ``state_dict`` (weights and
BatchNorm buffers) and the optimizer's momentum buffers are equal. That holds because a checkpoint carries
everything the next epoch consumes: weights, optimizer state, epoch/iteration (the lr schedule is a pure function
of them), the python/numpy/torch RNG states (augmentation draws) and the state of the train loader's seeded
shuffle generator (sample order; with workers it also draws the worker seeds). Work since the last checkpoint is
redone, so what differs is only: the text/JSON logs (the resumed run starts a new ``<timestamp>.log``, the killed
epoch's lines appear twice across the two logs), the ``time`` in checkpoint meta, and wall-clock time.

The kill lands either at a random moment after the first checkpoint (the driver ``slow-steps`` makes each
optimizer step sleep, so that moment falls before the end of the run on any machine), or deterministically in the middle of writing
``epoch_2.pth`` (this file is also the driver script: ``python tests/test_reliability_resume.py slow-save MARKER
-- <train args>`` makes ``torch.save`` write half of the epoch-2 checkpoint, touch ``MARKER`` and sleep): then
``latest.pth`` and ``epoch_1.pth`` must still load, and no ``epoch_2.pth`` may exist (only the temp file).
"""
import io
import os
import random
import signal
import subprocess
import sys
import time

import pytest
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
EPOCHS = 3


ITER_SECONDS = 0.1  # slow-steps driver: each optimizer step sleeps this long (the numbers do not change)


def _run_train_tool(train_args: list) -> None:
    import runpy
    sys.argv = [os.path.join(ROOT, 'tools', 'train_recognizer.py'), *train_args]
    runpy.run_path(sys.argv[0], run_name='__main__')


def slow_steps_driver(train_args: list) -> None:
    """Run tools/train_recognizer.py with every SGD step taking at least ITER_SECONDS, so that a kill at a random
    moment after the first checkpoint lands before the run ends, however fast the machine is."""
    sys.path.insert(0, ROOT)
    real_step = torch.optim.SGD.step

    def slow_step(self, *args, **kwargs):
        time.sleep(ITER_SECONDS)
        return real_step(self, *args, **kwargs)

    torch.optim.SGD.step = slow_step
    _run_train_tool(train_args)


def slow_save_driver(marker: str, train_args: list) -> None:
    """Run tools/train_recognizer.py with a ``torch.save`` that stalls half-way through the epoch-2 checkpoint."""
    sys.path.insert(0, ROOT)
    real_save = torch.save

    def stalling_save(obj, f, *args, **kwargs):
        buffer = io.BytesIO()
        real_save(obj, buffer, *args, **kwargs)
        data = buffer.getvalue()
        if isinstance(obj, dict) and obj.get('meta', {}).get('epoch') == 2:
            f.write(data[:len(data) // 2])
            f.flush()
            with open(marker + '.part', 'w') as m:
                m.write(str(getattr(f, 'name', '?')))
            os.replace(marker + '.part', marker)  # the test polls for the name: appear only when written
            time.sleep(600)  # the test SIGKILLs us here
        f.write(data)

    torch.save = stalling_save
    _run_train_tool(train_args)


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    sys.path.insert(0, HERE)
    from test_tools_recognizer import CONFIG, NUM_CLASSES

    import cv2
    import numpy as np
    root = tmp_path_factory.mktemp('resume_rawframes')
    rng = np.random.default_rng(0)
    lines = []
    for v in range(8):
        folder = root / 'frames' / f'video_{v}'
        folder.mkdir(parents=True)
        for f in range(1, 7):
            image = rng.integers(0, 256, size=(40, 48, 3), dtype=np.uint8)
            image[..., v % 3] = 200
            cv2.imwrite(str(folder / f'img_{f:05d}.jpg'), image)
        lines.append(f'video_{v} 6 {v % NUM_CLASSES}')
    (root / 'list.txt').write_text('\n'.join(lines) + '\n')
    config = root / 'tiny_tsn.py'
    config.write_text(CONFIG.format(root=root, num_classes=NUM_CLASSES))
    return root, config


def train_args(config, work_dir, *extra):
    return [str(config), '--work_dir', str(work_dir), '--seed', '0', '--deterministic',
            '--cfg-options', f'total_epochs={EPOCHS}', 'log_config.interval=1', *extra]


def run_train(args, **kwargs):
    return subprocess.run([sys.executable, os.path.join(ROOT, 'tools', 'train_recognizer.py'), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=120, **kwargs)


def load(path):
    from mmaction.utils.checkpoint import load_file
    return load_file(str(path), map_location='cpu')


def assert_same_final_state(work_a, work_b):
    a, b = load(work_a / f'epoch_{EPOCHS}.pth'), load(work_b / f'epoch_{EPOCHS}.pth')
    assert a['meta']['epoch'] == b['meta']['epoch'] == EPOCHS and a['meta']['iter'] == b['meta']['iter']
    assert list(a['state_dict']) == list(b['state_dict'])
    for key in a['state_dict']:
        assert torch.equal(a['state_dict'][key], b['state_dict'][key]), key
    for pid, state in a['optimizer']['state'].items():
        assert torch.equal(state['momentum_buffer'], b['optimizer']['state'][pid]['momentum_buffer']), pid
    latest = load(work_b / 'latest.pth')
    for key in a['state_dict']:
        assert torch.equal(latest['state_dict'][key], a['state_dict'][key]), key


@pytest.fixture(scope='module')
def reference(tiny, tmp_path_factory):
    root, config = tiny
    work = tmp_path_factory.mktemp('uninterrupted')
    out = run_train(train_args(config, work))
    assert out.returncode == 0, out.stderr[-3000:]
    return work


@pytest.mark.slow
def test_sigkill_at_random_moment_then_auto_resume_matches(tiny, reference, tmp_path):
    root, config = tiny
    work = tmp_path / 'killed'
    seed = int(time.time())
    # 8 videos, 2 per batch: 4 steps an epoch, so the 2 epochs after epoch_1.pth take >= 8 * ITER_SECONDS.
    delay = random.Random(seed).uniform(0.0, 6 * ITER_SECONDS)
    proc = subprocess.Popen([sys.executable, __file__, 'slow-steps', '--', *train_args(config, work)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 90
    while not (work / 'epoch_1.pth').exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(delay)
    assert proc.poll() is None, f'the run finished before the kill (delay {delay:.2f}s, seed {seed})'
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = sorted(p for p in os.listdir(work) if p.startswith('epoch_'))
    assert f'epoch_{EPOCHS}.pth' not in done, (done, seed)
    load(work / 'latest.pth')  # whatever moment the kill hit, latest.pth is a complete checkpoint
    out = run_train(train_args(config, work, '--auto-resume'))
    assert out.returncode == 0, out.stderr[-3000:]
    assert '--auto-resume: found' in out.stderr + out.stdout
    assert_same_final_state(reference, work)


@pytest.mark.slow
def test_sigkill_during_checkpoint_write_keeps_latest_complete(tiny, reference, tmp_path):
    root, config = tiny
    work = tmp_path / 'killed_in_save'
    marker = tmp_path / 'stalled'
    proc = subprocess.Popen([sys.executable, __file__, 'slow-save', str(marker), '--',
                             *train_args(config, work)], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 90
    while not marker.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, proc.stderr.read()[-3000:]
    time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    names = os.listdir(work)
    # Half of epoch_2.pth sat in a temp file; the real name never appeared and latest.pth is still epoch 1.
    assert 'epoch_2.pth' not in names and 'epoch_1.pth' in names
    assert any(n.startswith('.epoch_2.pth.') and n.endswith('.tmp') for n in names), names
    assert load(work / 'latest.pth')['meta']['epoch'] == 1
    out = run_train(train_args(config, work, '--auto-resume'))
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'epoch_1.pth' in out.stderr + out.stdout  # resumed from the newest complete checkpoint
    assert not any(n.endswith('.tmp') for n in os.listdir(work))  # the stale temp file was cleaned up
    assert_same_final_state(reference, work)


if __name__ == '__main__':
    if len(sys.argv) > 3 and sys.argv[1] == 'slow-save' and sys.argv[3] == '--':
        slow_save_driver(sys.argv[2], sys.argv[4:])
    elif len(sys.argv) > 2 and sys.argv[1] == 'slow-steps' and sys.argv[2] == '--':
        slow_steps_driver(sys.argv[3:])
    else:
        sys.exit(f'usage: {sys.argv[0]} slow-save MARKER -- <train args> | slow-steps -- <train args>')
