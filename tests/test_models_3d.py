"""3D recognizers: backbone key names / shapes / parameter counts of the original test configs, 2D->3D
inflation, SlowFast laterals, non-local blocks, pooling modules and TSN3D (plain and FCN testing).

Real-size backbones are only constructed (key names, parameter counts); forwards use tiny inputs.
"""
from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

import mmaction.models  # noqa: F401  (registration)
from mmaction.models import build_backbone, build_recognizer, build_spatial_temporal_module
from mmaction.registry import BACKBONES, ConfigError

torch.manual_seed(0)

I3D_R50 = dict(type='ResNet_I3D', pretrained=None, depth=50, num_stages=4, out_indices=[3], frozen_stages=-1,
               inflate_freq=((1, 1, 1), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 1, 0)), inflate_style='3x1x1',
               conv1_kernel_t=5, conv1_stride_t=2, pool1_kernel_t=1, pool1_stride_t=2, bn_eval=False,
               partial_bn=False, style='pytorch')
SLOWONLY_R50 = dict(type='ResNet_I3D', pretrained=None, depth=50, num_stages=4, out_indices=[3], frozen_stages=-1,
                    inflate_freq=(0, 0, 1, 1), conv1_kernel_t=1, conv1_stride_t=1, pool1_kernel_t=1,
                    pool1_stride_t=1, inflate_style='3x1x1', bn_eval=False, no_pool2=True, partial_bn=False,
                    style='pytorch')
SLOWFAST_R50 = dict(type='ResNet_I3D_SlowFast', pretrained_slow=None, pretrained_fast=None, depth=50, alpha=8,
                    beta_inv=8, num_stages=4, out_indices=[3], frozen_stages=-1, slow_inflate_freq=(0, 0, 1, 1),
                    fast_inflate_freq=(1, 1, 1, 1), inflate_style='3x1x1', bn_eval=False, partial_bn=False,
                    style='pytorch')
R2PLUS1D_R34 = dict(type='ResNet_3D', pretrained=None, depth=34, use_pool1=True, block_type='2.5d', use_syncbn=True)
IRCSN_R152 = dict(type='ResNet_3D', pretrained=None, depth=152, use_pool1=True, block_type='3d-sep')
IPCSN_R152 = dict(type='ResNet_3D', pretrained=None, depth=152, use_pool1=True, block_type='0.3d')


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def shapes(module: torch.nn.Module) -> dict:
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


# ---------------------------------------------------------------------------------------------------------------
# parameter counts (backbone + a 400-class fc_cls, as the model zoo reports them)
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize('cfg, feat, classes, expected', [
    (I3D_R50, 2048, 400, 28.04e6),          # I3D R50 3x1x1: 28.0M
    (SLOWONLY_R50, 2048, 400, 32.45e6),     # SlowOnly R50: 32.45M
    (R2PLUS1D_R34, 512, 400, 63.70e6),      # R(2+1)D R34: 63.7M
    (dict(type='C3D'), 4096, 101, 78.41e6),  # C3D at 101 classes: 78.4M
    (IRCSN_R152, 2048, 400, 29.70e6),       # ir-CSN-152 (VMZ: 29.6M w/o fc bias rounding)
    (IPCSN_R152, 2048, 400, 33.02e6),       # ip-CSN-152 with depthwise conv_C
    (dict(type='InceptionV1_I3D'), 1024, 400, 12.70e6),
])
def test_param_counts_match_original(cfg, feat, classes, expected):
    backbone = build_backbone(cfg)
    assert backbone.feat_dim == feat
    total = n_params(backbone) + feat * classes + classes
    assert abs(total - expected) / expected < 0.005, total


def test_slowfast_param_count_includes_unused_layer4_lateral():
    backbone = build_backbone(SLOWFAST_R50)
    total = n_params(backbone) + 2304 * 400 + 400
    # mmaction2's SlowFast R50 4x16 is 34.48M; the original adds layer4_lateral = 256 * 512 * 5 weights.
    assert total == 34_479_288 + 256 * 512 * 5
    assert backbone.feat_dim == 2304


