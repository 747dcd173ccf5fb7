"""CUDA paths (issue 20): mixed precision, channels_last, nccl through the tools, torch.compile, auto_scale_batch on a
real out-of-memory, pinned batches with non_blocking copies.

Every test is marked ``cuda``: skipped where torch sees no GPU (tests/conftest.py), run on a GPU machine with
``python -m pytest tests -m cuda`` or the whole suite (docs/gpu.md). Values are compared with the per-dtype
tolerances of tests/_tolerances.py.
"""
from __future__ import annotations

import copy
import math
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn as nn

from mmaction.apis import set_random_seed
from mmaction.models import build_recognizer
from mmaction.models.backbones.resnet_i3d import ResNet_I3D
from mmaction.utils.device import set_tf32, tf32_enabled, to_device

from _dist_test_helpers import free_port  # noqa: E402 (tests/ helper)
from _tolerances import tolerance  # noqa: E402 (tests/ helper)
from test_device_placement import train_loader_kwargs  # noqa: E402
from test_engine_runner import TinyDataset, TinyRecognizer, loader, make_runner, read_json_log  # noqa: E402
from test_heavy_tester import TINY_MODEL  # noqa: E402
from test_tools_recognizer import NUM_CLASSES, NUM_VIDEOS, _expected_scores, setup  # noqa: E402, F401
from test_toy_3d import _toy_backbone_cfg  # noqa: E402

pytestmark = pytest.mark.cuda
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
CUDA = torch.device('cuda', 0)


@pytest.fixture()
def full_float32():
    """TF32 off for the test (comparisons at float32 tolerance), the process's setting restored afterwards."""
    saved = tf32_enabled()
    set_tf32(False)
    yield
    set_tf32(saved)


def _tiny_batch(device: torch.device) -> dict:
    """A batch of 4 one-clip videos ``(B, M=1, C, T, H, W)`` for ``TINY_MODEL`` (TSN3D, 5 classes)."""
    generator = torch.Generator().manual_seed(0)
    return dict(img_group_0=torch.randn(4, 1, 3, 2, 16, 16, generator=generator).to(device),
                gt_label=torch.tensor([[0], [1], [2], [3]], device=device),
                num_modalities=torch.ones(4, 1, dtype=torch.long, device=device), img_meta=None)


def test_amp_bf16_training_step_matches_float32(full_float32):
    """A forward/backward of a real recognizer under bf16 autocast on CUDA: the loss within the bf16 tolerance of
    float32, finite gradients on every parameter, and the SGD step moves the weights."""
    if not torch.cuda.is_bf16_supported():
        pytest.skip('this GPU has no bfloat16')
    torch.manual_seed(0)
    cfg = copy.deepcopy(TINY_MODEL)
    cfg['cls_head']['dropout_ratio'] = 0  # the two forward passes must see the same network
    model = build_recognizer(cfg).to(CUDA).train()
    batch = _tiny_batch(CUDA)
    with torch.no_grad():
        full = model(return_loss=True, **batch)['loss_cls']
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with torch.autocast('cuda', dtype=torch.bfloat16):
        half = model(return_loss=True, **batch)['loss_cls']
    half.backward()
    torch.testing.assert_close(half.float(), full.float(), **tolerance(CUDA, torch.bfloat16))
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)
    before = model.cls_head.fc_cls.weight.detach().clone()
    optimizer.step()
    assert not torch.equal(model.cls_head.fc_cls.weight, before)


