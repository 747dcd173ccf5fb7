"""The training runner on a tiny model: checkpoints, logs, resume equivalence, errors.

``TinyRecognizer``/``TinyDataset``/``tiny_collate`` follow the batch contract of docs/design.md and are reused
by tests/test_engine_dist.py.
"""
import json
import os

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from mmaction.apis import set_random_seed
from mmaction.engine import (Runner, build_lr_scheduler, build_optimizer, find_latest_checkpoint, parse_losses)
from mmaction.registry import ConfigError
from mmaction.utils.checkpoint import load_file

NUM_CLASSES = 3
FEAT = 4


class TinyRecognizer(nn.Module):
    """Linear classifier over ``img_group_0 (B, 1, FEAT)``; BN so that buffers exist too."""

    def __init__(self, nan_loss: bool = False):
        super().__init__()
        self.bn = nn.BatchNorm1d(FEAT)
        self.fc = nn.Linear(FEAT, NUM_CLASSES)
        self.nan_loss = nan_loss

    def forward(self, num_modalities=None, img_meta=None, return_loss=True, img_group_0=None, gt_label=None):
        logits = self.fc(self.bn(img_group_0.flatten(1)))
        if not return_loss:
            return logits.detach().float().cpu().numpy()
        loss = F.cross_entropy(logits.float(), gt_label.reshape(-1))
        if self.nan_loss:
            loss = loss * float('nan')
        return dict(loss_cls=loss, acc=(logits.argmax(1) == gt_label.reshape(-1)).float().mean())


class TinyDataset(Dataset):
    """Item i: a fixed feature for its class ``i % 3`` plus numpy-RNG noise (so RNG state matters)."""

    def __init__(self, size: int = 12, noise: float = 0.1):
        self.size, self.noise = size, noise
        centers = torch.tensor([[2., 0, 0, 1], [0, 2., 0, -1], [0, 0, 2., 0]])
        self.features = [centers[i % NUM_CLASSES] for i in range(size)]

    def __len__(self):
        return self.size

    def __getitem__(self, i):
        x = self.features[i] + torch.from_numpy(np.random.randn(FEAT).astype(np.float32)) * self.noise
        return dict(img_group_0=x[None], gt_label=torch.tensor([i % NUM_CLASSES]),
                    num_modalities=torch.tensor([1]), img_meta=dict(index=i))

    def get_ann_info(self, i):
        return dict(path=f'video_{i}', label=i % NUM_CLASSES)


def tiny_collate(items):
    out = {k: torch.stack([it[k] for it in items]) for k in items[0] if k != 'img_meta'}
    out['img_meta'] = [it['img_meta'] for it in items]
    return out


