"""Issue 9 engine side: TrainingMonitor wiring, skipping non-finite steps, out-of-memory message and
``auto_scale_batch``, ``dist_params.timeout`` parsing. Tiny model/data from tests/test_engine_runner.py."""
import datetime
import math
import os
import sys

import pytest
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_engine_runner import TinyDataset, TinyRecognizer, loader, make_runner, read_json_log  # noqa: E402

from mmaction.apis import set_random_seed  # noqa: E402
from mmaction.apis.cli import resolve_dist_params  # noqa: E402
from mmaction.engine.runner import TrainingOOMError, split_batch  # noqa: E402
from mmaction.registry import ConfigError  # noqa: E402


def test_monitor_adds_eta_split_and_tensorboard(tmp_path):
    set_random_seed(0)
    runner = make_runner(tmp_path, max_epochs=3, log_config=dict(hooks=[dict(type='TensorboardLoggerHook')]))
    runner.run([loader()], [('train', 1)])
    records = [r for r in read_json_log(tmp_path) if r['mode'] == 'train']
    assert len(records) == 6  # 3 iterations per epoch, logged every 2 and at the epoch end
    # The monitor ignores its first 5 iterations (warm-up); iterations 6.. give the eta and the time split.
    assert 'eta' not in records[0] and 'data_fraction' not in records[0]
    last = records[-1]
    assert last['iter'] == 3 and last['epoch'] == 3
    assert last['eta'] == '0:00:00'  # 9 of 9 iterations done
    assert 0.0 <= last['data_fraction'] <= 1.0 and last['compute_time'] >= 0.0
    events = os.listdir(tmp_path / 'tf_logs')
    assert any(name.startswith('events.out.tfevents') for name in events)
    assert runner.monitor.tb is None  # closed at the end of run()


class NanOnBatches(TinyRecognizer):
    """Loss becomes NaN on the calls listed in ``bad`` (1-based forward-call numbers)."""

    def __init__(self, bad):
        super().__init__()
        self.bad, self.calls = set(bad), 0

    def forward(self, **kwargs):
        out = super().forward(**kwargs)
        if kwargs.get('return_loss', True):
            self.calls += 1
            if self.calls in self.bad:
                out['loss_cls'] = out['loss_cls'] * float('nan')
        return out


def test_skip_nonfinite_leaves_weights_and_counts(tmp_path):
    set_random_seed(0)
    model = NanOnBatches(bad={2})
    runner = make_runner(tmp_path, max_epochs=1, model=model, skip_nonfinite=True, log_interval=1)
    batches = list(loader())
    runner.train_step(batches[0])
    before = {k: v.clone() for k, v in model.state_dict().items() if 'fc' in k}
    momentum = {id(p): runner.optimizer.state[p]['momentum_buffer'].clone() for p in model.fc.parameters()}
    log_vars = runner.train_step(batches[1])
    assert runner.skipped_steps == 1 and math.isnan(log_vars['loss']) and math.isnan(log_vars['grad_norm'])
    for key, value in model.state_dict().items():
        if 'fc' in key:
            assert torch.equal(value, before[key]), key
    for p in model.fc.parameters():
        assert torch.equal(runner.optimizer.state[p]['momentum_buffer'], momentum[id(p)])
    assert all(p.grad is None for p in model.parameters())
    runner.train_step(batches[2])
    assert not torch.equal(model.fc.weight, before['fc.weight'])  # training goes on


def test_skip_nonfinite_logged_and_default_stops(tmp_path):
    set_random_seed(0)
    runner = make_runner(tmp_path / 'skip', max_epochs=1, model=NanOnBatches(bad={1, 2}), skip_nonfinite=True)
    runner.run([loader()], [('train', 1)])
    records = [r for r in read_json_log(tmp_path / 'skip') if r['mode'] == 'train']
    assert [r['skipped_steps'] for r in records] == [2, 2]
    assert math.isnan(records[0]['loss'])  # both iterations of the first interval skipped: no mean
    assert math.isfinite(records[1]['loss'])
    stop = make_runner(tmp_path / 'stop', max_epochs=1, model=NanOnBatches(bad={2}))
    with pytest.raises(FloatingPointError, match=r'iteration 2 \(global 2\).*skip_nonfinite'):
        stop.run([loader()], [('train', 1)])


