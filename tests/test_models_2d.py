"""2D recognition models: BNInception, ResNet, ClsHead, SimpleSpatialModule, SimpleConsensus, TSN2D."""
import copy

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmaction.models import build_backbone, build_head, build_recognizer
from mmaction.models.backbones.bninception import BNInception
from mmaction.models.backbones.resnet import ResNet
from mmaction.models.necks.simple_consensus import SimpleConsensus
from mmaction.models.necks.simple_spatial_module import SimpleSpatialModule
from mmaction.registry import ConfigError
from mmaction.utils.checkpoint import save_checkpoint

# The model part of the original test_configs/TSN/ucf101/tsn_rgb_bninception.py (§4.1 of the v0 reference).
TSN_UCF101_RGB = dict(
    type='TSN2D',
    backbone=dict(type='BNInception', pretrained=None, bn_eval=False, partial_bn=True),
    spatial_temporal_module=dict(type='SimpleSpatialModule', spatial_type='avg', spatial_size=7),
    segmental_consensus=dict(type='SimpleConsensus', consensus_type='avg'),
    cls_head=dict(type='ClsHead', with_avg_pool=False, temporal_feature_size=1, spatial_feature_size=1,
                  dropout_ratio=0.8, in_channels=1024, init_std=0.001, num_classes=101))


def flow_cfg(pretrained=None):
    cfg = copy.deepcopy(TSN_UCF101_RGB)
    cfg.update(modality='Flow', in_channels=10)
    cfg['backbone']['pretrained'] = pretrained
    cfg['cls_head'].update(dropout_ratio=0.7, init_std=0.01)
    return cfg


def tiny_cfg(num_classes=5, spatial_size=1, dropout_ratio=0.0, **extra):
    """TSN2D on a ResNet-18 of width 8: 32x32 input -> 64x1x1 features."""
    cfg = dict(
        type='TSN2D',
        backbone=dict(type='ResNet', depth=18, base_channels=8, out_indices=(3,), bn_eval=False),
        spatial_temporal_module=dict(type='SimpleSpatialModule', spatial_type='avg', spatial_size=spatial_size),
        segmental_consensus=dict(type='SimpleConsensus', consensus_type='avg'),
        cls_head=dict(type='ClsHead', with_avg_pool=False, temporal_feature_size=1, spatial_feature_size=1,
                      dropout_ratio=dropout_ratio, in_channels=64, num_classes=num_classes))
    cfg.update(extra)
    return cfg


def n_params(module):
    return sum(p.numel() for p in module.parameters())


# ---------------------------------------------------------------- BNInception
def test_bninception_output_224():
    model = BNInception()
    model.init_weights()
    model.eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 224, 224))
    assert out.shape == (1, 1024, 7, 7)
    assert model.feat_dim == 1024


def test_bninception_parameter_count():
    model = BNInception()
    # BN-Inception with its 1000-way ImageNet classifier has 11,295,240 parameters; the fc is 1024*1000 + 1000.
    assert n_params(model) == 11_295_240 - (1024 * 1000 + 1000) == 10_270_240


def test_bninception_layout():
    sd = BNInception().state_dict()
    # Caffe-converted layout: conv biases, BN buffers, 3c/4e without 1x1 / pool_proj.
    expected = {
        'conv1_7x7_s2.weight': (64, 3, 7, 7), 'conv1_7x7_s2.bias': (64,),
        'conv2_3x3_reduce.weight': (64, 64, 1, 1), 'conv2_3x3.weight': (192, 64, 3, 3),
        'inception_3a_pool_proj.weight': (32, 192, 1, 1), 'inception_3b_3x3.weight': (96, 64, 3, 3),
        'inception_3c_3x3.weight': (160, 128, 3, 3), 'inception_3c_double_3x3_2_bn.running_var': (96,),
        'inception_4a_1x1.weight': (224, 576, 1, 1), 'inception_4d_double_3x3_reduce.weight': (160, 608, 1, 1),
        'inception_4e_double_3x3_2.weight': (256, 256, 3, 3), 'inception_5a_1x1.weight': (352, 1056, 1, 1),
        'inception_5b_double_3x3_1.bias': (224,), 'inception_5b_pool_proj_bn.running_mean': (128,),
    }
    for key, shape in expected.items():
        assert tuple(sd[key].shape) == shape, key
    for absent in ('inception_3c_1x1.weight', 'inception_3c_pool_proj.weight', 'inception_4e_1x1.weight',
                   'inception_4e_pool_proj.weight'):
        assert absent not in sd
    blocks = ('3a', '3b', '3c', '4a', '4b', '4c', '4d', '4e', '5a', '5b')
    n_convs = 3 + sum(5 if b in ('3c', '4e') else 7 for b in blocks)
    assert sum(k.endswith('.bias') and '_bn' not in k for k in sd) == n_convs == 69
    bn = BNInception().conv1_7x7_s2_bn
    assert bn.eps == 1e-5 and bn.momentum == 0.9
    assert next(iter(sd)) == 'conv1_7x7_s2.weight'