def make_runner(work_dir, max_epochs, lr_config=None, model=None, **kwargs):
    model = model or TinyRecognizer()
    optimizer = build_optimizer(model, dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
    scheduler = build_lr_scheduler(optimizer, lr_config or dict(policy='step', step=[2], warmup='linear',
                                                                warmup_iters=3, warmup_ratio=0.1))
    kwargs.setdefault('log_interval', 2)
    return Runner(model, optimizer, scheduler, str(work_dir), max_epochs=max_epochs,
                  meta=dict(config='total_epochs = 4\n'), **kwargs)


def loader(dataset=None):
    return DataLoader(dataset or TinyDataset(), batch_size=4, shuffle=True, collate_fn=tiny_collate)


def read_json_log(work_dir):
    (path,) = [os.path.join(work_dir, f) for f in os.listdir(work_dir) if f.endswith('.log.json')]
    with open(path) as f:
        return [json.loads(line) for line in f]


def test_parse_losses_sums_loss_keys_only():
    loss, log_vars = parse_losses(dict(loss_a=torch.tensor([1.0, 3.0]), loss_b=[torch.tensor(1.0), torch.tensor(2.0)],
                                       acc=torch.tensor(0.5)))
    assert loss.item() == pytest.approx(2.0 + 3.0)
    assert log_vars == dict(loss_a=2.0, loss_b=3.0, acc=0.5, loss=5.0)
    with pytest.raises(ValueError, match='no loss term'):
        parse_losses(dict(acc=torch.tensor(1.0)))


def test_checkpoints_and_json_log(tmp_path):
    set_random_seed(0)
    runner = make_runner(tmp_path, max_epochs=2)
    runner.run([loader()], [('train', 1)])
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith('.pth')) == ['epoch_1.pth', 'epoch_2.pth',
                                                                            'latest.pth']
    with open(tmp_path / 'epoch_2.pth', 'rb') as a, open(tmp_path / 'latest.pth', 'rb') as b:
        assert a.read() == b.read()
    ckpt = load_file(str(tmp_path / 'epoch_2.pth'))  # weights_only load: meta must be plain data
    assert set(ckpt) == {'meta', 'state_dict', 'optimizer'}
    meta = ckpt['meta']
    assert meta['epoch'] == 2 and meta['iter'] == 6  # 12 videos / 4 per batch * 2 epochs
    assert meta['config'] == 'total_epochs = 4\n'
    assert {'mmact_version', 'time', 'rng'} <= set(meta)
    assert set(meta['rng']) >= {'python', 'numpy', 'torch'}
    assert set(ckpt['state_dict']) == {'bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var',
                                       'bn.num_batches_tracked', 'fc.weight', 'fc.bias'}
    assert torch.equal(ckpt['state_dict']['fc.weight'], runner.model.fc.weight.detach())
    records = read_json_log(tmp_path)
    # log_interval=2 over 3 iterations per epoch -> iterations 2 and 3 (epoch end) of each epoch
    assert [(r['epoch'], r['iter']) for r in records] == [(1, 2), (1, 3), (2, 2), (2, 3)]
    first = records[0]
    assert {'mode', 'epoch', 'iter', 'lr', 'time', 'data_time', 'loss_cls', 'acc', 'loss', 'grad_norm'} <= set(first)
    assert first['mode'] == 'train'
    # lr logged is the one used by the last iteration of the interval: global iter 1 of a 3-iter linear warmup
    assert first['lr'] == pytest.approx(0.1 * (1 - (1 - 1 / 3) * 0.9))
    assert records[2]['lr'] == pytest.approx(0.1)


def test_resume_matches_uninterrupted_run(tmp_path):
    set_random_seed(0)
    full = make_runner(tmp_path / 'full', max_epochs=4)
    full.run([loader()], [('train', 1)])

    set_random_seed(0)
    first = make_runner(tmp_path / 'part', max_epochs=2)
    first.run([loader()], [('train', 1)])
    set_random_seed(123)  # resume must restore the RNG, not rely on the seed
    second = make_runner(tmp_path / 'part', max_epochs=4, model=TinyRecognizer())
    second.resume(find_latest_checkpoint(str(tmp_path / 'part')))
    assert (second.epoch, second.iter) == (2, 6)
    second.run([loader()], [('train', 1)])

    for key, value in full.model.state_dict().items():
        assert torch.equal(value, second.model.state_dict()[key]), key
    assert second.optimizer.param_groups[0]['lr'] == pytest.approx(full.optimizer.param_groups[0]['lr'])


def test_find_latest_checkpoint_prefers_highest_epoch(tmp_path):
    assert find_latest_checkpoint(str(tmp_path)) is None
    for name in ('epoch_2.pth', 'epoch_10.pth', 'latest.pth'):
        (tmp_path / name).write_bytes(b'x')
    assert find_latest_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_10.pth')


def test_validation_logged_as_val_mode(tmp_path):
    set_random_seed(0)
    calls = []

    def evaluate(model):
        calls.append(model.training)
        return {'top1 acc': 0.5, 'top5 acc': 1.0}

    runner = make_runner(tmp_path, max_epochs=2, evaluate=evaluate)
    runner.run([loader()], [('train', 1)])
    assert calls == [False, False] or calls == [True, True]  # called once per epoch
    val = [r for r in read_json_log(tmp_path) if r['mode'] == 'val']
    assert [(r['epoch'], r['top1 acc'], r['top5 acc']) for r in val] == [(1, 0.5, 1.0), (2, 0.5, 1.0)]