# ---------------------------------------------------------------------------------------------------------------
# state-dict names and shapes (the contract of section 7.2)
# ---------------------------------------------------------------------------------------------------------------
def test_i3d_r50_keys_and_inflation_pattern():
    s = shapes(build_backbone(I3D_R50))
    assert s['conv1.weight'] == (64, 3, 5, 7, 7)
    assert s['layer1.0.conv1.weight'] == (64, 64, 3, 1, 1)        # inflated, 3x1x1 in conv1
    assert s['layer1.0.conv2.weight'] == (64, 64, 1, 3, 3)
    assert s['layer2.1.conv1.weight'] == (128, 512, 1, 1, 1)      # (1,0,1,0): block 1 not inflated
    assert s['layer2.2.conv1.weight'] == (128, 512, 3, 1, 1)
    assert s['layer4.0.conv1.weight'] == (512, 1024, 1, 1, 1)     # (0,1,0)
    assert s['layer4.1.conv1.weight'] == (512, 2048, 3, 1, 1)
    assert s['layer3.0.downsample.0.weight'] == (1024, 512, 1, 1, 1)
    assert s['layer3.0.downsample.1.running_var'] == (1024,)
    assert not any('nonlocal' in k for k in s)


def test_i3d_3x3x3_style_and_caffe_stride():
    cfg = dict(I3D_R50, inflate_style='3x3x3', style='caffe')
    backbone = build_backbone(cfg)
    block = backbone.layer2[0]
    assert tuple(block.conv1.weight.shape) == (128, 256, 1, 1, 1) and block.conv1.stride == (1, 2, 2)
    assert tuple(block.conv2.weight.shape) == (128, 128, 3, 3, 3) and block.conv2.stride == (1, 1, 1)


def test_nonlocal_keys_in_ava_backbone():
    cfg = dict(type='ResNet_I3D', pretrained=None, pretrained2d=False, depth=50, num_stages=3,
               spatial_strides=(1, 2, 2), temporal_strides=(1, 1, 1), dilations=(1, 1, 1), out_indices=(2,),
               inflate_freq=((1, 1, 1), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0)), inflate_style='3x1x1',
               nonlocal_stages=(1, 2), nonlocal_cfg=dict(nonlocal_type='gaussian'),
               nonlocal_freq=((0, 0, 0), (0, 1, 0, 1), (0, 1, 0, 1, 0, 1), (0, 0, 0)), conv1_kernel_t=5,
               conv1_stride_t=1, pool1_kernel_t=1, pool1_stride_t=1, bn_eval=False, partial_bn=False,
               bn_frozen=True)
    s = shapes(build_backbone(cfg))
    nl_blocks = sorted({k.split('.nonlocal_block')[0] for k in s if 'nonlocal_block' in k})
    assert nl_blocks == ['layer2.1', 'layer2.3', 'layer3.1', 'layer3.3', 'layer3.5']
    p = 'layer2.1.nonlocal_block.'
    assert s[p + 'theta.weight'] == (256, 512, 1, 1, 1) and s[p + 'theta.bias'] == (256,)
    assert s[p + 'phi.1.weight'] == (256, 512, 1, 1, 1)
    assert s[p + 'g.1.weight'] == (256, 512, 1, 1, 1)
    assert s[p + 'W.0.weight'] == (512, 256, 1, 1, 1)
    assert s[p + 'W.1.weight'] == (512,) and s[p + 'W.1.running_mean'] == (512,)
    assert s['layer3.5.nonlocal_block.W.0.weight'] == (1024, 512, 1, 1, 1)


