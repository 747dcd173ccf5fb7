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


# -- 3. mixup / cutmix through the mmaction2 data preprocessor, in the trainer ------------------------------
class _TinyBackbone2D(nn.Module):
    """``(N, 3, H, W)`` -> ``(N, 4, H, W)``: enough for a Recognizer2D + TSNHead in a test."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)

    def forward(self, x):
        return self.conv(x)

    def init_weights(self):
        pass


def _register_tiny_backbone():
    from mmaction.registry import MODELS
    MODELS.register_module(name='RecipeTestBackbone2D', module=_TinyBackbone2D, force=True)


def _mm2_model_cfg(num_classes=3, blending=None, multi_label=False):
    _register_tiny_backbone()
    head = dict(type='TSNHead', num_classes=num_classes, in_channels=4, dropout_ratio=0.0, average_clips='score')
    if multi_label:
        head.update(loss_cls=dict(type='BCELossWithLogits'), multi_class=True)
    preprocessor = dict(type='ActionDataPreprocessor')
    if blending is not None:
        preprocessor['blending'] = blending
    return dict(type='Recognizer2D', backbone=dict(type='RecipeTestBackbone2D'), cls_head=head,
                data_preprocessor=preprocessor)


def _clips(n, num_classes=3):
    return [dict(img_group_0=torch.randn(2, 3, 4, 4) + i % num_classes, gt_label=torch.tensor([i % num_classes]),
                 num_modalities=torch.tensor([1]), img_meta=dict(index=i)) for i in range(n)]


def test_mixup_soft_labels_reach_the_cross_entropy_by_hand():
    from mmaction.models import build_recognizer
    set_random_seed(0)
    model = build_recognizer(_mm2_model_cfg(blending=dict(type='MixupBlending', num_classes=3, alpha=0.2)))
    x, y = torch.randn(4, 2, 3, 4, 4), torch.tensor([[0], [1], [2], [1]])
    torch.manual_seed(5)
    loss = model(img_group_0=x, gt_label=y, return_loss=True)['loss_cls']
    torch.manual_seed(5)  # the same lambda and pairing, by hand
    data = model.data_preprocessor(dict(inputs=x, data_samples=y), True)
    soft = data['data_samples']  # a label tensor in, a soft-label tensor out
    assert soft.shape == (4, 3) and torch.allclose(soft.sum(1), torch.ones(4))
    assert (soft.count_nonzero(1) == 2).any()  # really mixed
    feats, kwargs = model.extract_feat(data['inputs'])
    scores = model.cls_head(feats, **kwargs)
    expected = -(soft * F.log_softmax(scores, 1)).sum(1).mean()
    torch.testing.assert_close(loss, expected, rtol=1e-6, atol=1e-7)


def test_cutmix_recognizer_trains_through_train_network(tmp_path):
    from mmaction.apis import train_network
    from mmaction.models import build_recognizer
    from mmaction.utils.config import Config
    set_random_seed(0)
    model_cfg = _mm2_model_cfg(blending=dict(type='RandomBatchAugment', augments=[
        dict(type='MixupBlending', num_classes=3, alpha=0.2), dict(type='CutmixBlending', num_classes=3,
                                                                   alpha=1.0)], probs=[0.5, 0.5]))
    model = build_recognizer(model_cfg)
    seen = []

    def record(module, args, output):
        scores, labels = args[:2]
        seen.append((labels.detach().clone(), -(labels * F.log_softmax(scores.detach(), 1)).sum(1).mean(),
                     output.detach()))

    model.cls_head.loss_cls.register_forward_hook(record)
    cfg = Config(dict(model=model_cfg, data=dict(videos_per_gpu=4, workers_per_gpu=0),
                      optimizer=dict(type='SGD', lr=0.01), total_epochs=1, work_dir=str(tmp_path),
                      log_config=dict(interval=1), seed=0))
    runner = train_network(model, _clips(8), cfg, device=torch.device('cpu'))
    assert runner.iter == 2 and len(seen) == 2
    for labels, by_hand, loss in seen:
        assert labels.shape == (4, 3) and labels.dtype == torch.float32  # soft labels reached the loss
        torch.testing.assert_close(loss, by_hand, rtol=1e-6, atol=1e-7)
    assert any(((labels > 0) & (labels < 1)).any() for labels, _, _ in seen)


# -- 4. RepeatAugSampler from the config ---------------------------------------------------------------------
def test_train_sampler_config_builds_repeat_aug_loader(tmp_path, monkeypatch):
    import mmaction.datasets
    from mmaction.apis import train_network
    from mmaction.datasets.builder import RepeatAugSampler
    from mmaction.utils.config import Config
    built = []
    original = mmaction.datasets.build_dataloader

    def spy(*args, **kwargs):
        built.append(original(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(mmaction.datasets, 'build_dataloader', spy)
    cfg = Config(dict(data=dict(videos_per_gpu=2, workers_per_gpu=0,
                                train_sampler=dict(type='RepeatAugSampler', num_repeats=2)),
                      optimizer=dict(type='SGD', lr=0.1), total_epochs=1, work_dir=str(tmp_path), seed=3))
    dataset = TinyDataset(size=6)
    train_network(LinearRecognizer(), dataset, cfg, device=torch.device('cpu'))
    sampler = built[0].sampler
    assert isinstance(sampler, RepeatAugSampler) and sampler.num_repeats == 2 and sampler.seed == 3
    order = list(sampler)  # each index twice in a row, epoch as long as the dataset
    assert len(order) == 6 and all(order[k] == order[k + 1] for k in range(0, 6, 2))
    with pytest.raises(ConfigError, match="'data.train_sampler' must be dict"):
        train_network(LinearRecognizer(), dataset, Config(dict(cfg, data=dict(cfg.data, train_sampler=dict(
            type='InfiniteSampler')))), device=torch.device('cpu'))


# -- 5. SyncBN ---------------------------------------------------------------------------------------------
class _FlaggedBackbone(nn.Module):
    """An original backbone asking for SyncBN the original way: ``use_syncbn=True``, plain BatchNorm layers."""

    def __init__(self):
        super().__init__()
        self.use_syncbn = True
        self.conv = nn.Conv2d(3, 4, 1)
        self.bn = nn.BatchNorm2d(4)


def _syncbn_model():
    from mmcv.cnn import ConvModule
    model = nn.Module()
    model.backbone = _FlaggedBackbone()
    model.neck = ConvModule(4, 4, 1, norm_cfg=dict(type='SyncBN'))  # what mmaction2's norm_cfg builds
    model.head_bn = nn.BatchNorm1d(4)  # not asked to synchronise
    return model


def test_sync_bn_plan_decides_by_device_and_backend():
    from mmaction.engine.sync_bn import plan_sync_bn
    model = _syncbn_model()
    assert isinstance(model.neck.bn, nn.SyncBatchNorm)
    gpu = plan_sync_bn(model, distributed=True, device_type='cuda', backend='nccl')
    assert gpu.action == 'convert' and gpu.modules == ['backbone.bn', 'neck.bn']
    cpu = plan_sync_bn(model, distributed=True, device_type='cpu', backend='gloo')
    assert cpu.action == 'revert' and cpu.modules == ['backbone.bn', 'neck.bn']
    assert 'gloo backend' in cpu.message and 'only synchronises CUDA tensors' in cpu.message
    assert 'per-rank statistics' in cpu.message and 'backbone.bn' in cpu.message
    assert plan_sync_bn(model, distributed=False, device_type='cuda').action == 'none'
    whole = plan_sync_bn(model, distributed=True, device_type='cuda', backend='nccl', whole_model=True)
    assert whole.modules == ['backbone.bn', 'neck.bn', 'head_bn']
    assert plan_sync_bn(nn.Linear(2, 2), True, 'cuda', 'nccl').action == 'none'


def test_apply_sync_bn_converts_for_cuda_and_reverts_with_one_warning_on_gloo(caplog):
    import logging
    from mmaction.engine.sync_bn import BatchNormXd, apply_sync_bn, sync_bn_whole_model
    from mmaction.utils.config import Config
    torch.manual_seed(0)
    model = _syncbn_model()
    with torch.no_grad():
        model.neck.bn.running_mean.uniform_()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    # CUDA + NCCL decision: convert_sync_batchnorm on the requested layers only (needs no process group)
    converted = apply_sync_bn(_syncbn_model(), True, torch.device('cuda', 0), logging.getLogger('t'))
    assert isinstance(converted.backbone.bn, nn.SyncBatchNorm) and isinstance(converted.neck.bn, nn.SyncBatchNorm)
    assert type(converted.head_bn) is nn.BatchNorm1d
    # CPU multi-process: per-rank BatchNorm, same state dict, one warning
    caplog.set_level(logging.INFO, logger='t')
    reverted = apply_sync_bn(model, True, torch.device('cpu'), logging.getLogger('t'))
    assert isinstance(reverted.neck.bn, BatchNormXd) and type(reverted.backbone.bn) is nn.BatchNorm2d
    assert not any(isinstance(m, nn.SyncBatchNorm) for m in reverted.modules())
    for key, value in reverted.state_dict().items():
        assert torch.equal(value, state[key]), key
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and 'SyncBN requested' in warnings[0].getMessage()
    x = torch.randn(2, 4, 3, 3)
    torch.testing.assert_close(reverted.neck.bn(x), F.batch_norm(
        x, state['neck.bn.running_mean'].clone(), state['neck.bn.running_var'].clone(), state['neck.bn.weight'],
        state['neck.bn.bias'], training=True))
    assert sync_bn_whole_model(Config(dict(sync_bn='torch'))) and not sync_bn_whole_model(Config(dict()))
    with pytest.raises(ConfigError, match="config 'sync_bn' must be 'torch'"):
        sync_bn_whole_model(Config(dict(sync_bn='mmcv')))


# -- 6. multi-label training and testing (BCE head, mAP) ----------------------------------------------------
MULTI_LABELS = [[0, 2], [1], [2], [0, 1], [1, 2], [0]]


def _multi_label_frames(root):
    import cv2
    import numpy as np
    lines = []
    for i, labels in enumerate(MULTI_LABELS):
        folder = root / f'v{i}'
        folder.mkdir(parents=True)
        for t in range(1, 4):
            image = np.full((8, 8, 3), 40 * (i % 3) + 10 * t, np.uint8)
            cv2.imwrite(str(folder / f'img_{t:05d}.jpg'), image)
        lines.append(f'v{i} 3 ' + ' '.join(map(str, labels)))
    (root / 'list.txt').write_text('\n'.join(lines) + '\n')
    return str(root / 'list.txt')


def _multi_label_dataset_cfg(ann_file, root, test_mode):
    return dict(type='RawFramesDataset', ann_file=ann_file, img_prefix=str(root), multi_class=True, num_classes=3,
                img_norm_cfg=dict(mean=[128, 128, 128], std=[64, 64, 64], to_rgb=True), num_segments=2,
                new_length=1, new_step=1, random_shift=not test_mode, modality='RGB', image_tmpl='img_{:05d}.jpg',
                img_scale=8, input_size=8, div_255=False, flip_ratio=0, resize_keep_ratio=True, oversample=None,
                test_mode=test_mode)


def test_multi_label_trains_with_bce_validates_and_tests_with_map(tmp_path, capsys):
    import numpy as np
    from mmaction.apis import test_recognizer, train_network
    from mmaction.datasets import build_dataset
    from mmaction.evaluation.accuracy import mean_average_precision
    from mmaction.models import build_recognizer
    from mmaction.utils.config import Config
    ann_file = _multi_label_frames(tmp_path / 'frames')
    set_random_seed(0)
    model_cfg = _mm2_model_cfg(multi_label=True)
    data = dict(videos_per_gpu=3, workers_per_gpu=0,
                train=_multi_label_dataset_cfg(ann_file, tmp_path / 'frames', False),
                val=_multi_label_dataset_cfg(ann_file, tmp_path / 'frames', True),
                test=_multi_label_dataset_cfg(ann_file, tmp_path / 'frames', True))
    cfg = Config(dict(model=model_cfg, data=data, optimizer=dict(type='SGD', lr=0.05), total_epochs=2,
                      work_dir=str(tmp_path / 'work'), log_config=dict(interval=1), seed=0))
    dataset = build_dataset(cfg.data.train)
    assert torch.equal(dataset[0]['gt_label'], torch.tensor([1., 0., 1.]))  # multi-hot target
    model = build_recognizer(model_cfg)
    seen = []
    model.cls_head.loss_cls.register_forward_hook(lambda m, args, out: seen.append(
        (out.detach(), F.binary_cross_entropy_with_logits(args[0].detach(), args[1]))))
    runner = train_network(model, dataset, cfg, validate=True, device=torch.device('cpu'))
    assert len(seen) == 4 and all(torch.allclose(a, b) for a, b in seen)  # BCE on the multi-hot labels
    import json
    (log,) = (tmp_path / 'work').glob('*.log.json')
    val = [json.loads(line) for line in log.read_text().splitlines() if '"val"' in line]
    assert len(val) == 2 and 0.0 <= val[-1]['mAP'] <= 1.0 and 'top1 acc' not in val[-1]
    # the test tool's path: mAP of the per-video scores against the multi-hot list
    outputs, metrics = test_recognizer(cfg, str(tmp_path / 'work' / 'latest.pth'), out=None, progress=False)
    targets = np.zeros((6, 3))
    for i, labels in enumerate(MULTI_LABELS):
        targets[i, labels] = 1
    scores = np.concatenate(outputs)
    assert metrics['mean_average_precision'] == pytest.approx(mean_average_precision(scores, targets))
    assert val[-1]['mAP'] == pytest.approx(metrics['mean_average_precision'], abs=1e-6)
    assert f"mean_average_precision = {metrics['mean_average_precision'] * 100:.02f}" in capsys.readouterr().out
    assert runner.epoch == 2


# -- 7. warm-up + cosine, per iteration and per parameter group ----------------------------------------------
def test_linear_warmup_then_cosine_per_iteration_and_group(tmp_path):
    """mmcv semantics: the linear warm-up factor multiplies the cosine value of the same iteration; every group
    (e.g. layer-decay groups) follows its own base lr. Checked on the lr the optimizer really stepped with."""
    lr_config = dict(policy='CosineAnnealing', by_epoch=False, min_lr_ratio=0.1, warmup='linear', warmup_iters=4,
                     warmup_ratio=0.2)
    model = LinearRecognizer()
    optimizer = torch.optim.SGD([{'params': [model.fc.weight], 'lr': 0.1},
                                 {'params': [model.fc.bias], 'lr': 0.1 * 0.5}], lr=0.1)
    runner = Runner(model, optimizer, build_lr_scheduler(optimizer, lr_config), str(tmp_path), max_epochs=3,
                    meta=dict(config=''), log_interval=100, accumulative_counts=2)
    stepped = []
    optimizer.register_step_pre_hook(lambda opt, a, k: stepped.append([g['lr'] for g in opt.param_groups]) and None)
    runner.run([_loader(2, TinyDataset(size=12, noise=0.0))], [('train', 1)])  # 6 batches = 3 steps per epoch
    total = 9
    assert len(stepped) == total
    for step, lrs in enumerate(stepped):
        for base, lr in zip((0.1, 0.05), lrs):
            target = 0.1 * base
            cosine = target + 0.5 * (base - target) * (1 + math.cos(math.pi * step / total))
            warm = 1 - (1 - step / 4) * (1 - 0.2) if step < 4 else 1.0
            assert lr == pytest.approx(cosine * warm, rel=1e-12), (step, base)
    assert stepped[0] == pytest.approx([0.1 * 0.2, 0.05 * 0.2])


def test_mmaction2_optim_wrapper_drives_the_optimizer(tmp_path):
    from mmaction.apis import train_network
    from mmaction.utils.config import Config
    cfg = Config(dict(data=dict(videos_per_gpu=2, workers_per_gpu=0), total_epochs=1, work_dir=str(tmp_path),
                      optim_wrapper=dict(optimizer=dict(type='AdamW', lr=0.01, weight_decay=0.05),
                                         paramwise_cfg=dict(bias_decay_mult=0.0), clip_grad=dict(max_norm=1.0),
                                         accumulative_counts=3)))
    runner = train_network(LinearRecognizer(), TinyDataset(size=6), cfg, device=torch.device('cpu'))
    optimizer = runner.optimizer
    assert isinstance(optimizer, torch.optim.AdamW)
    assert sorted(g['weight_decay'] for g in optimizer.param_groups) == [0.0, 0.05]  # bias without decay
    assert runner.grad_clip == dict(max_norm=1.0) and runner.accumulative_counts == 3
    assert optimizer.state[runner.model.fc.weight]['step'] == 1  # 3 batches, one step
    with pytest.raises(ConfigError, match="both 'optimizer' and 'optim_wrapper.optimizer'"):
        train_network(LinearRecognizer(), TinyDataset(size=6), Config(dict(cfg, optimizer=dict(type='SGD', lr=1))),
                      device=torch.device('cpu'))


@pytest.mark.cuda
def test_recipes_on_cuda_nccl(tmp_path):
    """SyncBN really converted (model and EMA copy) under NCCL, with DDP, mixup/cutmix, EMA and accumulation, fp32
    and AMP: the GPU side of the decisions tested above (one GPU, world size 1)."""
    import os
    import subprocess
    import sys
    from mmaction.apis.cli import free_port
    script = os.path.join(os.path.dirname(__file__), '_recipes_cuda_check.py')
    env = dict(os.environ, PORT=str(free_port()), WORK_DIR=str(tmp_path), CUDA_VISIBLE_DEVICES=os.environ.get(
        'CUDA_VISIBLE_DEVICES', '0'))
    out = subprocess.run([sys.executable, script], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "sync=['backbone.conv.bn', 'backbone.flagged.bn']" in out.stdout and out.stdout.count('ema_steps=4') == 2
