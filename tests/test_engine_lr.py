"""LR policies of ``lr_config`` against the mmcv formulas (per-iteration values over whole runs)."""
import math

import pytest
import torch

from mmaction.engine.lr_scheduler import build_lr_scheduler, lr_schedule
from mmaction.registry import ConfigError

BASE = 0.1


def test_step_list_gamma_default_0_1():
    lrs = lr_schedule(dict(policy='step', step=[2, 4]), BASE, max_epochs=6, epoch_len=3)
    per_epoch = [lrs[e * 3] for e in range(6)]
    assert per_epoch == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001, 0.001])
    assert lrs[3:6] == pytest.approx([0.1] * 3)  # constant within an epoch


def test_step_int_and_custom_gamma():
    lrs = lr_schedule(dict(policy='step', step=2, gamma=0.5), BASE, max_epochs=5, epoch_len=1)
    assert lrs == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])


def test_cosine_target_lr_by_epoch():
    lrs = lr_schedule(dict(policy='cosine', target_lr=0.01), BASE, max_epochs=4, epoch_len=2)
    expected = [0.01 + 0.5 * (BASE - 0.01) * (1 + math.cos(math.pi * e / 4)) for e in range(4)]
    assert lrs[::2] == pytest.approx(expected)
    assert lrs[1::2] == pytest.approx(expected)


def test_cosine_by_iteration():
    lrs = lr_schedule(dict(policy='CosineAnnealing', by_epoch=False, min_lr=0.0), BASE, max_epochs=2, epoch_len=5)
    expected = [0.5 * BASE * (1 + math.cos(math.pi * i / 10)) for i in range(10)]
    assert lrs == pytest.approx(expected)


def test_linear_warmup_by_iters_then_step():
    cfg = dict(policy='step', step=[2], warmup='linear', warmup_iters=4, warmup_ratio=0.1)
    lrs = lr_schedule(cfg, BASE, max_epochs=3, epoch_len=3)
    for it in range(4):
        k = (1 - it / 4) * (1 - 0.1)
        assert lrs[it] == pytest.approx(BASE * (1 - k))
    assert lrs[0] == pytest.approx(0.01)  # warmup starts at base * warmup_ratio
    assert lrs[4:6] == pytest.approx([BASE, BASE])
    assert lrs[6:] == pytest.approx([0.01] * 3)


def test_linear_warmup_by_epoch_counts_epochs():
    cfg = dict(policy='step', step=[10], warmup='linear', warmup_iters=2, warmup_ratio=0.5, warmup_by_epoch=True)
    lrs = lr_schedule(cfg, BASE, max_epochs=3, epoch_len=4)  # warmup over 2 * 4 = 8 iterations
    assert lrs[:8] == pytest.approx([BASE * (1 - (1 - i / 8) * 0.5) for i in range(8)])
    assert lrs[8:] == pytest.approx([BASE] * 4)


def test_constant_and_exp_warmup():
    const = lr_schedule(dict(policy='fixed', warmup='constant', warmup_iters=2, warmup_ratio=0.25), BASE, 1, 4)
    assert const == pytest.approx([0.025, 0.025, 0.1, 0.1])
    exp = lr_schedule(dict(policy='fixed', warmup='exp', warmup_iters=2, warmup_ratio=0.25), BASE, 1, 3)
    assert exp == pytest.approx([BASE * 0.25, BASE * 0.25 ** 0.5, BASE])


def test_poly_policy():
    lrs = lr_schedule(dict(policy='poly', power=2.0, min_lr=0.0), BASE, max_epochs=4, epoch_len=1)
    assert lrs == pytest.approx([BASE * (1 - e / 4) ** 2 for e in range(4)])


def test_scheduler_sets_every_param_group():
    a, b = torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([{'params': [a], 'lr': 0.1}, {'params': [b], 'lr': 0.2}], lr=0.1)
    sched = build_lr_scheduler(opt, dict(policy='step', step=[1]))
    sched.setup(max_epochs=2, epoch_len=1)
    sched.step(epoch=1, it=1)
    assert [g['lr'] for g in opt.param_groups] == pytest.approx([0.01, 0.02])


@pytest.mark.parametrize('cfg,match', [
    (dict(policy='stp', step=[1]), r"lr_config.policy.*unknown policy 'stp'.*did you mean 'step'"),
    (dict(policy='step'), r'lr_config.step.*positive int or an increasing list'),
    (dict(policy='step', step=[30, 10]), r'lr_config.step'),
    (dict(policy='step', step=[1], warmup='linear'), r'lr_config.warmup_iters.*positive int'),
    (dict(policy='step', step=[1], warmup='lin', warmup_iters=3), r"lr_config.warmup.*'linear'"),
    (dict(policy='step', step=[1], warmup='linear', warmup_iters=3, warmup_ratio=0), r'lr_config.warmup_ratio'),
    (dict(policy='cosine', steps=[1]), r"lr_config.steps.*not an argument of policy 'cosine'"),
    (dict(step=[1]), r'lr_config.policy.*missing'),
])
def test_bad_lr_config_names_the_key(cfg, match):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(ConfigError, match=match):
        build_lr_scheduler(opt, cfg)
