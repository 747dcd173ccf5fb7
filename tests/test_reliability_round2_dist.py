"""Issue 17 point 9 with two real processes: a rank that stalls mid-epoch is named by rank 0's watchdog line long
before the collective timeout, and the run then finishes normally.

The file is also the worker script: ``torchrun --nproc_per_node=2 tests/test_reliability_round2_dist.py WORK_DIR``
(rank 1 takes 4 s to load its fifth sample, in its third batch; ``watchdog_seconds=1``).
"""
import os
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

CONFIG = """
model = dict(type='unused')
data = dict(videos_per_gpu=2, workers_per_gpu=0, train=dict(type='unused'))
optimizer = dict(type='SGD', lr=0.1)
lr_config = dict(policy='fixed')
total_epochs = 1
log_config = dict(interval=1)
watchdog_seconds = 1
"""


def worker(work_dir: str) -> None:
    sys.path.insert(0, ROOT)
    sys.path.insert(0, HERE)
    from test_engine_runner import TinyDataset, TinyRecognizer

    from mmaction.apis.cli import train_main

    class SlowOnRankOne(TinyDataset):
        loads = 0

        def __getitem__(self, idx):
            type(self).loads += 1
            if os.environ['RANK'] == '1' and type(self).loads == 5:
                time.sleep(4)  # a stalled rank (slow disk, a stuck decoder)
            return super().__getitem__(idx)

    config = os.path.join(work_dir, f'cfg_{os.environ["RANK"]}.py')
    with open(config, 'w') as f:
        f.write(CONFIG)
    train_main([config, '--work_dir', work_dir, '--launcher', 'pytorch', '--dist-timeout', '60'],
               lambda model_cfg, **kwargs: TinyRecognizer(), 'watchdog test',
               build_dataset_fn=lambda cfg: SlowOnRankOne(16))


@pytest.mark.slow  # ~15 s: two torch start-ups and the 4 s stall
def test_watchdog_names_the_stalled_rank_and_training_finishes(tmp_path):
    from _dist_test_helpers import free_port
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2', '--master_addr=127.0.0.1',
           f'--master_port={free_port()}', os.path.abspath(__file__), str(tmp_path)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert 'watchdog: rank 1 has not reported for' in out and 'last: epoch 1, iteration 2;' in out, out[-3000:]
    assert 'watchdog: rank 0' not in out  # rank 0 only waits for it
    assert os.path.isfile(tmp_path / 'epoch_1.pth')


if __name__ == '__main__':
    worker(sys.argv[1])