def test_slowfast_keys():
    s = shapes(build_backbone(SLOWFAST_R50))
    assert s['slow_path.conv1.weight'] == (64, 3, 1, 7, 7)
    assert s['fast_path.conv1.weight'] == (8, 3, 5, 7, 7)
    assert s['slow_path.conv1_lateral.weight'] == (16, 8, 5, 1, 1)
    assert s['slow_path.layer1_lateral.weight'] == (64, 32, 5, 1, 1)
    assert s['slow_path.layer3_lateral.weight'] == (256, 128, 5, 1, 1)
    assert s['slow_path.layer4_lateral.weight'] == (512, 256, 5, 1, 1)
    # first blocks take the fused channels: 64 + 16, 256 + 64, 512 + 128, 1024 + 256
    assert s['slow_path.layer1.0.conv1.weight'] == (64, 80, 1, 1, 1)
    assert s['slow_path.layer1.0.downsample.0.weight'] == (256, 80, 1, 1, 1)
    assert s['slow_path.layer3.0.conv1.weight'] == (256, 640, 3, 1, 1)
    assert s['slow_path.layer4.0.downsample.0.weight'] == (2048, 1280, 1, 1, 1)
    assert s['fast_path.layer1.0.conv1.weight'] == (8, 8, 3, 1, 1)
    assert not any(k.startswith('fast_path') and 'lateral' in k for k in s)


def test_r2plus1d_keys():
    s = shapes(build_backbone(R2PLUS1D_R34))
    assert s['conv1_s.weight'] == (45, 3, 1, 7, 7) and s['conv1_t.weight'] == (64, 45, 3, 1, 1)
    mid = int(3 * 64 * 64 * 9 / (64 * 9 + 3 * 64))  # 144
    assert s['layer1.a.conv1.conv_s.weight'] == (mid, 64, 1, 3, 3)
    assert s['layer1.a.conv1.bn_s.weight'] == (mid,)
    assert s['layer1.a.conv1.conv_t.weight'] == (64, mid, 3, 1, 1)
    assert s['layer2.a.conv3.weight'] == (128, 64, 1, 1, 1) and 'layer1.a.conv3.weight' not in s
    assert {k.split('.')[1] for k in s if k.startswith('layer3.')} == set('abcdef')
    bn = build_backbone(R2PLUS1D_R34).bn1_s
    assert bn.eps == 1e-3


def test_csn_keys_and_letter_names():
    ir = shapes(build_backbone(IRCSN_R152))
    names = [k.split('.')[1] for k in ir if k.startswith('layer3.') and k.endswith('conv0.weight')]
    assert names[:3] == ['aa', 'ab', 'ac'] and names[-1] == 'bj' and len(names) == 36
    assert ir['layer1.a.conv1.weight'] == (64, 1, 3, 3, 3)        # depthwise 3x3x3
    assert ir['layer1.a.conv0.weight'] == (64, 64, 1, 1, 1)
    ip = shapes(build_backbone(IPCSN_R152))
    assert ip['layer1.a.conv1.conv_T.weight'] == (64, 64, 1, 1, 1)
    assert ip['layer1.a.conv1.conv_C.weight'] == (64, 1, 3, 3, 3)  # released weights are depthwise (#148)
    assert BACKBONES.get('ResNet_3D') is BACKBONES.get('ResNet_R3D')


def test_c3d_and_inception_keys():
    c3d = shapes(build_backbone(dict(type='C3D')))
    assert [k for k in c3d if k.endswith('weight')] == [
        'conv1a.weight', 'conv2a.weight', 'conv3a.weight', 'conv3b.weight', 'conv4a.weight', 'conv4b.weight',
        'conv5a.weight', 'conv5b.weight', 'fc6.weight', 'fc7.weight']
    assert c3d['fc6.weight'] == (4096, 8192)
    inc = shapes(build_backbone(dict(type='InceptionV1_I3D', modality='Flow')))
    assert inc['conv1_7x7_s2.weight'] == (64, 2, 7, 7, 7) and 'conv1_7x7_s2.bias' not in inc
    assert inc['inception_3a_branch1_3x3.weight'] == (128, 96, 3, 3, 3)
    assert inc['inception_5b_pool_proj_bn.running_var'] == (128,)
    assert inc['inception_4e_branch2_3x3.weight'] == (128, 32, 3, 3, 3)


