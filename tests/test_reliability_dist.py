"""Issue 9, distributed robustness: a rank that fails makes torchrun stop every rank and exit non-zero with the
failing rank's message (no hang), and a rank that hangs makes the others fail after ``--dist-timeout`` seconds.

The file is also the worker script: ``torchrun --nproc_per_node=2 tests/test_reliability_dist.py MODE WORK_DIR``
(MODE ``raise``: rank 1 raises while building its model, rank 0 waits in DDP's first broadcast;
MODE ``hang``: rank 1 sleeps, rank 0's broadcast times out after ``--dist-timeout 3``).
"""
import os
import subprocess
import sys
import time

import pytest

from _dist_test_helpers import cpu_env, free_port  # noqa: E402 (tests/ helper)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MESSAGE = 'rank one broke on purpose'

CONFIG = """
model = dict(type='unused')
data = dict(videos_per_gpu=2, workers_per_gpu=0, train=dict(type='unused'))
optimizer = dict(type='SGD', lr=0.1)
lr_config = dict(policy='fixed')
total_epochs = 1
log_config = dict(interval=1)
"""


def worker(mode: str, work_dir: str) -> None:
    sys.path.insert(0, ROOT)
    sys.path.insert(0, HERE)
    from test_engine_runner import TinyDataset, TinyRecognizer

    from mmaction.apis.cli import train_main

    def build(model_cfg, **kwargs):
        if os.environ['RANK'] == '1':
            if mode == 'raise':
                raise RuntimeError(MESSAGE)
            time.sleep(120)  # a stuck rank: the other one must not wait for it for ever
        return TinyRecognizer()

    config = os.path.join(work_dir, f'cfg_{os.environ["RANK"]}.py')
    with open(config, 'w') as f:
        f.write(CONFIG)
    train_main([config, '--work_dir', work_dir, '--launcher', 'pytorch', '--dist-timeout', '3'], build,
               'failure propagation test', build_dataset_fn=lambda cfg: TinyDataset(8))


def _torchrun(mode, tmp_path):
    env = cpu_env(PYTHONPATH=ROOT)
    # tools/dist_run.sh's launcher: torchrun that shortens user errors; a crash keeps torchrun's full report
    cmd = [sys.executable, '-m', 'mmaction.apis.cli', '--nproc_per_node=2', '--master_addr=127.0.0.1',
           f'--master_port={free_port()}', os.path.abspath(__file__), mode, str(tmp_path)]
    start = time.time()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=90, cwd=ROOT)
    return proc, time.time() - start


def test_failing_rank_stops_all_ranks_with_its_message(tmp_path):
    proc, seconds = _torchrun('raise', tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert f'[mmaction] rank 1 failed: RuntimeError: {MESSAGE}' in out
    # torchrun's failure summary (from the error file record() wrote) names the rank and the message
    assert 'rank      : 1' in out or 'rank: 1' in out, out[-3000:]
    assert seconds < 60


@pytest.mark.slow  # ~30 s: two torch start-ups, the 3 s timeout and torchrun's shutdown
def test_hanging_rank_times_out_after_dist_timeout(tmp_path):
    proc, seconds = _torchrun('hang', tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert '[mmaction] rank 0 failed' in out, out[-3000:]
    assert seconds < 60, f'took {seconds:.0f} s: the 3 s collective timeout was not applied'


if __name__ == '__main__':
    worker(sys.argv[1], sys.argv[2])
