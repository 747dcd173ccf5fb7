"""mmaction2 1.x 3D backbones against the mmaction2 1.2.0 peer (keys, shapes, parameter counts, outputs)."""
import json
import os

import numpy as np
import pytest
import torch

from mmaction.models import mmaction2  # noqa: F401  (registration)
from mmaction.registry import MODELS

from mmaction2_ref import cases_3d
from mmaction2_ref.compare import check_case


def _build(cfg):
    return MODELS.build(dict(cfg))


@pytest.mark.parametrize('case', [pytest.param(c, id=c['name'], marks=[pytest.mark.slow] if c.get('slow') else [])
                                  for c in cases_3d.CASES])
def test_matches_mmaction2(case):
    torch.set_num_threads(1)
    check_case('cases_3d', case, _build)


@pytest.mark.parametrize('case', [c for c in cases_3d.CASES if c.get('slow')], ids=lambda c: c['name'])
def test_large_models_keys_and_counts_match_mmaction2(case):
    """The fast half of each slow case: key order, shapes and parameter count, without the forward."""
    ref = np.load(os.path.join(os.path.dirname(cases_3d.__file__), 'refs', 'cases_3d', case['name'] + '.npz'))
    model = _build(case['cfg'])
    state = model.state_dict()
    assert list(state) == list(ref['keys'])
    assert [list(t.shape) for t in state.values()] == json.loads(str(ref['shapes']))
    assert sum(p.numel() for p in model.parameters()) == int(ref['num_params'])


def _bns(module):
    return [m for m in module.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]


def test_resnet3d_frozen_stages_and_norm_eval():
    model = _build(dict(type='ResNet3d', depth=18, base_channels=8, pretrained=None, frozen_stages=1,
                        norm_eval=True, lateral=True, channel_ratio=4, speed_ratio=2)).train()
    frozen = [model.conv1, model.layer1, model.layer1_lateral]
    assert all(not p.requires_grad for m in frozen for p in m.parameters())
    assert all(p.requires_grad for m in (model.layer2, model.conv1_lateral, model.layer2_lateral)
               for p in m.parameters())
    assert all(not bn.training for bn in _bns(model))  # norm_eval: every BN on running statistics
    assert model.layer2.training and not model.layer1.training
    model = _build(dict(type='ResNet3d', depth=18, base_channels=8, pretrained=None)).train()
    assert all(bn.training for bn in _bns(model)) and all(p.requires_grad for p in model.parameters())


def test_csn_bn_frozen_and_x3d_frozen_stages():
    csn = _build(dict(type='ResNet3dCSN', depth=50, pretrained=None, base_channels=8, num_stages=2,
                      out_indices=(1,), temporal_strides=(1, 2), spatial_strides=(1, 2), dilations=(1, 1),
                      norm_eval=True, bn_frozen=True)).train()
    assert all(not bn.training and not bn.weight.requires_grad for bn in _bns(csn))
    assert all(p.requires_grad for name, p in csn.named_parameters() if name.endswith('conv.weight'))
    x3d = _build(dict(type='X3D', gamma_b=1, frozen_stages=0)).train()
    assert not any(p.requires_grad for m in (x3d.conv1_s, x3d.conv1_t) for p in m.parameters())
    assert not x3d.conv1_t.training and x3d.layer1.training
    assert all(p.requires_grad for p in x3d.layer1.parameters())


def test_init_weights_zero_init_residual_and_no_io_at_build(tmp_path):
    missing = str(tmp_path / 'missing.pth')
    model = _build(dict(type='ResNet3d', depth=50, base_channels=8, num_stages=2, out_indices=(1,),
                        spatial_strides=(1, 2), temporal_strides=(1, 1), dilations=(1, 1), pretrained=missing))
    with pytest.raises(Exception, match='missing.pth'):  # the file is only read by init_weights
        model.init_weights()
    model.pretrained = None
    model.init_weights()
    assert all(float(b.conv3.bn.weight.abs().sum()) == 0 for b in model.layer1)
    assert float(model.layer1[0].conv1.bn.weight.min()) == 1.0
    std = float(model.layer1[0].conv2.conv.weight.std())
    fan_out = 8 * 3 * 3  # kaiming normal, fan_out mode: std = sqrt(2 / (C_out * k))
    assert abs(std - (2 / fan_out) ** 0.5) < 0.3 * (2 / fan_out) ** 0.5