def test_amp_fp16_runner_uses_a_grad_scaler_and_tracks_float32(tmp_path):
    """``--amp`` on CUDA: fp16 autocast with a GradScaler (dynamic by default); three steps with a static scale
    (``fp16=dict(loss_scale=512.)``, so no step is skipped while a dynamic scale searches its level) end within
    the fp16 tolerance of the same run in float32."""
    dynamic = make_runner(tmp_path / 'dynamic', max_epochs=1, model=TinyRecognizer().to(CUDA), amp=True)
    assert dynamic.amp.dtype == torch.float16 and dynamic.amp.scaler.get_scale() == 2.0 ** 16
    weights = {}
    for amp in (False, True):
        set_random_seed(0)
        model = TinyRecognizer().to(CUDA)
        runner = make_runner(tmp_path / f'amp_{amp}', max_epochs=1, model=model, amp=amp, loss_scale=512.0)
        assert runner.device == CUDA
        if amp:
            assert runner.amp.dtype == torch.float16 and runner.amp.scaler is not None
        set_random_seed(0)  # the same shuffle and noise for both runs
        runner.run([loader()], [('train', 1)])
        losses = [r['loss'] for r in read_json_log(tmp_path / f'amp_{amp}') if r['mode'] == 'train']
        assert losses and all(math.isfinite(v) for v in losses)
        weights[amp] = model.fc.weight.detach().float().cpu()
    assert runner.amp.scaler.get_scale() == 512.0
    torch.testing.assert_close(weights[True], weights[False], **tolerance(CUDA, torch.float16))


def test_channels_last_3d_matches_contiguous(full_float32):
    """The toy I3D backbone in ``channels_last_3d`` (``benchmark_inference.py --channels-last``): the same features
    and input gradients as the contiguous layout."""
    torch.manual_seed(0)
    net = ResNet_I3D(**_toy_backbone_cfg()).to(CUDA).eval()
    net_cl = copy.deepcopy(net).to(memory_format=torch.channels_last_3d)
    x = torch.randn(2, 3, 8, 64, 64, device=CUDA, requires_grad=True)
    x_cl = x.detach().contiguous(memory_format=torch.channels_last_3d).requires_grad_()
    ref, out = net(x), net_cl(x_cl)
    assert net_cl.conv1.weight.is_contiguous(memory_format=torch.channels_last_3d)
    torch.testing.assert_close(out, ref, **tolerance(CUDA))
    ref.square().mean().backward()
    out.square().mean().backward()
    torch.testing.assert_close(x_cl.grad, x.grad, **tolerance(CUDA))


def _tool_env() -> dict:
    """The shell wrappers as a user runs them on a GPU machine: no DEVICE, the GPUs visible."""
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHON=sys.executable, PORT=str(free_port()))
    env.pop('DEVICE', None)
    return env


def _run(cmd: list[str], cwd) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=_tool_env(), capture_output=True, text=True, timeout=600)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'{" ".join(cmd)} failed ({proc.returncode}):\n{output[-6000:]}'
    return output


def test_one_process_nccl_training_and_testing_through_the_tools(setup, tmp_path):  # noqa: F811
    """``dist_*.sh CONFIG 1`` on a GPU: nccl on cuda:0, a checkpoint, and test scores that match the CPU forward
    of that checkpoint within the TF32 tolerance (the test tool runs with TF32 on)."""
    root, config, _ = setup
    _run(['bash', 'tools/dist_run.sh', os.path.join('..', 'tests', 'test_dist_launch.py'), '1', str(tmp_path)], REPO)
    assert (tmp_path / 'rank0.txt').read_text() == 'cuda nccl 1.0'
    work = tmp_path / 'work'
    train_log = _run(['bash', os.path.join(REPO, 'tools', 'dist_train_recognizer.sh'), str(config), '1',
                      '--work_dir', str(work), '--seed', '0', '--cfg-options', 'total_epochs=1'], tmp_path)
    assert 'Distributed training: True' in train_log and (work / 'epoch_1.pth').is_file()
    out = tmp_path / 'dist.pkl'
    test_log = _run(['bash', os.path.join(REPO, 'tools', 'dist_test_recognizer.sh'), str(config),
                     str(work / 'epoch_1.pth'), '1', '--out', str(out)], tmp_path)
    assert test_log.count('Top-1 Accuracy = ') == 1
    with open(out, 'rb') as f:
        results = pickle.load(f)
    expected = _expected_scores(config, work / 'epoch_1.pth')  # float32 on the CPU
    assert len(results) == NUM_VIDEOS
    for got, want in zip(results, expected):
        assert got.shape == (1, NUM_CLASSES) and got.dtype == np.float32
        np.testing.assert_allclose(got, want, **tolerance(CUDA, tf32=True))


