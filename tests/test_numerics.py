"""Issue 20, numerics policy (docs/gpu.md): TF32 on for the tools, off with ``--deterministic``; value tests use
per-dtype tolerances (``tests/_tolerances.py``)."""
from __future__ import annotations

import pytest
import torch
import torch.nn as nn

from mmaction.apis import set_random_seed
from mmaction.utils.device import set_tf32, tf32_enabled

from _tolerances import tolerance  # noqa: E402 (tests/ helper)


@pytest.fixture()
def restore_numerics():
    """The flags are process-wide: put them back for the tests that follow."""
    saved = (tf32_enabled(), torch.are_deterministic_algorithms_enabled(),
             torch.is_deterministic_algorithms_warn_only_enabled(), torch.backends.cudnn.deterministic,
             torch.backends.cudnn.benchmark)
    yield
    set_tf32(saved[0])
    torch.use_deterministic_algorithms(saved[1], warn_only=saved[2])
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved[3], saved[4]


def test_set_tf32_round_trip_and_deterministic_seed_turns_it_off(restore_numerics):
    set_tf32(False)
    assert not tf32_enabled()
    set_tf32(True)
    assert tf32_enabled()
    set_random_seed(0, deterministic=True)
    assert not tf32_enabled() and torch.backends.cudnn.deterministic
    set_random_seed(0)  # a plain seed leaves the policy alone
    assert not tf32_enabled()


@pytest.mark.parametrize('argv, expected', [([], True), (['--deterministic', '--seed', '0'], False)])
def test_train_tools_apply_the_tf32_policy(restore_numerics, tmp_path, monkeypatch, argv, expected):
    import mmaction.apis
    from mmaction.apis.cli import train_main
    config = tmp_path / 'cfg.py'
    config.write_text("model = dict(type='unused')\ndata = dict(train=dict(type='unused'))\n")
    seen = []
    monkeypatch.setattr(mmaction.apis, 'train_network', lambda *args, **kwargs: seen.append(tf32_enabled()))
    set_tf32(not expected)
    train_main([str(config), '--work_dir', str(tmp_path / 'work'), *argv], lambda *a, **k: nn.Identity(), 'test',
               build_dataset_fn=lambda cfg: [])
    assert seen == [expected]


def test_tolerance_follows_device_dtype_and_tf32(restore_numerics):
    assert tolerance('cpu') == dict(rtol=1e-5, atol=1e-6)
    set_tf32(True)
    assert tolerance('cuda') == dict(rtol=2e-3, atol=1e-4)
    set_tf32(False)
    assert tolerance(torch.device('cuda', 0)) == dict(rtol=1e-4, atol=1e-5)
    assert tolerance('cuda', tf32=True) == dict(rtol=2e-3, atol=1e-4)  # a tool's result from another process
    assert tolerance('cuda', torch.float16)['rtol'] == 1e-2 and tolerance('cpu', torch.bfloat16)['rtol'] == 5e-2
    with pytest.raises(ValueError, match='compared exactly'):
        tolerance('cpu', torch.int64)


def test_bfloat16_tolerance_is_needed_and_enough():
    """A small conv net under CPU bf16 autocast (what ``--amp`` does on the CPU) against float32: the error is
    beyond the float32 tolerance and within the bfloat16 one."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1),
                        nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 8), nn.Softmax(1)).eval()
    x = torch.randn(4, 3, 16, 16)
    with torch.no_grad():
        full = net(x)
        with torch.autocast('cpu', dtype=torch.bfloat16):
            half = net(x).float()
    torch.testing.assert_close(half, full, **tolerance('cpu', torch.bfloat16))
    with pytest.raises(AssertionError):
        torch.testing.assert_close(half, full, **tolerance('cpu'))