def test_inflate_2d_weights_from_torchvision_names(tmp_path):
    """A torchvision-named 2D file: kernels repeated over time / kt, BN copied, lateral inputs zero-padded."""
    model = _build(dict(type='ResNet3d', depth=18, base_channels=8, num_stages=2, out_indices=(1,),
                        spatial_strides=(1, 2), temporal_strides=(1, 1), dilations=(1, 1), conv1_kernel=(5, 7, 7),
                        lateral=True, channel_ratio=2, speed_ratio=2, pretrained=str(tmp_path / 'r2d.pth')))
    gen = torch.Generator().manual_seed(0)
    state_2d = {}
    for name, m in model.named_modules():
        if name.endswith('.conv') and 'lateral' not in name:
            conv2d = name[:-len('.conv')]
            if conv2d.endswith('downsample'):
                key, bn_key = conv2d + '.0', conv2d + '.1'
            else:
                key, bn_key = conv2d, conv2d.replace('conv', 'bn')
            out_c, _, _, kh, kw = m.weight.shape
            in_c = m.weight.shape[1] - (8 if name == 'layer1.0.conv1.conv' else 0)  # lateral-widened input
            state_2d[key + '.weight'] = torch.randn(out_c, in_c, kh, kw, generator=gen)
            for stat in ('weight', 'bias', 'running_mean', 'running_var'):
                state_2d[f'{bn_key}.{stat}'] = torch.rand(out_c, generator=gen) + 0.5
    state_2d['fc.weight'] = torch.zeros(10, 16)
    torch.save(state_2d, tmp_path / 'r2d.pth')
    model.init_weights()
    w = model.conv1.conv.weight
    assert torch.allclose(w, state_2d['conv1.weight'].unsqueeze(2).expand_as(w) / 5)
    assert torch.equal(model.conv1.bn.running_var, state_2d['bn1.running_var'])
    assert torch.equal(model.layer2[0].downsample.bn.weight, state_2d['layer2.0.downsample.1.weight'])
    w = model.layer1[0].conv1.conv.weight  # 8 + 8 lateral input channels, 3x3x3 (inflated basic block)
    assert torch.allclose(w[:, :8], state_2d['layer1.0.conv1.weight'].unsqueeze(2).expand(-1, -1, 3, -1, -1) / 3)
    assert float(w[:, 8:].abs().sum()) == 0
    assert float(model.conv1_lateral.conv.weight.abs().sum()) > 0  # lateral convs are initialised, not loaded