# ---------------------------------------------------------------------------------------------------------------
# forwards on tiny inputs
# ---------------------------------------------------------------------------------------------------------------
def test_inflation_reproduces_2d_response(tmp_path):
    """A temporally constant clip through the inflated network gives the 2D output at frames the zero
    temporal padding cannot reach (4 temporal convs here -> the centre frame of 9)."""
    from mmaction.models.backbones.resnet import ResNet
    net2d = ResNet(depth=50, num_stages=2, strides=(1, 2), dilations=(1, 1), out_indices=(1,))
    gen = torch.Generator().manual_seed(1)
    for m in net2d.modules():
        if isinstance(m, torch.nn.BatchNorm2d):  # non-trivial BN statistics must be copied too
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
    path = tmp_path / 'r50_2d.pth'
    torch.save({'state_dict': net2d.state_dict()}, path)
    net3d = build_backbone(dict(type='ResNet_I3D', depth=50, pretrained=str(path), num_stages=2,
                                spatial_strides=(1, 2), temporal_strides=(1, 1), dilations=(1, 1), out_indices=(1,),
                                inflate_freq=((1, 0, 1), (0, 1, 0, 0)), conv1_kernel_t=3, conv1_stride_t=1,
                                pool1_kernel_t=1, pool1_stride_t=1, no_pool2=True))
    net3d.init_weights()
    assert torch.equal(net3d.conv1.weight[:, :, 1], net2d.conv1.weight / 3)
    net2d.eval(), net3d.eval()
    frame = torch.randn(1, 3, 32, 32)
    clip = frame[:, :, None].expand(1, 3, 9, 32, 32).contiguous()
    with torch.no_grad():
        out2d, out3d = net2d(frame), net3d(clip)
    assert out3d.shape == (1, 512, 9, 4, 4)
    torch.testing.assert_close(out3d[:, :, 4], out2d, rtol=1e-4, atol=1e-4)
    assert not torch.allclose(out3d[:, :, 0], out2d, atol=1e-3)  # border frames do see the zero padding


def test_slowfast_lateral_shapes():
    backbone = build_backbone(SLOWFAST_R50).eval()
    seen = {}
    for name in ('conv1_lateral', 'layer1_lateral', 'layer2_lateral', 'layer3_lateral'):
        getattr(backbone.slow_path, name).register_forward_hook(
            lambda mod, inp, out, name=name: seen.__setitem__(name, tuple(out.shape)))
    with torch.no_grad():
        slow, fast = backbone(torch.randn(1, 3, 16, 32, 32))
    # fast path keeps T=16, laterals subsample by alpha=8 -> T=2, channels 2 * C_fast
    assert seen == {'conv1_lateral': (1, 16, 2, 8, 8), 'layer1_lateral': (1, 64, 2, 8, 8),
                    'layer2_lateral': (1, 128, 2, 4, 4), 'layer3_lateral': (1, 256, 2, 2, 2)}
    assert slow.shape == (1, 2048, 2, 1, 1) and fast.shape == (1, 256, 16, 1, 1)
    with pytest.raises(ValueError, match='multiple of alpha'):
        backbone(torch.randn(1, 3, 12, 32, 32))


def test_r3d_forward_downsamples_time_and_space():
    for block_type in ('2.5d', '3d-sep', '0.3d', '3d'):
        # depthwise '3d-sep' needs in == out, i.e. bottleneck blocks (depth >= 50), as in the original
        net = build_backbone(dict(type='ResNet_R3D', depth=50, block_type=block_type, use_pool1=True,
                                  channel_multiplier=0.25)).eval()
        with torch.no_grad():
            out = net(torch.randn(1, 3, 8, 32, 32))
        assert out.shape == (1, 512, 1, 1, 1), block_type  # T: 8 -> 1 (3 stride-2 stages), H: 32 -> 1


