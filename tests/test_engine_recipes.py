"""Training recipes of the transformer configs: per-parameter optimizer rules, layer-wise lr decay, EMA,
mixup/cutmix, repeated augmentation."""
import math

import numpy as np

import pytest
import torch
import torch.nn as nn

import mmaction.models  # noqa: F401  (registration)
from mmaction.engine.optimizer import build_optimizer
from mmaction.registry import MODELS, ConfigError


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.dw = nn.Conv2d(4, 4, 3, groups=4)
        self.bn = nn.BatchNorm2d(4)
        self.ln = nn.LayerNorm(4)
        self.pos_embed = nn.Parameter(torch.zeros(1, 4))
        self.head = nn.Linear(4, 2)
        self.frozen = nn.Linear(2, 2)
        self.frozen.requires_grad_(False)


def _lr_wd_by_param(optimizer, model):
    names = {id(p): n for n, p in model.named_parameters()}
    return {names[id(p)]: (g['lr'], g['weight_decay']) for g in optimizer.param_groups for p in g['params']}


def test_paramwise_cfg_equals_mmengine_default_constructor():
    from mmengine.optim import DefaultOptimWrapperConstructor
    paramwise = dict(norm_decay_mult=0.0, bias_decay_mult=0.0, dwconv_decay_mult=0.5, bias_lr_mult=2.0,
                     custom_keys={'pos_embed': dict(decay_mult=0.0), 'head': dict(lr_mult=10.0)})
    model = TinyNet()
    ours = _lr_wd_by_param(build_optimizer(model, dict(type='AdamW', lr=0.1, weight_decay=0.05,
                                                       paramwise_cfg=paramwise)), model)
    reference = DefaultOptimWrapperConstructor(
        dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=0.1, weight_decay=0.05)), paramwise)(model)
    theirs = _lr_wd_by_param(reference.optimizer, model)
    assert ours == {name: value for name, value in theirs.items() if not name.startswith('frozen')}
    # the rules, spelled out: norms and biases without decay, head at 10x lr, dw conv half decay, biases 2x lr
    assert ours['bn.weight'] == (0.1, 0.0) and ours['ln.bias'] == (0.1, 0.0)
    assert ours['conv.bias'] == (0.2, 0.0) and ours['conv.weight'] == (0.1, 0.05)
    assert ours['dw.weight'] == (0.1, 0.025) and ours['pos_embed'] == (0.1, 0.0)
    assert ours['head.weight'] == (1.0, 0.05) and ours['head.bias'] == (1.0, 0.05)
    assert 'frozen.weight' not in ours


def test_paramwise_cfg_unknown_key_names_it():
    with pytest.raises(ConfigError, match=r"unknown keys \['norm_decay'\]"):
        build_optimizer(TinyNet(), dict(type='SGD', lr=0.1, paramwise_cfg=dict(norm_decay=0.0)))


class WithBackbone(nn.Module):
    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone
        self.cls_head = nn.Linear(backbone.embed_dims, 3)


def test_layer_wise_lr_decay_matches_the_formula():
    vit = MODELS.build(dict(type='VisionTransformer', img_size=32, patch_size=16, embed_dims=8, depth=3,
                            num_heads=2, num_frames=4, use_learnable_pos_emb=True))
    model = WithBackbone(vit)
    optimizer = build_optimizer(model, dict(type='AdamW', lr=1e-3, weight_decay=0.05),
                                paramwise_cfg=dict(num_layers=3, decay_rate=0.5, decay_type='layer_wise'),
                                constructor='LearningRateDecayOptimizerConstructor')
    got = _lr_wd_by_param(optimizer, model)
    # layer 0; (1, N, C) is not 1-d, so mmaction2's rule decays it
    assert got['backbone.pos_embed'] == pytest.approx((1e-3 * 0.5 ** 4, 0.05))
    assert got['backbone.patch_embed.projection.weight'] == pytest.approx((1e-3 * 0.5 ** 4, 0.05))
    assert got['backbone.blocks.0.attn.qkv.weight'] == pytest.approx((1e-3 * 0.5 ** 3, 0.05))
    assert got['backbone.blocks.2.mlp.layers.1.bias'] == pytest.approx((1e-3 * 0.5 ** 1, 0.0))
    assert got['cls_head.weight'] == pytest.approx((1e-3, 0.05))  # num_layers + 1 -> scale 0.5 ** 0
    assert len(got) == len(list(model.parameters()))


