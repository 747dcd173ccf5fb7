"""Training recipes wired into the trainer: EMA of weights, gradient accumulation across loader batches,
mixup/cutmix through an mmaction2 data preprocessor, RepeatAugSampler from the config, SyncBN decisions,
multi-label training/testing with mAP, warm-up + cosine lr values."""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader

from mmaction.apis import set_random_seed
from mmaction.engine import Runner, build_lr_scheduler, build_optimizer, find_latest_checkpoint
from mmaction.engine.ema import ModelEMA, build_ema
from mmaction.registry import ConfigError
from mmaction.utils.checkpoint import load_file
from test_engine_runner import FEAT, NUM_CLASSES, TinyDataset, TinyRecognizer, tiny_collate


class LinearRecognizer(nn.Module):
    """No BatchNorm: a batch's gradient is the mean of its samples' gradients (accumulation is exact)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(FEAT, NUM_CLASSES)

    def forward(self, num_modalities=None, img_meta=None, return_loss=True, img_group_0=None, gt_label=None):
        logits = self.fc(img_group_0.flatten(1))
        if not return_loss:
            return logits.detach().numpy()
        return dict(loss_cls=F.cross_entropy(logits, gt_label.reshape(-1)))


def _runner(work_dir, model, max_epochs, lr_config=None, optimizer=None, **kwargs):
    optimizer = build_optimizer(model, optimizer or dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-3))
    scheduler = build_lr_scheduler(optimizer, lr_config or dict(policy='fixed'))
    return Runner(model, optimizer, scheduler, str(work_dir), max_epochs=max_epochs, log_interval=100,
                  meta=dict(config=''), **kwargs)


def _loader(batch_size, dataset=None, shuffle=False):
    return DataLoader(dataset or TinyDataset(noise=0.0), batch_size=batch_size, shuffle=shuffle,
                      collate_fn=tiny_collate)


# -- 1. EMA -------------------------------------------------------------------------------------------------
def _weights_after_each_step(runner):
    seen = []
    runner.optimizer.register_step_post_hook(
        lambda opt, args, kwargs: seen.append(runner.model.fc.weight.detach().clone()))
    return seen


def test_ema_after_n_steps_equals_the_formula_and_is_validated(tmp_path):
    set_random_seed(0)
    model = TinyRecognizer()
    validated = []

    def evaluate(net):
        validated.append((net, net.fc.weight.detach().clone(), net.training))
        return {'top1 acc': 0.5}

    runner = _runner(tmp_path, model, max_epochs=2, ema=ModelEMA(model, momentum=0.3, interval=2),
                     evaluate=evaluate)
    weights = _weights_after_each_step(runner)
    runner.run([_loader(4, TinyDataset(), shuffle=True)], [('train', 1)])
    assert len(weights) == 6  # 12 samples / 4 per batch x 2 epochs
    expected = weights[0]  # the first update copies; then every 2nd update averages (interval=2)
    for n, w in enumerate(weights[1:], start=1):
        if n % 2 == 0:
            expected = 0.7 * expected + 0.3 * w
    assert runner.ema.steps == 6
    torch.testing.assert_close(runner.ema.module.fc.weight, expected, rtol=0, atol=1e-6)
    assert not torch.allclose(expected, model.fc.weight)
    # BN statistics follow the model (update_buffers=False)
    assert torch.equal(runner.ema.module.bn.running_mean, model.bn.running_mean)
    # --validate ran on the averaged weights (the epoch-1 average), in eval mode
    assert len(validated) == 2 and validated[-1][0] is runner.ema.module and not validated[-1][2]
    torch.testing.assert_close(validated[-1][1], expected, rtol=0, atol=1e-6)


def test_ema_checkpoint_layout_is_mmengines_and_resume_is_bit_identical(tmp_path):
    def run(work_dir, max_epochs, resume=False):
        model = TinyRecognizer()
        runner = _runner(work_dir, model, max_epochs, ema=ModelEMA(model, momentum=0.2, update_buffers=True),
                         lr_config=dict(policy='step', step=[3], warmup='linear', warmup_iters=4))
        if resume:
            set_random_seed(99)  # resume restores the RNG states
            runner.resume(find_latest_checkpoint(str(work_dir)))
        runner.run([_loader(4, TinyDataset(), shuffle=True)], [('train', 1)])
        return runner

    set_random_seed(0)
    full = run(tmp_path / 'full', 4)
    set_random_seed(0)
    run(tmp_path / 'part', 2)
    ckpt = load_file(str(tmp_path / 'part' / 'epoch_2.pth'))
    resumed = run(tmp_path / 'part', 4, resume=True)
    # state_dict = the average (what test tools load), ema_state_dict = steps + trained weights under module.
    assert int(ckpt['ema_state_dict']['steps']) == 6
    assert set(ckpt['ema_state_dict']) == {'steps'} | {f'module.{k}' for k in ckpt['state_dict']}
    assert not torch.equal(ckpt['state_dict']['fc.weight'], ckpt['ema_state_dict']['module.fc.weight'])
    for key, value in full.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key
    for key, value in full.ema.module.state_dict().items():
        assert torch.equal(value, resumed.ema.module.state_dict()[key]), key
    assert resumed.ema.steps == full.ema.steps == 12
    final = load_file(str(tmp_path / 'full' / 'latest.pth'))
    assert torch.equal(final['state_dict']['bn.running_mean'], full.ema.module.bn.running_mean)


def test_ema_config_both_spellings_and_errors():
    from mmaction.utils.config import Config
    model = nn.Linear(2, 2)
    ema = build_ema(model, Config(dict(ema=dict(momentum=0.01, interval=3))))
    assert (ema.momentum, ema.interval, ema.update_buffers) == (0.01, 3, False)
    hook = build_ema(model, Config(dict(custom_hooks=[dict(type='SomeHook'), dict(
        type='EMAHook', ema_type='ExponentialMovingAverage', momentum=0.001, update_buffers=True, begin_iter=5)])))
    assert (hook.momentum, hook.update_buffers, hook.begin_iter) == (0.001, True, 5)
    assert not hook.started(0, 3) and hook.started(0, 4)
    assert build_ema(model, Config(dict())) is None
    with pytest.raises(ConfigError, match=r"'custom_hooks\[0\].ema_type'"):
        build_ema(model, Config(dict(custom_hooks=[dict(type='EMAHook', ema_type='StochasticWeightAverage')])))
    with pytest.raises(ConfigError, match="config 'ema': EMA momentum must lie in"):
        build_ema(model, Config(dict(ema=dict(momentum=0.9998 + 1))))
    with pytest.raises(ConfigError, match='set twice'):
        build_ema(model, Config(dict(ema=dict(), custom_hooks=[dict(type='EMAHook')])))


# -- 2. gradient accumulation -------------------------------------------------------------------------------
@pytest.mark.parametrize('size,batch,counts', [(12, 2, 3), (10, 2, 2)], ids=['even', 'short-last-window'])
def test_accumulated_batches_equal_the_big_batch(tmp_path, size, batch, counts):
    """K loader batches of b (loss / K each, one step) = one batch of K*b, gradients and lr schedule included;
    the last window of an epoch may be short (10 = 2+2 | 2+2 | 2 vs 4 | 4 | 2)."""
    lr_config = dict(policy='cosine', by_epoch=False, warmup='linear', warmup_iters=3, warmup_ratio=0.1)
    runs = []
    for b, k in ((batch, counts), (batch * counts, 1)):
        torch.manual_seed(0)
        runner = _runner(tmp_path / f'{b}x{k}', LinearRecognizer(), max_epochs=2, lr_config=lr_config,
                         accumulative_counts=k)
        grads, lrs = [], []

        def record(opt, args, kwargs, runner=runner, grads=grads, lrs=lrs):
            grads.append(runner.model.fc.weight.grad.clone())
            lrs.append(opt.param_groups[0]['lr'])

        runner.optimizer.register_step_pre_hook(record)
        runner.run([_loader(b, TinyDataset(size=size, noise=0.0))], [('train', 1)])
        runs.append((runner, grads, lrs))
    (small, small_grads, small_lrs), (big, big_grads, big_lrs) = runs
    assert len(small_grads) == len(big_grads) == 2 * math.ceil(size / (batch * counts))
    for a, b in zip(small_grads, big_grads):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
    assert small_lrs == pytest.approx(big_lrs, abs=1e-12)
    assert small_lrs[0] == pytest.approx(0.1 * 0.1)  # warmup counts optimizer steps: step 0 at warmup_ratio
    torch.testing.assert_close(small.model.fc.weight, big.model.fc.weight, rtol=0, atol=1e-6)
    assert small.iter == 2 * math.ceil(size / batch)  # iterations stay loader batches


def test_accumulative_counts_config_keys(tmp_path):
    from mmaction.apis.train import _accumulative_counts
    from mmaction.utils.config import Config
    assert _accumulative_counts(Config(dict()), {}) == 1
    assert _accumulative_counts(Config(dict()), dict(accumulative_counts=4)) == 4
    assert _accumulative_counts(Config(dict(optim_wrapper=dict(accumulative_counts=2))), {}) == 2
    with pytest.raises(ConfigError, match='disagree'):
        _accumulative_counts(Config(dict(optim_wrapper=dict(accumulative_counts=2))), dict(accumulative_counts=3))
    with pytest.raises(ConfigError, match="'optimizer_config.accumulative_counts' must be a positive int"):
        _accumulative_counts(Config(dict()), dict(accumulative_counts=0))