def test_inception_output_shape_follows_same_padding():
    net = build_backbone(dict(type='InceptionV1_I3D')).eval()
    with torch.no_grad():
        out = net(torch.randn(1, 3, 16, 64, 64))
    # T: (16+6-7)//2+1 = 8 -> 3c pool ceil((8-3)/2)+1 = 4 -> 4f pool 2; H: 32 -> 16 -> 8 -> 4 -> 2
    assert out.shape == (1, 1024, 2, 2, 2)


def test_c3d_rejects_wrong_clip_size():
    net = build_backbone(dict(type='C3D')).eval()
    with pytest.raises(ValueError, match='16 x 112 x 112'):
        net(torch.randn(1, 3, 8, 16, 16))


# ---------------------------------------------------------------------------------------------------------------
# modules
# ---------------------------------------------------------------------------------------------------------------
def test_nonlocal_identity_at_init_and_dot_product_formula():
    nl = build_spatial_temporal_module(dict(type='NonLocalModule', in_channels=8, nonlocal_type='dot',
                                            sub_sample=False)).eval()
    x = torch.randn(2, 8, 2, 3, 3)
    torch.testing.assert_close(nl(x), x)  # zero-initialised BN after W
    with torch.no_grad():
        nl.W[1].weight.fill_(1.0)
        theta = F.conv3d(x, nl.theta.weight, nl.theta.bias).flatten(2)   # (N, 4, 18)
        phi = F.conv3d(x, nl.phi.weight, nl.phi.bias).flatten(2)
        g = F.conv3d(x, nl.g.weight, nl.g.bias).flatten(2)
        p = theta.transpose(1, 2) @ phi / 18
        y = (g @ p.transpose(1, 2)).reshape(2, 4, 2, 3, 3)
        expected = nl.W(y) + x
        torch.testing.assert_close(nl(x), expected)
    for kind in ('gaussian', 'concat'):
        mod = build_spatial_temporal_module(dict(type='NonLocalModule', in_channels=8, nonlocal_type=kind))
        assert mod(x).shape == x.shape
    with pytest.raises(ValueError, match='nonlocal_type'):
        build_spatial_temporal_module(dict(type='NonLocalModule', nonlocal_type='cosine'))


def test_simple_spatial_temporal_module():
    x = torch.arange(2 * 3 * 4 * 5 * 5, dtype=torch.float32).reshape(2, 3, 4, 5, 5)
    fixed = build_spatial_temporal_module(dict(type='SimpleSpatialTemporalModule', temporal_size=4,
                                               spatial_size=5))
    torch.testing.assert_close(fixed(x), x.mean(dim=(2, 3, 4), keepdim=True))
    adaptive_max = build_spatial_temporal_module(dict(type='SimpleSpatialTemporalModule', spatial_type='max',
                                                      temporal_size=-1, spatial_size=-1))
    torch.testing.assert_close(adaptive_max(x), x.amax(dim=(2, 3, 4), keepdim=True))
    partial = build_spatial_temporal_module(dict(type='SimpleSpatialTemporalModule', temporal_size=2,
                                                 spatial_size=3))
    assert partial(x).shape == (2, 3, 3, 3, 3)
    ident = build_spatial_temporal_module(dict(type='SimpleSpatialTemporalModule', spatial_type='identity'))
    assert ident(x) is x
    with pytest.raises(ValueError, match='both be -1'):
        build_spatial_temporal_module(dict(type='SimpleSpatialTemporalModule', temporal_size=-1, spatial_size=7))
    with pytest.raises(ValueError, match='smaller than the pooling kernel'):
        fixed(torch.randn(1, 3, 2, 5, 5))


def test_slowfast_module_concatenates_pooled_pathways():
    mod = build_spatial_temporal_module(dict(type='SlowFastSpatialTemporalModule', adaptive_pool=True,
                                             spatial_type='avg', temporal_size=1, spatial_size=1))
    slow, fast = torch.randn(2, 6, 2, 3, 3), torch.randn(2, 2, 8, 3, 3)
    out = mod((slow, fast))
    assert out.shape == (2, 8, 1, 1, 1)
    torch.testing.assert_close(out[:, 6:, 0, 0, 0], fast.mean(dim=(2, 3, 4)))