def test_layer_decay_refuses_other_backbones():
    model = WithBackbone(MODELS.build(dict(type='VisionTransformer', img_size=32, patch_size=16, embed_dims=8,
                                           depth=1, num_heads=2, num_frames=4)))
    model.backbone = nn.Conv2d(1, 1, 1)
    with pytest.raises(ConfigError, match='supports VisionTransformer and MViT backbones, not Conv2d'):
        build_optimizer(model, dict(type='AdamW', lr=1e-3), paramwise_cfg=dict(num_layers=1, decay_rate=0.9),
                        constructor='LearningRateDecayOptimizerConstructor')


def test_mixup_mixes_images_and_labels_with_one_lambda():
    torch.manual_seed(0)
    # image k is the constant k, so a mixed image equals its soft label dotted with the class values
    imgs = torch.arange(4, dtype=torch.float32).reshape(4, 1, 1, 1).expand(4, 3, 2, 2).clone()
    mixed, labels = MODELS.build(dict(type='MixupBlending', num_classes=4, alpha=0.4))(imgs, torch.arange(4))
    expected = labels @ torch.arange(4, dtype=torch.float32)
    assert torch.allclose(mixed, expected.reshape(4, 1, 1, 1).expand_as(mixed), atol=1e-6)
    assert torch.allclose(labels.sum(1), torch.ones(4))
    lams = {round(float(labels[i, i]), 6) for i in range(4) if labels[i].count_nonzero() == 2}
    assert len(lams) <= 1 and labels.count_nonzero(1).max() <= 2  # one lambda, at most one partner


def test_cutmix_label_weight_is_the_kept_area():
    torch.manual_seed(3)
    imgs = torch.zeros(2, 3, 2, 10, 10)
    imgs[1] = 1.0
    out, labels = MODELS.build(dict(type='CutmixBlending', num_classes=2, alpha=1.0))(imgs.clone(),
                                                                                     torch.tensor([0, 1]))
    for i in range(2):
        pasted_from_other = (out[i, 0, 0] != imgs[i, 0, 0]).float().mean()
        partner = 1 - i
        if labels[i, partner] > 0:  # paired with the other sample
            assert labels[i, partner] == pytest.approx(float(pasted_from_other), abs=1e-6)
        assert labels[i].sum() == pytest.approx(1.0)
    # the box is the same for every frame and channel
    assert torch.equal(out[:, :, 0], out[:, :, 1]) and torch.equal(out[:, 0], out[:, 2])


def test_random_batch_augment_probabilities_and_errors():
    aug = MODELS.build(dict(type='RandomBatchAugment', augments=[dict(type='MixupBlending', num_classes=3)],
                            probs=[0.0]))
    imgs = torch.randn(4, 2)
    out, labels = aug(imgs, torch.tensor([0, 1, 2, 0]))
    assert torch.equal(out, imgs) and torch.equal(labels, torch.eye(3)[[0, 1, 2, 0]])
    with pytest.raises(ConfigError, match='sum to 1.2'):
        MODELS.build(dict(type='RandomBatchAugment', augments=[dict(type='MixupBlending', num_classes=3),
                                                               dict(type='CutmixBlending', num_classes=3)],
                          probs=[0.6, 0.6]))


def test_ema_update_arithmetic_and_buffers():
    from mmaction.engine.ema import ModelEMA
    model = nn.BatchNorm1d(2)
    with torch.no_grad():
        model.weight.fill_(1.0)
    ema = ModelEMA(model, momentum=0.1, interval=2)
    ema.update(model)  # step 0 copies
    assert torch.equal(ema.module.weight, torch.ones(2))
    values = [3.0, 5.0, 7.0]
    for value in values:
        with torch.no_grad():
            model.weight.fill_(value)
            model.running_mean.fill_(value)
        ema.update(model)
    # steps 1 and 3 are skipped by interval=2; step 2 averages 5.0 in: 0.9 * 1 + 0.1 * 5 = 1.4
    assert torch.allclose(ema.module.weight, torch.full((2,), 1.4))
    assert torch.equal(ema.module.running_mean, torch.full((2,), 7.0))  # buffers follow the model
    restored = ModelEMA(model, momentum=0.1, interval=2)
    restored.load_state_dict(ema.state_dict())
    assert restored.steps == 4 and torch.allclose(restored.module.weight, ema.module.weight)
    with pytest.raises(ValueError, match='weight of the NEW value'):
        ModelEMA(model, momentum=0.999 + 0.01)


