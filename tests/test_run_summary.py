"""The start-of-run log line (device, backend, world size, AMP dtype, workers, effective batch) and no warning from
the project's own code in a distributed run."""
import os
import re

import pytest
import torch
from torch.utils.data import DataLoader

from _dist_test_helpers import REPO, run
from test_engine_runner import TinyDataset, make_runner, tiny_collate


def test_summary_single_process(tmp_path):
    loader = DataLoader(TinyDataset(8), batch_size=4, num_workers=2, collate_fn=tiny_collate)
    runner = make_runner(str(tmp_path), 1, amp=True, device=torch.device('cpu'))
    assert runner.run_summary(loader) == ('Run: device cpu, backend none, world size 1, AMP bfloat16, 2 data workers '
                                          'per process, effective batch 4 (4 per process x 1 process)')
    runner.accumulate = 2
    assert runner.run_summary(loader).endswith('(4 per process x 1 process, 2 micro-batches each)')
    off = make_runner(str(tmp_path / 'off'), 1, device=torch.device('cpu'))
    assert ', AMP off, ' in off.run_summary(loader)


@pytest.mark.slow  # ~15 s: torchrun with two workers training the toy TSN for one short epoch
def test_distributed_training_logs_the_run_and_no_project_warning(toy_dataset, tmp_path):
    work = tmp_path / 'work'
    out = run(['bash', 'tools/dist_train_recognizer.sh', os.path.join(REPO, 'configs/TSN/toy/tsn_r18_toy.py'), '2',
               '--work_dir', str(work), '--seed', '0', '--cfg-options',
               f'data.train.ann_file={toy_dataset}/toy_train_list_rawframes.txt',
               f'data.train.img_prefix={toy_dataset}/rawframes', 'data.videos_per_gpu=4', 'data.workers_per_gpu=0',
               'total_epochs=1', 'log_config.interval=1'])
    assert ('Run: device cpu, backend gloo, world size 2, AMP off, 0 data workers per process, effective batch 8 '
            '(4 per process x 2 processes)') in out, out[-3000:]
    # a warning names the file that triggered it: none may come from mmaction/ or tools/
    project = re.escape(REPO) + r'/(mmaction|tools)/'
    assert re.findall(rf'^.*{project}\S+:\d+: \w*Warning.*$', out, re.M) == []
    assert 'broadcast_buffers' not in out
    assert os.path.isfile(work / 'latest.pth')
