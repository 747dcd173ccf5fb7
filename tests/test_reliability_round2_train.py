"""Issue 17, training side: a skipped non-finite step leaves BatchNorm alone (3), non-finite checkpoints are
refused (3), --auto-resume falls back past a truncated newest checkpoint (8), disk-full and the per-epoch count of
videos shorter than the sampled span (8), collective timeout default and the stalled-rank watchdog (9).
Tiny model/data from tests/test_engine_runner.py."""
import os
import sys

import pytest
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_engine_runner import TinyRecognizer, loader, make_runner  # noqa: E402

from mmaction.apis import set_random_seed  # noqa: E402
from mmaction.utils.checkpoint import CheckpointError, load_checkpoint, save_checkpoint  # noqa: E402


def test_skipped_nonfinite_step_restores_batchnorm_buffers(tmp_path):
    set_random_seed(0)
    model = TinyRecognizer()
    runner = make_runner(tmp_path, max_epochs=1, model=model, skip_nonfinite=True, log_interval=1)
    batches = list(loader())
    runner.train_step(batches[0])
    before = {k: v.clone() for k, v in model.bn.state_dict().items()}
    poisoned = dict(batches[1], img_group_0=batches[1]['img_group_0'].clone())
    poisoned['img_group_0'][0] = float('nan')  # one NaN clip: the loss and this batch's BN statistics are NaN
    log_vars = runner.train_step(poisoned)
    assert runner.skipped_steps == 1 and log_vars['loss'] != log_vars['loss']
    for key, value in model.bn.state_dict().items():
        assert torch.equal(value, before[key]), key  # running_mean/var and num_batches_tracked untouched
    runner.train_step(batches[2])
    assert torch.isfinite(model.bn.running_var).all() and not torch.equal(model.bn.running_mean,
                                                                          before['running_mean'])
    assert runner.save_checkpoint() is not None  # a checkpoint after the skipped step is clean


def test_nonfinite_checkpoint_refused_on_save_and_load(tmp_path):
    model = TinyRecognizer()
    with torch.no_grad():
        model.bn.running_var[1] = float('nan')
    with pytest.raises(FloatingPointError, match=r'refusing to save .*bad.pth: .*bn.running_var \(1 of 4 values'):
        save_checkpoint(model, str(tmp_path / 'bad.pth'))
    assert not os.path.exists(tmp_path / 'bad.pth')
    state = {k: v.clone() for k, v in model.state_dict().items()}
    torch.save({'state_dict': state}, tmp_path / 'nan.pth')
    with pytest.raises(CheckpointError, match=r'nan.pth: refusing to load non-finite tensors: bn.running_var'):
        load_checkpoint(TinyRecognizer(), str(tmp_path / 'nan.pth'))


def test_auto_resume_falls_back_past_truncated_newest_checkpoint(tmp_path, caplog):
    import logging
    set_random_seed(0)
    first = make_runner(tmp_path, max_epochs=2)
    first.run([loader()], [('train', 1)])
    newest = tmp_path / 'epoch_2.pth'
    newest.write_bytes(newest.read_bytes()[:1000])  # a copy cut short
    (tmp_path / 'latest.pth').write_bytes(newest.read_bytes())
    second = make_runner(tmp_path, max_epochs=3)
    with caplog.at_level(logging.INFO, logger='mmaction'):
        used = second.auto_resume(str(tmp_path))
    assert used == str(tmp_path / 'epoch_1.pth') and second.epoch == 1
    assert f'--auto-resume: skipping {newest}' in caplog.text and 'falling back to the previous checkpoint' \
        in caplog.text and 'truncated, corrupt' in caplog.text


def test_auto_resume_does_not_fall_back_past_an_unsafe_file(tmp_path):
    from test_reliability_round2_pickles import structured_object_array
    set_random_seed(0)
    make_runner(tmp_path, max_epochs=1).run([loader()], [('train', 1)])
    torch.save({'meta': {'epoch': 2, 'x': structured_object_array()}, 'state_dict': {}}, tmp_path / 'epoch_2.pth')
    with pytest.raises(CheckpointError, match=r'epoch_2.pth: refusing'):
        make_runner(tmp_path, max_epochs=3).auto_resume(str(tmp_path))