class OomAbove(nn.Module):
    """No BatchNorm (so micro-batches compute the same gradient); raises CUDA-style OOM above ``limit`` clips."""

    def __init__(self, limit):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.limit, self.sizes = limit, []

    def forward(self, img_group_0=None, gt_label=None, return_loss=True, **kwargs):
        self.sizes.append(img_group_0.shape[0])
        if img_group_0.shape[0] > self.limit:
            raise torch.OutOfMemoryError('CUDA out of memory. Tried to allocate 2.00 GiB')
        logits = self.fc(img_group_0.flatten(1))
        return dict(loss_cls=nn.functional.cross_entropy(logits, gt_label.reshape(-1)))


def test_oom_message_names_batch_shape_and_options(tmp_path):
    runner = make_runner(tmp_path, max_epochs=1, model=OomAbove(limit=2))
    with pytest.raises(TrainingOOMError) as info:
        runner.run([loader()], [('train', 1)])
    text = str(info.value)
    for expected in ('iteration 1', 'batch of 4 clips', 'img_group_0 (4, 1, 4)', 'data.videos_per_gpu', '--amp',
                     'with_cp=True', 'auto_scale_batch=True', '--batch_size', 'Tried to allocate 2.00 GiB'):
        assert expected in text, expected
    assert info.value.__cause__ is None and not isinstance(info.value, torch.OutOfMemoryError)


def test_auto_scale_batch_matches_full_batch_training(tmp_path):
    results = {}
    for name, limit, auto in (('full', 100, False), ('scaled', 1, True)):
        set_random_seed(0)
        model = OomAbove(limit)
        runner = make_runner(tmp_path / name, max_epochs=2, model=model, auto_scale_batch=auto)
        runner.run([loader()], [('train', 1)])
        results[name] = (model, runner)
    scaled_model, scaled_runner = results['scaled']
    assert scaled_runner.accumulate == 4  # 4 -> 2 -> 1 clips per micro-batch
    assert scaled_model.sizes[:3] == [4, 2, 1]  # tried 4, then 2, then 1 (kept from then on)
    assert set(scaled_model.sizes[3:]) == {1}
    for (key, a), b in zip(results['full'][0].state_dict().items(), scaled_model.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=key)


def test_auto_scale_batch_gives_up_at_one_clip(tmp_path):
    runner = make_runner(tmp_path, max_epochs=1, model=OomAbove(limit=0), auto_scale_batch=True)
    with pytest.raises(TrainingOOMError, match='batch of 4 clips in micro-batches of 1'):
        runner.run([loader()], [('train', 1)])


def test_split_batch_slices_tensors_and_per_sample_lists():
    batch = dict(img_group_0=torch.arange(5).reshape(5, 1), img_meta=[dict(i=i) for i in range(5)], flag='x')
    chunks = split_batch(batch, 2)
    assert [c['img_group_0'].flatten().tolist() for c in chunks] == [[0, 1, 2], [3, 4]]
    assert [[m['i'] for m in c['img_meta']] for c in chunks] == [[0, 1, 2], [3, 4]]
    assert all(c['flag'] == 'x' for c in chunks)


def test_dist_timeout_from_config_or_flag():
    assert resolve_dist_params(dict(backend='gloo', timeout=90), None) == dict(
        backend='gloo', timeout=datetime.timedelta(seconds=90))
    assert resolve_dist_params(dict(timeout=90), 2.5)['timeout'] == datetime.timedelta(seconds=2.5)
    assert resolve_dist_params(None, None) == {}
    for bad in (0, -1, 'soon', True):
        with pytest.raises(ConfigError, match='dist_params.timeout'):
            resolve_dist_params(dict(timeout=bad), None)