# ---------------------------------------------------------------------------------------------------------------
# TSN3D
# ---------------------------------------------------------------------------------------------------------------
def tiny_tsn3d(**head) -> dict:
    return dict(
        type='TSN3D',
        backbone=dict(type='ResNet_I3D', depth=18, pretrained=None, num_stages=2, spatial_strides=(1, 2),
                      temporal_strides=(1, 1), dilations=(1, 1), out_indices=(1,), conv1_kernel_t=1,
                      conv1_stride_t=1, pool1_kernel_t=1, pool1_stride_t=1, inflate_freq=(0, 1), no_pool2=True),
        spatial_temporal_module=dict(type='SimpleSpatialTemporalModule', spatial_type='avg', temporal_size=-1,
                                     spatial_size=-1),
        segmental_consensus=dict(type='SimpleConsensus', consensus_type='avg'),
        cls_head=dict(type='ClsHead', with_avg_pool=False, temporal_feature_size=1, spatial_feature_size=1,
                      dropout_ratio=0.5, in_channels=128, num_classes=5, **head))


def test_tsn3d_train_and_test_shapes():
    model = build_recognizer(tiny_tsn3d())
    imgs = torch.randn(2, 3, 3, 4, 16, 16)  # B=2 videos, 3 views
    losses = model(num_modalities=torch.ones(2, 1, dtype=torch.long), img_meta=[{}, {}],
                   img_group_0=imgs, gt_label=torch.tensor([[1], [4]]))
    assert set(losses) == {'loss_cls'} and losses['loss_cls'].ndim == 0
    losses['loss_cls'].backward()
    model.eval()
    with torch.no_grad():
        scores = model(return_loss=False, img_meta=[{}, {}], img_group_0=imgs)
        # consensus averages features over views before the (linear) classifier
        per_video = [model(return_loss=False, img_meta=[{}], img_group_0=imgs[i:i + 1]) for i in range(2)]
    assert scores.shape == (2, 5) and scores.dtype.name == 'float32'
    torch.testing.assert_close(torch.from_numpy(scores), torch.from_numpy(torch.cat(
        [torch.from_numpy(p) for p in per_video]).numpy()), rtol=1e-5, atol=1e-5)


def test_fcn_testing_equals_plain_path_on_1x1_map():
    model = build_recognizer(tiny_tsn3d()).eval()
    imgs = torch.randn(1, 1, 3, 2, 8, 8)  # backbone map is 1x... after stride 2+2+2: 8 -> 1
    with torch.no_grad():
        feat = model.backbone(imgs[0])
        assert feat.shape[2:] == (2, 1, 1) or feat.shape[3:] == (1, 1)
        plain = torch.from_numpy(model(return_loss=False, img_group_0=imgs))
        model.fcn_testing = True
        fcn = torch.from_numpy(model(return_loss=False, img_group_0=imgs))
    torch.testing.assert_close(fcn, plain.softmax(dim=1), rtol=1e-5, atol=1e-6)

    # with several views FCN averages the per-view probabilities
    views = torch.randn(1, 3, 3, 2, 8, 8)
    with torch.no_grad():
        model.fcn_testing = False
        per_view = torch.cat([torch.from_numpy(model(return_loss=False, img_group_0=views[:, i:i + 1]))
                              for i in range(3)])
        model.fcn_testing = True
        fcn = torch.from_numpy(model(return_loss=False, img_group_0=views))
    torch.testing.assert_close(fcn[0], per_view.softmax(dim=1).mean(dim=0), rtol=1e-5, atol=1e-6)