def test_disk_full_while_saving_names_the_path(tmp_path, monkeypatch):
    import contextlib
    import errno

    import mmaction.utils.checkpoint as ckpt_module

    class FullDisk:
        def __init__(self):
            self.written = 0

        def write(self, data):
            if self.written + len(data) > 512:
                raise OSError(errno.ENOSPC, 'No space left on device')
            self.written += len(data)
            return len(data)

        def flush(self):
            pass

    @contextlib.contextmanager
    def full_disk(path, mode='wb'):
        yield FullDisk()
    monkeypatch.setattr(ckpt_module, 'atomic_open', full_disk)
    target = str(tmp_path / 'epoch_1.pth')
    with pytest.raises(OSError, match=r'no space left on device: .*epoch_1.pth') as err:
        save_checkpoint(TinyRecognizer(), target)
    assert err.value.errno == errno.ENOSPC


def test_collective_timeout_defaults_to_ten_minutes(monkeypatch):
    import datetime

    import torch.distributed as dist

    from mmaction.engine import dist_utils
    seen = {}
    monkeypatch.setattr(dist, 'is_initialized', lambda: False)
    monkeypatch.setattr(dist, 'init_process_group', lambda **kw: seen.update(kw))
    for key, value in dict(RANK='0', WORLD_SIZE='1', MASTER_ADDR='127.0.0.1', MASTER_PORT='1').items():
        monkeypatch.setenv(key, value)
    dist_utils.init_dist('pytorch')
    assert seen['timeout'] == datetime.timedelta(minutes=10) == dist_utils.DEFAULT_COLLECTIVE_TIMEOUT
    dist_utils.init_dist('pytorch', timeout=datetime.timedelta(seconds=30))
    assert seen['timeout'] == datetime.timedelta(seconds=30)


def test_watchdog_logs_a_stalled_rank_once(caplog):
    import logging
    import time

    import torch.distributed as dist

    from mmaction.engine.dist_utils import RankWatchdog
    now = [0.0]
    store = dist.HashStore()
    logger = logging.getLogger('mmaction')
    ranks = [RankWatchdog(30, logger, store=store, rank=r, world_size=2, clock=lambda: now[0]) for r in (0, 1)]
    with caplog.at_level(logging.WARNING, logger='mmaction'):
        for step in range(5):  # rank 0 reports every 10 s, rank 1 stops after its first report
            ranks[0].beat(step, f'epoch 1, iteration {step + 1}')
            if step == 0:
                ranks[1].beat(0, 'epoch 1, iteration 1')
            assert ranks[0].check() == ([1] if step >= 3 else [])
            now[0] += 10
    lines = [r.getMessage() for r in caplog.records if 'watchdog' in r.getMessage()]
    assert lines == ['watchdog: rank 1 has not reported for 30 s (last: epoch 1, iteration 1; other ranks are '
                     'further); they wait for it in the next collective, which fails after the collective timeout '
                     '(dist_params.timeout / --dist-timeout)']
    ranks[1].beat(5, 'epoch 1, iteration 6')  # it catches up: no longer stalled
    assert ranks[0].check() == []
    now[0] += 100  # every rank silent together (validation, a checkpoint save): nobody is behind
    ranks[0].beat(5, 'epoch 1, iteration 6')
    assert ranks[0].check() == [] and ranks[0].check() == []
    # the thread: a real clock and a short interval; rank 1 never reports
    live = RankWatchdog(0.2, logger, store=dist.HashStore(), rank=0, world_size=2).start()
    live.beat(3, 'epoch 1, iteration 4')
    with caplog.at_level(logging.WARNING, logger='mmaction'):
        time.sleep(0.6)
    live.stop()
    assert 'watchdog: rank 1 has not reported' in caplog.text