def test_conv2plus1d_middle_width():
    """mmaction2's middle width floor(3 * Cin * Cout * k * k / (Cin * k * k + 3 * Cout)) keeps a 3xkxk conv's size."""
    model = _build(dict(type='ResNet2Plus1d', depth=18, base_channels=8, num_stages=1, out_indices=(0,),
                        spatial_strides=(1,), temporal_strides=(1,), dilations=(1,), pretrained=None,
                        pretrained2d=False, conv_cfg=dict(type='Conv2plus1d')))
    conv = model.layer1[0].conv1.conv
    assert conv.conv_s.weight.shape == (3 * 8 * 8 * 9 // (8 * 9 + 3 * 8), 8, 1, 3, 3) == (18, 8, 1, 3, 3)
    assert conv.conv_t.weight.shape == (8, 18, 3, 1, 1)
    stem = model.conv1.conv  # 3 -> 8 channels, 3x7x7
    assert stem.conv_s.weight.shape[0] == int(3 * 3 * 8 * 49 / (3 * 49 + 3 * 8)) == 20
    out = model(torch.randn(1, 3, 4, 16, 16))
    assert out.shape == (1, 8, 4, 4, 4)


@pytest.mark.parametrize('cfg, match', [
    (dict(type='ResNet3d', depth=42), 'invalid depth 42'),
    (dict(type='ResNet3d', depth=18, spatial_strides=(1, 2)), 'spatial_strides'),
    (dict(type='ResNet3dCSN', depth=50, pretrained=None, bottleneck_mode='xx'), 'bottleneck_mode'),
    (dict(type='ResNet3dSlowFast', slow_pathway=dict(type='resnet2d', depth=50, lateral=True)),
     'slow_pathway.type'),
    (dict(type='ResNet2Plus1d', depth=18, pretrained2d=False), 'Conv2plus1d'),
    (dict(type='X3D', se_style='some'), 'se_style'),
])
def test_bad_config_is_named(cfg, match):
    with pytest.raises(ValueError, match=match):
        _build(cfg)


def test_c2d_early_out_index():
    """mmaction2's C2D fails on an early out index (it feeds the 3D view to the next 2D stage); here the stage
    outputs come out as clips and the last one equals the single-output model's."""
    cfg = dict(type='C2D', depth=18, pretrained=None)
    single, multi = _build(cfg).eval(), _build(dict(cfg, out_indices=(1, 3))).eval()
    multi.load_state_dict(single.state_dict())
    x = torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        stage2, stage4 = multi(x)
        assert torch.equal(stage4, single(x))
    assert stage2.shape == (2, 128, 2, 4, 4) and stage4.shape == (2, 512, 2, 1, 1)


@pytest.mark.parametrize('cfg', [
    dict(type='ResNet3dSlowFast', resample_rate=4, speed_ratio=4,
         slow_pathway=dict(type='resnet3d', depth=18, base_channels=16, lateral=True, conv1_kernel=(1, 7, 7),
                           inflate=(0, 0, 1, 1), num_stages=2, out_indices=(1,), spatial_strides=(1, 2),
                           temporal_strides=(1, 1), dilations=(1, 1)),
         fast_pathway=dict(type='resnet3d', depth=18, base_channels=2, conv1_kernel=(5, 7, 7), num_stages=2,
                           out_indices=(1,), spatial_strides=(1, 2), temporal_strides=(1, 1), dilations=(1, 1))),
    dict(type='ResNet3dCSN', depth=50, pretrained=None, bottleneck_mode='ip', base_channels=8, num_stages=2,
         out_indices=(1,), temporal_strides=(1, 2), spatial_strides=(1, 2), dilations=(1, 1)),
    dict(type='ResNet2Plus1d', depth=18, base_channels=8, num_stages=2, out_indices=(1,), spatial_strides=(1, 2),
         temporal_strides=(1, 2), dilations=(1, 1), pretrained=None, pretrained2d=False,
         conv_cfg=dict(type='Conv2plus1d')),
    dict(type='X3D', gamma_b=1.5, num_stages=2, spatial_strides=(2, 2)),
], ids=lambda cfg: cfg['type'])
def test_init_weights_from_scratch(cfg):
    """``pretrained=None``: Kaiming convs (zero bias), BN weight 1 / bias 0, the residual branch's last BN 0."""
    model = _build(cfg)
    model.init_weights()
    weights = {float(bn.weight.unique()[0]) for bn in _bns(model) if bn.weight.unique().numel() == 1}
    assert weights == {0.0, 1.0} and all(float(bn.bias.abs().sum()) == 0 for bn in _bns(model))
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv3d)]
    assert all(m.bias is None or float(m.bias.abs().sum()) == 0 for m in convs)
    out = model(torch.randn(1, 3, 8, 32, 32))
    assert all(torch.isfinite(o).all() for o in (out if isinstance(out, tuple) else (out,)))


@pytest.mark.parametrize('cfg', [
    dict(type='ResNet3d', depth=50, base_channels=4, num_stages=2, out_indices=(1,), spatial_strides=(1, 2),
         temporal_strides=(1, 1), dilations=(1, 1), non_local=((0, 0, 1), (0, 0, 0, 0))),
    dict(type='ResNet3d', depth=18, base_channels=4, num_stages=2, out_indices=(1,), spatial_strides=(1, 2),
         temporal_strides=(1, 1), dilations=(1, 1)),
    dict(type='X3D', gamma_b=1, num_stages=2, spatial_strides=(2, 2)),
], ids=['bottleneck', 'basic', 'x3d'])
def test_with_cp_gives_the_same_gradients(cfg):
    torch.manual_seed(0)
    plain, checkpointed = _build(cfg), _build(dict(cfg, with_cp=True))
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 4, 16, 16)
    grads = []
    for model in (plain, checkpointed):
        model.train()
        model(x).square().mean().backward()
        grads.append([p.grad for p in model.parameters()])
    assert all(torch.allclose(a, b, rtol=1e-4, atol=1e-6) for a, b in zip(*grads))