def test_fcn_testing_slowfast_two_pathways():
    cfg = dict(type='TSN3D',
               backbone=dict(SLOWFAST_R50, depth=18, alpha=4, beta_inv=4),
               spatial_temporal_module=dict(type='SlowFastSpatialTemporalModule', adaptive_pool=True,
                                            spatial_type='avg', temporal_size=1, spatial_size=1),
               segmental_consensus=dict(type='SimpleConsensus', consensus_type='avg'),
               cls_head=dict(type='ClsHead', with_avg_pool=False, temporal_feature_size=1, spatial_feature_size=1,
                             dropout_ratio=0.5, in_channels=512 + 128, num_classes=3))
    model = build_recognizer(cfg).eval()
    imgs = torch.randn(1, 2, 3, 8, 32, 32)
    with torch.no_grad():
        logits = torch.from_numpy(model(return_loss=False, img_group_0=imgs))
        model.fcn_testing = True
        probs = torch.from_numpy(model(return_loss=False, img_group_0=imgs))
    assert logits.shape == probs.shape == (1, 3)
    torch.testing.assert_close(probs.sum(), torch.tensor(1.0))


def test_head_channel_mismatch_names_the_right_value():
    cfg = copy.deepcopy(tiny_tsn3d())
    cfg['cls_head']['in_channels'] = 2048
    with pytest.raises(ConfigError, match=r'model.cls_head.in_channels=128'):
        build_recognizer(cfg)
    cfg['backbone'] = dict(type='InceptionV1_I3D')
    with pytest.raises(ConfigError, match=r'in_channels=1024.*2048, which is wrong'):
        build_recognizer(cfg)
    with pytest.raises(ConfigError, match='flownet'):
        build_recognizer(dict(tiny_tsn3d(), flownet=dict(type='MotionNet')))


def test_bn_eval_and_frozen_stages():
    net = build_backbone(dict(I3D_R50, bn_eval=True, bn_frozen=True, frozen_stages=1))
    net.train()
    assert not net.bn1.training and not net.layer3[0].bn1.training
    assert not net.layer1[0].conv1.weight.requires_grad and net.layer2[0].conv1.weight.requires_grad
    assert not net.layer4[0].bn1.weight.requires_grad  # bn_frozen


def test_inflated_basic_block_with_spatial_dilation_keeps_time():
    from mmaction.models.backbones.resnet_i3d import BasicBlock3d
    block = BasicBlock3d(8, 8, dilation=2, if_inflate=True).eval()
    assert block.conv1.padding == (1, 2, 2) and block.conv1.dilation == (1, 2, 2)
    with torch.no_grad():
        out = block(torch.randn(1, 8, 4, 8, 8))
    assert tuple(out.shape) == (1, 8, 4, 8, 8)


def test_staged_resnet_argument_errors_name_the_backbone_and_argument():
    from mmaction.models.backbones.resnet_i3d import ResNet_I3D
    from mmaction.models.backbones.resnet_i3d_slowfast import ResNet_I3D_SlowFast
    with pytest.raises(ValueError, match=r'ResNet_I3D: invalid depth 7, expected one of \[18, 34, 50, 101, 152\]'):
        ResNet_I3D(depth=7)
    with pytest.raises(ValueError, match=r'ResNet_I3D: spatial_strides \(1, 2, 2, 2\) and temporal_strides '
                                         r'\(1, 1, 1, 1\) and dilations \(1, 1, 1, 1\) need num_stages=3'):
        ResNet_I3D(depth=18, num_stages=3)
    with pytest.raises(ValueError, match=r'ResNet_I3D: out_indices \(4,\) must be in 0\.\.3'):
        ResNet_I3D(depth=18, out_indices=(4,))
    with pytest.raises(ValueError, match=r'ResNet_I3D_SlowFast: num_stages must be in 1\.\.4, got 5'):
        ResNet_I3D_SlowFast(depth=18, num_stages=5)


TINY_I3D = dict(type='ResNet_I3D', depth=18, base_channels=4, pretrained=None, num_stages=2,
                spatial_strides=(1, 2), temporal_strides=(1, 1), dilations=(1, 1), out_indices=(1,),
                inflate_freq=(1, 1), nonlocal_freq=(0, 0))