def test_bninception_small_input_and_pools():
    model = BNInception().eval()
    with torch.no_grad():
        assert model(torch.randn(2, 3, 96, 96)).shape == (2, 1024, 3, 3)
    # Caffe (ceil) pooling: 112 -> 56, while floor pooling without padding would give 55.
    assert model.pool1_3x3_s2.ceil_mode
    assert model.pool1_3x3_s2(torch.zeros(1, 1, 112, 112)).shape[-1] == 56
    assert isinstance(model.inception_5b_pool, nn.MaxPool2d)
    assert isinstance(model.inception_4d_pool, nn.AvgPool2d) and model.inception_4d_pool.count_include_pad


def _bn_state(model):
    return {name: (m.training, m.weight.requires_grad) for name, m in model.named_modules()
            if isinstance(m, nn.BatchNorm2d)}


def test_bninception_partial_bn():
    model = BNInception(partial_bn=True)
    model.init_weights()
    model.train()
    state = _bn_state(model)
    assert state.pop('conv1_7x7_s2_bn') == (True, True)
    assert len(state) == 68 and all(v == (False, False) for v in state.values())
    # Only conv1's BN updates its running statistics in a training forward.
    before = {k: v.clone() for k, v in model.state_dict().items() if 'running_mean' in k}
    model(torch.randn(2, 3, 64, 64))
    after = model.state_dict()
    changed = sorted(k for k in before if not torch.equal(before[k], after[k]))
    assert changed == ['conv1_7x7_s2_bn.running_mean']
    # Convolutions keep training.
    assert model.inception_5b_1x1.weight.requires_grad


def test_bninception_bn_eval_and_frozen():
    model = BNInception(bn_eval=True, bn_frozen=False).train()
    assert all(v == (False, True) for v in _bn_state(model).values())
    model = BNInception(bn_eval=True, bn_frozen=True).train()
    assert all(v == (False, False) for v in _bn_state(model).values())
    model = BNInception().train()
    assert all(v == (True, True) for v in _bn_state(model).values())


# ---------------------------------------------------------------- ResNet
@pytest.mark.parametrize('depth,with_fc', [(18, 11_689_512), (34, 21_797_672), (50, 25_557_032),
                                           (101, 44_549_160), (152, 60_192_808)])
def test_resnet_parameter_counts_match_torchvision(depth, with_fc):
    model = ResNet(depth)
    fc = model.feat_dim * 1000 + 1000
    assert n_params(model) == with_fc - fc
    if depth == 50:
        assert n_params(model) == 23_508_032


@pytest.mark.parametrize('depth,expansion', [(18, 1), (50, 4)])
def test_resnet_stage_shapes(depth, expansion):
    model = ResNet(depth, base_channels=16).eval()
    with torch.no_grad():
        outs = model(torch.randn(2, 3, 64, 64))
    assert isinstance(outs, tuple) and len(outs) == 4
    for i, out in enumerate(outs):
        assert out.shape == (2, 16 * 2 ** i * expansion, 16 // 2 ** i, 16 // 2 ** i)
    single = ResNet(depth, base_channels=16, out_indices=(2,)).eval()
    with torch.no_grad():
        assert single(torch.randn(1, 3, 64, 64)).shape == (1, 64 * expansion, 4, 4)


def test_resnet_dilation_and_caffe_style():
    model = ResNet(50, base_channels=8, strides=(1, 2, 2, 1), dilations=(1, 1, 1, 2), out_indices=(3,)).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 64, 64)).shape == (1, 256, 4, 4)  # output stride 16
    assert model.layer4[0].conv2.dilation == (2, 2) and model.layer4[0].conv2.padding == (2, 2)
    caffe = ResNet(50, base_channels=8, style='caffe')
    assert caffe.layer2[0].conv1.stride == (2, 2) and caffe.layer2[0].conv2.stride == (1, 1)
    assert ResNet(50, base_channels=8).layer2[0].conv2.stride == (2, 2)