def test_repeat_aug_sampler_spreads_copies_over_ranks():
    from mmaction.datasets.builder import RepeatAugSampler
    data = list(range(10))
    ranks = [RepeatAugSampler(data, num_repeats=3, seed=1, num_replicas=2, rank=r) for r in range(2)]
    seen = [list(s) for s in ranks]
    assert [len(s) for s in seen] == [5, 5] and len(ranks[0]) == 5
    merged = [i for pair in zip(*seen) for i in pair]  # dealt round robin: rank0, rank1, rank0, ...
    # each index occupies num_repeats consecutive positions of the dealt order
    assert all(len(set(merged[k:k + 3])) == 1 for k in range(0, 9, 3))
    ranks[0].set_epoch(1)
    assert list(ranks[0]) != seen[0]
    assert list(RepeatAugSampler(data, num_repeats=2, shuffle=False, num_replicas=1, rank=0)) == [0, 0, 1, 1, 2, 2, 3,
                                                                                                3, 4, 4]


def test_build_dataloader_takes_the_repeat_aug_sampler():
    from mmaction.datasets.builder import RepeatAugSampler, build_dataloader
    loader = build_dataloader([{'x': torch.tensor(i)} for i in range(6)], 2, 0, seed=0,
                              sampler_cfg=dict(type='RepeatAugSampler', num_repeats=2))
    assert isinstance(loader.sampler, RepeatAugSampler) and len(loader) == 3
    with pytest.raises(ConfigError, match="only 'RepeatAugSampler'"):
        build_dataloader([1], 1, 0, sampler_cfg=dict(type='InfiniteSampler'))


@pytest.mark.parametrize('cfg', [
    dict(type='ResNet_R3D', depth=10, block_type='2.5d', channel_multiplier=0.125, bn_eval=False, bn_frozen=False),
    dict(type='ResNet_R3D', depth=26, block_type='3d-sep', channel_multiplier=0.125, bn_eval=False,
         bn_frozen=False),
    dict(type='C3D', base_channels=4, clip_shape=(4, 16, 16), fc_channels=8, dropout_ratio=0.0),
    dict(type='InceptionV1_I3D', channel_multiplier=0.0625, bn_eval=False)], ids=['r2plus1d', 'ircsn', 'c3d',
                                                                                 'inception'])
def test_v0_cnn_backbones_accept_with_cp_with_equal_gradients(cfg):
    from mmaction.models import build_backbone
    torch.manual_seed(0)
    plain = build_backbone(cfg)
    plain.init_weights()
    checkpointed = build_backbone(dict(cfg, with_cp=True))
    checkpointed.load_state_dict(plain.state_dict())
    size = (1, 3, 4, 16, 16) if cfg['type'] == 'C3D' else (1, 3, 8, 32, 32)
    x = torch.randn(size)
    grads = []
    for model in (plain, checkpointed):
        model.eval()  # fixed BN statistics: the recomputed forward must give the same gradients
        model(x).square().sum().backward()
        grads.append([p.grad.clone() for p in model.parameters()])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_mean_average_precision_hand_computed():
    from mmaction.evaluation.accuracy import mean_average_precision
    scores = np.array([[0.9, 0.1], [0.8, 0.4], [0.7, 0.4], [0.1, 0.3]])
    targets = np.array([[1, 0], [0, 1], [1, 1], [0, 0]])
    # class 0: ranks 1(+) 2(-) 3(+) -> AP = 0.5 * 1 + 0.5 * 2/3 = 0.8333
    # class 1: scores 0.4 (tie of two positives) first -> one threshold, precision 2/2, recall 1 -> AP = 1
    assert mean_average_precision(scores, targets) == pytest.approx((0.5 + 1 / 3 + 1.0) / 2)
    # a class without positives is left out of the mean (as mmaction2/sklearn give NaN for it)
    assert mean_average_precision(scores[:, :1], targets[:, :1]) == pytest.approx(0.5 + 1 / 3)
    assert np.isnan(mean_average_precision(scores, np.zeros_like(targets)))