def test_i3d_partial_bn_freezes_bns_of_frozen_stages_only():
    net = build_backbone(dict(TINY_I3D, bn_eval=False, partial_bn=True, frozen_stages=1)).train()
    assert not net.layer1[0].bn1.training and not net.layer1[0].bn1.weight.requires_grad
    assert net.layer2[0].bn1.training and net.layer2[0].bn1.weight.requires_grad
    assert not net.bn1.training and not net.conv1.weight.requires_grad  # the stem is frozen with stage 1
    net.eval().train()  # train() again re-applies the modes
    assert not net.layer1[0].bn1.training and net.layer2[0].conv1.weight.requires_grad


def test_slowfast_frozen_stages_freeze_both_pathway_stems():
    net = build_backbone(dict(type='ResNet_I3D_SlowFast', depth=18, base_channels=8, pretrained_slow=None,
                              pretrained_fast=None, num_stages=2, spatial_strides=(1, 2), dilations=(1, 1),
                              out_indices=(1,), slow_inflate_freq=(0, 1), fast_inflate_freq=(1, 1),
                              nonlocal_freq=(0, 0), bn_eval=False, frozen_stages=1)).train()
    for path in (net.slow_path, net.fast_path):
        assert not path.conv1.weight.requires_grad and not path.bn1.training and not path.layer1.training
        assert path.layer2.training and path.layer2[0].conv1.weight.requires_grad


def test_inception_i3d_partial_bn_keeps_only_the_stem_bn_learning():
    net = build_backbone(dict(type='InceptionV1_I3D', bn_eval=False, partial_bn=True)).train()
    bns = {name: m for name, m in net.named_modules() if isinstance(m, torch.nn.BatchNorm3d)}
    learning = [name for name, m in bns.items() if m.training]
    assert learning and all('conv1' in name for name in learning) and len(learning) < len(bns)


def test_use_syncbn_falls_back_to_plain_bn_with_one_warning(caplog, monkeypatch):
    from mmaction.models.backbones import _common
    monkeypatch.setattr(_common, '_syncbn_warned', False)
    with caplog.at_level('WARNING', logger='mmaction'):
        net = build_backbone(dict(TINY_I3D, use_syncbn=True))
        build_backbone(dict(TINY_I3D, use_syncbn=True))
    warnings = [r.getMessage() for r in caplog.records if 'use_syncbn' in r.getMessage()]
    # on this CPU-only machine: no process group, or (if another test left one) no CUDA / a gloo group
    assert len(warnings) == 1 and 'using plain BatchNorm' in warnings[0]
    assert _common.syncbn_unavailable_reason() in warnings[0]
    assert type(net.bn1) is torch.nn.BatchNorm3d


def test_use_syncbn_builds_sync_batchnorm_with_the_same_keys(monkeypatch):
    from mmaction.models.backbones import _common
    monkeypatch.setattr(_common, 'syncbn_unavailable_reason', lambda: None)  # as under torchrun with nccl
    plain = build_backbone(TINY_I3D)
    synced = build_backbone(dict(TINY_I3D, use_syncbn=True))
    assert isinstance(synced.bn1, torch.nn.SyncBatchNorm) and isinstance(synced.layer2[0].bn2, torch.nn.SyncBatchNorm)
    assert list(synced.state_dict()) == list(plain.state_dict())
    r3d = build_backbone(dict(type='ResNet_R3D', depth=10, block_type='2.5d', channel_multiplier=0.25,
                              use_syncbn=True))
    assert isinstance(r3d.bn1_s, torch.nn.SyncBatchNorm)


def test_inflate_stride_other_than_default_is_rejected():
    with pytest.raises(ValueError, match=r'ResNet_I3D: inflate_stride \(2, 1\) is not supported'):
        build_backbone(dict(TINY_I3D, inflate_stride=(2, 1)))
    build_backbone(dict(TINY_I3D, inflate_stride=(1, 1, 1, 1)))  # the configs' default stays accepted