@pytest.mark.slow  # compiling with inductor takes ~1 min
def test_torch_compile_of_a_small_model_matches_eager(full_float32):
    """``torch.compile`` (``benchmark_inference.py --compile``) of the toy I3D backbone: eager features in eval
    mode, and the same input gradients in training mode."""
    torch.manual_seed(0)
    net = ResNet_I3D(**_toy_backbone_cfg()).to(CUDA).eval()
    compiled = torch.compile(net)
    x = torch.randn(2, 3, 8, 64, 64, device=CUDA)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), net(x), **tolerance(CUDA))
    net.train()
    xs = [x.clone().requires_grad_() for _ in range(2)]
    net(xs[0]).square().mean().backward()
    compiled(xs[1]).square().mean().backward()
    torch.testing.assert_close(xs[1].grad, xs[0].grad, **tolerance(CUDA))


class MemoryHungry(nn.Module):
    """``TinyRecognizer``'s classifier whose forward allocates ``bytes_per_clip`` of GPU memory per clip: a real
    ``torch.OutOfMemoryError`` from the CUDA allocator above a batch size the test picks."""

    def __init__(self, bytes_per_clip: int):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.bytes_per_clip, self.sizes = bytes_per_clip, []

    def forward(self, img_group_0=None, gt_label=None, return_loss=True, **kwargs):
        batch = img_group_0.shape[0]
        self.sizes.append(batch)
        workspace = torch.empty(batch * self.bytes_per_clip, dtype=torch.uint8, device=img_group_0.device)
        logits = self.fc(img_group_0.flatten(1)) + workspace[:1].float() * 0
        del workspace
        return dict(loss_cls=nn.functional.cross_entropy(logits, gt_label.reshape(-1)))


def test_auto_scale_batch_recovers_from_a_real_out_of_memory(tmp_path):
    """Batches of 4 need 1.4x the free GPU memory, batches of 2 0.7x: ``auto_scale_batch`` catches the allocator's
    error, splits every batch in two micro-batches and finishes the epoch."""
    torch.cuda.empty_cache()
    free, _ = torch.cuda.mem_get_info()
    set_random_seed(0)
    model = MemoryHungry(int(free * 0.35)).to(CUDA)
    runner = make_runner(tmp_path, max_epochs=1, model=model, auto_scale_batch=True)
    runner.run([loader()], [('train', 1)])
    assert runner.accumulate == 2
    assert model.sizes[:3] == [4, 2, 2] and set(model.sizes[1:]) == {2}  # 12 clips: 3 batches of 4 in halves
    losses = [r['loss'] for r in read_json_log(tmp_path) if r['mode'] == 'train']
    assert losses and all(math.isfinite(v) for v in losses)
    torch.cuda.empty_cache()


def test_pinned_batches_and_non_blocking_copies(tmp_path, monkeypatch):
    """The training loader pins its batches on CUDA, and ``to_device``'s non_blocking copies of pinned batches
    arrive intact (and come back to the CPU with a blocking copy)."""
    from mmaction.datasets import build_dataloader
    assert train_loader_kwargs(CUDA, tmp_path, monkeypatch)['pin_memory'] is True
    batch = next(iter(build_dataloader(TinyDataset(), 4, 0, shuffle=False, pin_memory=True)))
    assert batch['img_group_0'].is_pinned() and batch['gt_label'].is_pinned()
    moved = to_device(batch, CUDA)
    assert moved['img_group_0'].device == CUDA and moved['img_meta'] == batch['img_meta']
    back = to_device(moved, 'cpu')  # a blocking copy: the values are ready without a synchronize
    assert torch.equal(back['img_group_0'], batch['img_group_0']) and torch.equal(back['gt_label'], batch['gt_label'])