def test_resnet_torchvision_key_names():
    sd = ResNet(50).state_dict()
    for key, shape in {'conv1.weight': (64, 3, 7, 7), 'bn1.running_var': (64,),
                       'layer1.0.downsample.0.weight': (256, 64, 1, 1), 'layer1.0.downsample.1.weight': (256,),
                       'layer3.5.conv3.weight': (1024, 256, 1, 1), 'layer4.2.bn3.bias': (2048,)}.items():
        assert tuple(sd[key].shape) == shape, key
    assert 'layer1.0.downsample.0.weight' not in ResNet(18).state_dict()
    assert 'layer2.0.downsample.1.running_mean' in ResNet(18).state_dict()


def test_resnet_frozen_stages_and_bn_modes():
    model = ResNet(18, base_channels=8, frozen_stages=1, bn_eval=False)
    model.train()
    assert not model.conv1.weight.requires_grad and not model.bn1.training
    assert not any(p.requires_grad for p in model.layer1.parameters()) and not model.layer1.training
    assert all(p.requires_grad for p in model.layer2.parameters()) and model.layer2[0].bn1.training
    # bn_eval=True (the default): every BN in eval mode, affine parameters still trained.
    model = ResNet(18, base_channels=8).train()
    assert all(not m.training and m.weight.requires_grad for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    model = ResNet(18, base_channels=8, bn_frozen=True).train()
    assert not any(m.weight.requires_grad for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    # partial_bn acts on the BNs of the frozen stages only (original behaviour).
    model = ResNet(18, base_channels=8, bn_eval=False, partial_bn=True, frozen_stages=2).train()
    assert not model.layer2[1].bn2.training and not model.layer2[1].bn2.weight.requires_grad
    assert model.layer3[0].bn1.training and model.layer3[0].bn1.weight.requires_grad


def test_resnet_with_cp_same_output_and_grads():
    torch.manual_seed(0)
    plain = ResNet(18, base_channels=8, out_indices=(3,), bn_eval=True)
    ckpt = ResNet(18, base_channels=8, out_indices=(3,), bn_eval=True, with_cp=True)
    ckpt.load_state_dict(plain.state_dict())
    plain.train()
    ckpt.train()
    x = torch.randn(2, 3, 32, 32)
    a, b = plain(x.clone().requires_grad_()), ckpt(x.clone().requires_grad_())
    assert torch.allclose(a, b, atol=1e-6)
    a.sum().backward()
    b.sum().backward()
    assert torch.allclose(plain.layer2[0].conv2.weight.grad, ckpt.layer2[0].conv2.weight.grad, atol=1e-5)
    assert plain.layer2[0].conv2.weight.grad.abs().sum() > 0


def test_resnet_bad_args():
    with pytest.raises(KeyError, match='invalid depth 26'):
        ResNet(26)
    with pytest.raises(ValueError, match='out_indices'):
        ResNet(18, num_stages=3, strides=(1, 2, 2), dilations=(1, 1, 1))
    with pytest.raises(TypeError, match='pretrained must be a str or None'):
        ResNet(18, pretrained=3).init_weights()


def test_resnet_pretrained_from_file(tmp_path, caplog):
    src = ResNet(18, base_channels=8)
    src.init_weights()
    state = dict(src.state_dict())
    state['fc.weight'] = torch.zeros(10, 64)  # torchvision files carry the classifier: reported, not loaded
    path = str(tmp_path / 'r18.pth')
    torch.save({'state_dict': state}, path)
    dst = ResNet(18, base_channels=8, pretrained=path)
    with caplog.at_level('WARNING', logger='mmaction'):
        dst.init_weights()
    for key, value in src.state_dict().items():
        assert torch.equal(dst.state_dict()[key], value), key
    assert 'fc.weight' in caplog.text


# ---------------------------------------------------------------- necks and head
def test_simple_spatial_module_and_consensus():
    x = torch.arange(2 * 3 * 7 * 7, dtype=torch.float32).reshape(2, 3, 7, 7)
    out = SimpleSpatialModule(spatial_size=7)(x)
    assert out.shape == (2, 3, 1, 1)
    assert torch.allclose(out[..., 0, 0], x.mean(dim=(2, 3)))
    assert SimpleSpatialModule(spatial_size=7)(torch.randn(1, 4, 9, 9)).shape == (1, 4, 3, 3)
    y = torch.tensor([[[1.0], [2.0], [6.0]]])  # (B=1, S=3, 1)
    assert torch.equal(SimpleConsensus()(y), torch.tensor([[[3.0]]]))
    assert SimpleConsensus(dim=2)(torch.ones(2, 3, 4)).shape == (2, 3, 1)
    with pytest.raises(ValueError, match="consensus_type must be 'avg'"):
        SimpleConsensus('max')
    with pytest.raises(ValueError, match="spatial_type must be 'avg'"):
        SimpleSpatialModule('max')


def test_cls_head_forward_loss_and_errors():
    head = build_head(dict(type='ClsHead', with_avg_pool=True, spatial_feature_size=2, dropout_ratio=0.5,
                           in_channels=4, num_classes=3))
    head.init_weights()
    assert torch.count_nonzero(head.fc_cls.bias) == 0
    head.eval()
    x = torch.randn(5, 4, 2, 2)
    expected = head.fc_cls(x.mean(dim=(2, 3)))
    assert torch.allclose(head(x), expected, atol=1e-6)
    assert torch.allclose(head(x.unsqueeze(2)), expected, atol=1e-6)  # 5-D input, T=1
    labels = torch.tensor([0, 2, 1, 1, 0])
    loss = head.loss(expected, labels)['loss_cls']
    manual = -torch.log_softmax(expected, 1)[torch.arange(5), labels].mean()
    assert torch.allclose(loss, manual)
    with pytest.raises(ValueError, match='does not match the config'):
        head(torch.randn(5, 4, 3, 3))
    with pytest.raises(ValueError, match='expects a'):
        head(torch.randn(5, 4))
    assert build_head(dict(type='ClsHead', dropout_ratio=0)).dropout is None


def test_cls_head_fcn_conversion():
    head = build_head(dict(type='ClsHead', with_avg_pool=False, in_channels=6, num_classes=4, fcn_testing=True))
    head.init_weights()
    x = torch.randn(2, 6, 3, 5, 5)  # (N, C, T, H, W)
    class_map = head(x)
    assert class_map.shape == (2, 4, 3, 5, 5)
    # Each position is fc_cls applied to that position's feature vector.
    pos = head.fc_cls(x[:, :, 1, 2, 3])
    assert torch.allclose(class_map[:, :, 1, 2, 3], pos, atol=1e-5)
    conv = head.as_fcn_conv()
    assert conv.weight.shape == (4, 6, 1, 1, 1) and conv.weight.device == head.fc_cls.weight.device
    assert torch.allclose(conv(x), class_map, atol=1e-6)
    # Weights loaded after a first fcn forward are used (the original cached a stale conv).
    with torch.no_grad():
        head.fc_cls.bias.fill_(1.0)
    assert torch.allclose(head(x), class_map + 1.0, atol=1e-5)


# ---------------------------------------------------------------- TSN2D
def test_tsn_ucf101_rgb_and_flow_state_dicts():
    rgb = build_recognizer(TSN_UCF101_RGB)
    sd = rgb.state_dict()
    assert tuple(sd['backbone.conv1_7x7_s2.weight'].shape) == (64, 3, 7, 7)
    assert tuple(sd['backbone.inception_3c_double_3x3_2_bn.running_var'].shape) == (96,)
    assert tuple(sd['cls_head.fc_cls.weight'].shape) == (101, 1024)
    assert tuple(sd['cls_head.fc_cls.bias'].shape) == (101,)
    assert all(k.startswith(('backbone.', 'cls_head.')) for k in sd)  # pooling/consensus carry no weights
    assert rgb.cls_head.fc_cls.weight.std().item() == pytest.approx(0.001, rel=0.1)  # init_std
    flow = build_recognizer(flow_cfg())
    fsd = flow.state_dict()
    assert tuple(fsd['backbone.conv1_7x7_s2.weight'].shape) == (64, 10, 7, 7)
    assert tuple(fsd['backbone.conv1_7x7_s2.bias'].shape) == (64,)
    assert list(fsd) == list(sd)  # same keys, same order: released checkpoints load by name
    for name in ('backbone', 'spatial_temporal_module', 'segmental_consensus', 'cls_head'):
        assert isinstance(getattr(flow, name), nn.Module)


def test_tsn_flow_conv1_rebuilt_from_pretrained(tmp_path):
    torch.manual_seed(0)
    weight, bias = torch.randn(64, 3, 7, 7), torch.randn(64)
    path = str(tmp_path / 'bninception_partial.pth')
    torch.save({'conv1_7x7_s2.weight': weight, 'conv1_7x7_s2.bias': bias}, path)
    model = build_recognizer(flow_cfg(pretrained=path))
    conv = model.backbone.conv1_7x7_s2
    assert conv.weight.shape == (64, 10, 7, 7) and conv.in_channels == 10
    mean = weight.mean(dim=1)
    for c in range(10):
        assert torch.allclose(conv.weight[:, c], mean, atol=1e-6)
    assert torch.equal(conv.bias.data, bias)
    assert conv.stride == (2, 2) and conv.padding == (3, 3)


def test_tsn_rgbdiff_resnet_conv1_without_bias():
    cfg = tiny_cfg(modality='RGBDiff', in_channels=15)
    model = build_recognizer(cfg)
    assert model.backbone.conv1.weight.shape == (8, 15, 7, 7) and model.backbone.conv1.bias is None
    model.eval()
    out = model(num_modalities=torch.tensor([[1]]), img_meta=[{}], return_loss=False,
                img_group_0=torch.randn(1, 10, 3, 32, 32))  # 2 segments x 5 frames
    assert out.shape == (1, 5)


def _manual_scores(model, img_group):
    """Reference TSN computation, written out independently of TSN2D."""
    b, m, c, h, w = img_group.shape
    feats = model.backbone(img_group.reshape(-1, model.in_channels, h, w))  # (B*S, 64, 1, 1)
    feats = feats.mean(dim=(2, 3)).reshape(b, -1, feats.shape[1]).mean(dim=1)  # (B, 64)
    return model.cls_head.fc_cls(feats)


def test_tsn2d_train_loss_matches_manual():
    torch.manual_seed(0)
    model = build_recognizer(tiny_cfg())
    model.train()
    imgs = torch.randn(2, 3, 3, 32, 32)  # B=2 videos, 3 segments
    labels = torch.tensor([[1], [4]])
    losses = model(num_modalities=torch.tensor([[1], [1]]), img_meta=[{}, {}], img_group_0=imgs, gt_label=labels)
    assert set(losses) == {'loss_cls'}
    # bn_eval=False: BN uses batch statistics over all 6 snippets, as the manual path does in train mode.
    expected = F.cross_entropy(_manual_scores(model, imgs), labels.reshape(-1))
    assert torch.allclose(losses['loss_cls'], expected, atol=1e-5)
    losses['loss_cls'].backward()
    assert model.cls_head.fc_cls.weight.grad is not None and model.backbone.conv1.weight.grad.abs().sum() > 0


def test_tsn2d_batch_of_one_label():
    model = build_recognizer(tiny_cfg()).train()
    losses = model(num_modalities=torch.tensor([[1]]), img_meta=[{}], img_group_0=torch.randn(1, 3, 3, 32, 32),
                   gt_label=torch.tensor([[2]]))
    assert losses['loss_cls'].dim() == 0 and torch.isfinite(losses['loss_cls'])
    with pytest.raises(ValueError, match='gt_label has 2 entries'):
        model(num_modalities=1, img_meta=None, img_group_0=torch.randn(1, 3, 3, 32, 32),
              gt_label=torch.tensor([[2], [1]]))


def test_tsn2d_test_mode_averages_segments_and_crops():
    torch.manual_seed(0)
    model = build_recognizer(tiny_cfg(dropout_ratio=0.8)).eval()  # dropout inactive in eval
    imgs = torch.randn(2, 6, 3, 32, 32)  # 2 crops x 3 segments per video
    with torch.no_grad():
        out = model(num_modalities=torch.tensor([[1], [1]]), img_meta=[{}, {}], return_loss=False, img_group_0=imgs)
        expected = _manual_scores(model, imgs).numpy()
        alone = model(return_loss=False, img_group_0=imgs[1:])
    assert isinstance(out, np.ndarray) and out.dtype == np.float32 and out.shape == (2, 5)
    np.testing.assert_allclose(out, expected, atol=1e-5)
    np.testing.assert_allclose(out[1:], alone, atol=1e-5)  # videos of a batch do not mix
    # The score is the mean over snippets of the feature, so permuting snippets changes nothing.
    with torch.no_grad():
        permuted = model(return_loss=False, img_group_0=imgs[:, [5, 3, 1, 0, 2, 4]])
    np.testing.assert_allclose(permuted, out, atol=1e-5)


def test_tsn2d_fcn_testing():
    torch.manual_seed(0)
    cfg = tiny_cfg(fcn_testing=True)
    cfg['cls_head']['fcn_testing'] = True
    model = build_recognizer(cfg).eval()
    imgs = torch.randn(2, 4, 3, 64, 64)  # 64x64 -> 2x2 feature maps
    with torch.no_grad():
        out = model(return_loss=False, img_group_0=imgs)
        feats = model.backbone(imgs.reshape(-1, 3, 64, 64))  # (8, 64, 2, 2)
        logits = model.cls_head.fc_cls(feats.mean(dim=(2, 3)))  # fc is linear: mean of map == fc of mean
        expected = torch.softmax(logits, 1).reshape(2, 4, -1).mean(1).numpy()
    assert out.shape == (2, 5)
    np.testing.assert_allclose(out, expected, atol=1e-5)
    np.testing.assert_allclose(out.sum(1), 1.0, atol=1e-5)


def test_tsn2d_partial_bn_through_recognizer():
    model = build_recognizer(TSN_UCF101_RGB)
    model.train()
    assert model.backbone.conv1_7x7_s2_bn.training
    assert not model.backbone.inception_4a_1x1_bn.training
    assert not model.backbone.inception_4a_1x1_bn.weight.requires_grad
    assert model.cls_head.training and model.cls_head.dropout.p == 0.8


def test_build_recognizer_errors():
    cfg = dict(TSN_UCF101_RGB, type='TSN2d')
    with pytest.raises(ConfigError, match="type 'TSN2d' is not in the recognizer registry.*did you mean 'TSN2D'"):
        build_recognizer(cfg)
    cfg = copy.deepcopy(TSN_UCF101_RGB)
    cfg['backbone']['type'] = 'BNInceptionV9'
    with pytest.raises(ConfigError, match="model.backbone"):
        build_recognizer(cfg)
    with pytest.raises(ConfigError, match='model.modality'):
        build_recognizer(dict(tiny_cfg(), modality='Depth'))
    with pytest.raises(ConfigError, match='model.cls_head'):
        build_recognizer(dict(tiny_cfg(), cls_head=None))
    with pytest.raises(ConfigError, match='flownet'):
        build_recognizer(dict(tiny_cfg(), flownet=dict(type='MotionNet')))
    with pytest.raises(ConfigError, match="unexpected keyword argument 'depthh'"):
        build_backbone(dict(type='ResNet', depthh=50))


def test_tsn2d_input_errors():
    model = build_recognizer(tiny_cfg()).eval()
    with pytest.raises(ValueError, match='5-D tensor'):
        model(return_loss=False, img_group_0=torch.randn(3, 3, 32, 32))
    with pytest.raises(KeyError, match='img_group_0'):
        model(return_loss=False, imgs=torch.randn(1, 3, 3, 32, 32))
    with pytest.raises(ValueError, match='single modality'):
        model(num_modalities=torch.tensor([[2]]), return_loss=False, img_group_0=torch.randn(1, 3, 3, 32, 32))
    flow = build_recognizer(tiny_cfg(modality='Flow', in_channels=10)).eval()
    with pytest.raises(ValueError, match='not a multiple of in_channels=10'):
        flow(return_loss=False, img_group_0=torch.randn(1, 3, 2, 32, 32))
    multi = build_recognizer(dict(tiny_cfg(), backbone=dict(type='ResNet', depth=18, base_channels=8))).eval()
    with pytest.raises(ValueError, match='out_indices'):
        multi(return_loss=False, img_group_0=torch.randn(1, 1, 3, 32, 32))


def test_tsn2d_checkpoint_roundtrip(tmp_path):
    from mmaction.utils.checkpoint import load_checkpoint
    model = build_recognizer(tiny_cfg(modality='Flow', in_channels=10))
    path = str(tmp_path / 'tsn.pth')
    save_checkpoint(model, path, meta=dict(epoch=1))
    other = build_recognizer(tiny_cfg(modality='Flow', in_channels=10))
    load_checkpoint(other, path, strict=True)
    imgs = torch.randn(1, 10, 2, 32, 32)
    model.eval()
    other.eval()
    with torch.no_grad():
        np.testing.assert_allclose(model(return_loss=False, img_group_0=imgs),
                                   other(return_loss=False, img_group_0=imgs), atol=1e-6)


def test_pretrained_model_zoo_names_resolve_from_cache(tmp_path, monkeypatch):
    """``modelzoo://`` and ``open-mmlab://`` names resolve to the cached file name (no download in tests)."""
    monkeypatch.setenv('MMACTION_CACHE', str(tmp_path))
    src = ResNet(50, base_channels=8)
    src.init_weights()
    torch.save(src.state_dict(), str(tmp_path / 'resnet50-19c8e357.pth'))
    dst = ResNet(50, base_channels=8, pretrained='modelzoo://resnet50')
    dst.init_weights()
    assert torch.equal(dst.layer3[1].conv2.weight, src.layer3[1].conv2.weight)
    bias = torch.randn(64)
    torch.save({'conv1_7x7_s2.bias': bias}, str(tmp_path / 'bn_inception_caffe-ed2e8665.pth'))
    bn = BNInception(pretrained='open-mmlab://bninception_caffe')
    bn.init_weights()
    assert torch.equal(bn.conv1_7x7_s2.bias.data, bias)


def test_tsn2d_tiny_training_reduces_loss():
    """A few SGD steps on two separable synthetic classes drive the TSN loss down."""
    torch.manual_seed(0)
    model = build_recognizer(tiny_cfg(num_classes=2))
    model.train()
    imgs = torch.randn(8, 3, 3, 32, 32) * 0.1
    labels = torch.tensor([0, 1] * 4).reshape(8, 1)
    imgs[labels.reshape(-1) == 1, :, 0] += 1.0  # class 1: bright first channel
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(15):
        loss = model(img_group_0=imgs, gt_label=labels)['loss_cls']
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[0] == pytest.approx(np.log(2), abs=0.2)  # near-uniform start (fc init std 0.01)
    assert losses[-1] < 0.5 * losses[0]
    model.eval()
    with torch.no_grad():
        pred = model(return_loss=False, img_group_0=imgs).argmax(1)
    assert pred.tolist() == labels.reshape(-1).tolist()


TSN_CONFIGS = ['configs/TSN/ucf101/tsn_rgb_bninception.py', 'configs/TSN/ucf101/tsn_flow_bninception.py',
               'configs/hmdb51/tsn_rgb_bninception.py', 'configs/hmdb51/tsn_flow_bninception.py',
               'configs/TSN/tsn_kinetics400_2d_rgb_r50_seg3_f1s1.py', 'configs/TSN/toy/tsn_r18_toy.py',
               'test_configs/TSN/ucf101/tsn_rgb_bninception.py', 'test_configs/TSN/ucf101/tsn_flow_bninception.py',
               'test_configs/TSN/tsn_kinetics400_2d_rgb_r50_seg3_f1s1.py']


@pytest.mark.parametrize('rel_path', TSN_CONFIGS)
def test_shipped_tsn_configs_build(rel_path):
    import os
    from mmaction.utils.config import load_config
    path = os.path.join(os.path.dirname(__file__), '..', rel_path)
    if not os.path.isfile(path):
        pytest.skip(f'{rel_path} not in this checkout')
    cfg = load_config(path)
    model_cfg = copy.deepcopy(cfg.to_dict()['model'])
    model_cfg['backbone']['pretrained'] = None  # never download in tests
    model = build_recognizer(model_cfg, train_cfg=cfg.get('train_cfg'), test_cfg=cfg.get('test_cfg'))
    head = model_cfg['cls_head']
    assert model.cls_head.fc_cls.weight.shape == (head['num_classes'], head['in_channels'])
    first_conv = next(m for m in model.backbone.modules() if isinstance(m, nn.Conv2d))
    assert first_conv.in_channels == model_cfg.get('in_channels', 3)
    if 'toy' in rel_path:  # small enough for a forward pass: 64x64 frames, 3 segments
        model.eval()
        with torch.no_grad():
            out = model(return_loss=False, img_group_0=torch.randn(2, 3, 3, 64, 64))
        assert out.shape == (2, head['num_classes'])