def test_val_workflow_phase_logs_losses(tmp_path):
    set_random_seed(0)
    runner = make_runner(tmp_path, max_epochs=1)
    runner.run([loader(), loader()], [('train', 1), ('val', 1)])
    val = [r for r in read_json_log(tmp_path) if r['mode'] == 'val']
    assert len(val) == 1 and val[0]['loss'] > 0 and 'grad_norm' not in val[0]


def test_grad_clip_bounds_the_step(tmp_path):
    set_random_seed(0)
    runner = make_runner(tmp_path, max_epochs=1, grad_clip=dict(max_norm=1e-3, norm_type=2),
                         lr_config=dict(policy='fixed'))
    before = {k: v.clone() for k, v in runner.model.state_dict().items()}
    runner.optimizer.param_groups[0]['momentum'] = 0.0
    runner.optimizer.param_groups[0]['weight_decay'] = 0.0
    runner.train_step(next(iter(loader())))
    params = [p for p in runner.model.parameters()]
    total = torch.sqrt(sum(p.grad.norm() ** 2 for p in params))
    assert total.item() == pytest.approx(1e-3, rel=1e-3)
    moved = torch.sqrt(sum((runner.model.state_dict()[k] - before[k]).float().norm() ** 2
                           for k in ('fc.weight', 'fc.bias', 'bn.weight', 'bn.bias')))
    assert moved.item() == pytest.approx(0.1 * 1e-3, rel=1e-3)  # SGD step = lr * clipped grad


def test_bf16_autocast_on_cpu_trains(tmp_path):
    set_random_seed(0)
    runner = make_runner(tmp_path, max_epochs=1, amp=True)
    assert runner.amp.dtype == torch.bfloat16 and runner.amp.scaler is None
    runner.run([loader()], [('train', 1)])
    assert np.isfinite(read_json_log(tmp_path)[-1]['loss'])


def test_non_finite_loss_stops_with_iteration_and_terms(tmp_path):
    runner = make_runner(tmp_path, max_epochs=1, model=TinyRecognizer(nan_loss=True))
    with pytest.raises(FloatingPointError, match=r'epoch 1, iteration 1 .*loss_cls=nan.*Hint: lower optimizer.lr'):
        runner.run([loader()], [('train', 1)])


@pytest.mark.parametrize('kwargs,match', [
    (dict(max_epochs=0), "total_epochs' must be a positive int"),
    (dict(max_epochs=1, log_interval=0), "log_config.interval' must be a positive int"),
    (dict(max_epochs=1, checkpoint_interval=1.5), "checkpoint_config.interval' must be a positive int"),
    (dict(max_epochs=1, grad_clip=dict(max_norm=1, norm=2)), r"grad_clip' has unknown keys \['norm'\]"),
    (dict(max_epochs=1, grad_clip=40), "grad_clip' must be dict"),
])
def test_bad_runner_config_names_the_key(tmp_path, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        make_runner(tmp_path, **kwargs)


def test_bad_workflow_and_optimizer(tmp_path):
    runner = make_runner(tmp_path, max_epochs=1)
    with pytest.raises(ConfigError, match=r"workflow\[0\]' must be \('train', n\)"):
        runner.run([loader()], [('trian', 1)])
    with pytest.raises(ConfigError, match="did you mean 'SGD'"):
        build_optimizer(TinyRecognizer(), dict(type='SDG', lr=0.1))
    with pytest.raises(ConfigError, match="optimizer.lr' must be a non-negative number"):
        build_optimizer(TinyRecognizer(), dict(type='SGD', lr='0.1'))


def test_resume_refuses_weights_only_file(tmp_path):
    torch.save(TinyRecognizer().state_dict(), tmp_path / 'raw.pth')
    runner = make_runner(tmp_path, max_epochs=1)
    with pytest.raises(ConfigError, match="not a training checkpoint.*load_from"):
        runner.resume(str(tmp_path / 'raw.pth'))
    runner.load_weights(str(tmp_path / 'raw.pth'))  # load_from accepts it
    assert runner.epoch == 0
