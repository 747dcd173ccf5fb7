"""mmaction2 1.2.0's 2D backbones (ResNet, ResNetTSM, ResNetTIN, TANet, MobileNetV2, MobileNetV2TSM) and the TPN
neck: key/shape/parameter-count/output parity with the mmaction2 peer (refs in tests/mmaction2_ref/refs/cases_2d),
the temporal shifts against hand-written definitions, training-mode switches and 2D-pretrained loading."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmaction.registry import MODELS, build_from_cfg
from tests.mmaction2_ref import cases_2d
from tests.mmaction2_ref.compare import check_case


def build(cfg):
    return build_from_cfg(cfg, MODELS, where='model.backbone')


class _CrossEntropyLoss(nn.Module):
    """mmaction2's default ``CrossEntropyLoss`` (no class weights, loss_weight 1) for TPN's aux head, registered
    only while the recognizer heads' own losses are not in MODELS."""

    def forward(self, cls_score, label):
        return F.cross_entropy(cls_score, label)


@pytest.fixture(autouse=True)
def cross_entropy_loss():
    if 'CrossEntropyLoss' in MODELS.module_dict:
        yield
        return
    MODELS.register_module(name='CrossEntropyLoss', module=_CrossEntropyLoss)
    try:
        yield
    finally:
        MODELS.module_dict.pop('CrossEntropyLoss', None)


@pytest.mark.parametrize('case', [pytest.param(c, id=c['name'], marks=[pytest.mark.slow] if c.get('slow') else [])
                                  for c in cases_2d.CASES])
def test_matches_mmaction2(case):
    check_case('cases_2d', case, build)


def bn_layers(module):
    return [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


# ---------------------------------------------------------------- ResNet
def test_resnet_build_does_no_io(monkeypatch):
    """A config's pretrained URL is read by init_weights(), never at build time."""
    import mmaction.utils.checkpoint as ckpt

    def no_io(*args, **kwargs):
        raise AssertionError('checkpoint read at build time')
    monkeypatch.setattr(ckpt, 'load_file', no_io)
    monkeypatch.setattr(torch.hub, 'download_url_to_file', no_io)
    model = build(dict(type='ResNet', pretrained='torchvision://resnet50', depth=50))
    assert model.pretrained == 'torchvision://resnet50'
    with pytest.raises(AssertionError, match='read at build time'):
        model.init_weights()


def test_resnet_default_init():
    model = build(dict(type='ResNet', depth=18))
    model.init_weights()
    assert all(torch.equal(m.weight, torch.ones_like(m.weight)) for m in bn_layers(model))
    # Kaiming normal, fan_out, relu gain: std = sqrt(2 / (out_channels * k * k)).
    weight = model.layer4[0].conv2.conv.weight
    assert abs(weight.std().item() - (2 / (512 * 9)) ** 0.5) < 0.05 * (2 / (512 * 9)) ** 0.5


def test_resnet_loads_torchvision_layout(tmp_path):
    """A torchvision-named checkpoint (our v0 ResNet uses torchvision's names) gives the same network."""
    from mmaction.models.backbones.resnet import ResNet as TorchvisionLayoutResNet
    reference = TorchvisionLayoutResNet(depth=18, out_indices=(3,), bn_eval=False)
    for m in bn_layers(reference):  # non-trivial statistics, so a BN loaded under the wrong name shows
        m.running_mean.uniform_(-0.5, 0.5)
        m.running_var.uniform_(0.5, 1.5)
    path = str(tmp_path / 'resnet18_tv.pth')
    torch.save(reference.state_dict(), path)
    model = build(dict(type='ResNet', depth=18, pretrained=path))
    model.init_weights()
    reference.eval(), model.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x))


def test_resnet_pretrained_skips_mismatched_stem(tmp_path):
    """Flow models (in_channels=10) keep their own stem when the checkpoint is RGB; the rest loads."""
    rgb = build(dict(type='ResNet', depth=18))
    torch.save(rgb.state_dict(), tmp_path / 'rgb.pth')
    flow = build(dict(type='ResNet', depth=18, in_channels=10, pretrained=str(tmp_path / 'rgb.pth')))
    flow.init_weights()
    assert flow.conv1.conv.weight.shape == (64, 10, 7, 7)
    assert torch.equal(flow.layer3[1].conv2.conv.weight, rgb.layer3[1].conv2.conv.weight)


def test_resnet_frozen_stages_and_norm_eval():
    model = build(dict(type='ResNet', depth=18, frozen_stages=2, norm_eval=False))
    model.train()
    frozen = [model.conv1, model.layer1, model.layer2]
    assert all(not p.requires_grad for m in frozen for p in m.parameters())
    assert all(p.requires_grad for p in model.layer3.parameters())
    assert all(not m.training for m in frozen for m in bn_layers(m))
    assert all(m.training for m in bn_layers(model.layer3))
    model = build(dict(type='ResNet', depth=18, norm_eval=True)).train()
    assert not any(m.training for m in bn_layers(model))
    assert all(p.requires_grad for p in model.parameters())


def test_resnet_partial_bn():
    """TRN's partial BN: only the stem's BN keeps training; the others are in eval mode with frozen affine."""
    model = build(dict(type='ResNet', depth=18, partial_bn=True)).train()
    bns = bn_layers(model)
    assert bns[0] is model.conv1.bn and bns[0].training and bns[0].weight.requires_grad
    assert not any(m.training or m.weight.requires_grad or m.bias.requires_grad for m in bns[1:])
    assert all(p.requires_grad for n, p in model.named_parameters() if '.conv.' in n)


def test_resnet_with_cp_same_gradients():
    torch.manual_seed(0)
    one_stage = dict(type='ResNet', depth=50, num_stages=1, out_indices=(0,), strides=(1,), dilations=(1,))
    plain = build(one_stage)
    checkpointed = build(dict(one_stage, with_cp=True))
    checkpointed.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 32, 32, requires_grad=True)
    plain(x).sum().backward()
    grad = x.grad.clone()
    x.grad = None
    checkpointed(x).sum().backward()
    torch.testing.assert_close(x.grad, grad)


@pytest.mark.parametrize('cfg, message', [
    (dict(type='ResNet', depth=20), 'invalid depth 20'),
    (dict(type='ResNet', depth=50, out_indices=(4,)), 'out_indices'),
    (dict(type='ResNet', depth=18, with_cp=True), 'with_cp'),
    (dict(type='ResNet', depth=50, style='tf'), "style must be 'pytorch' or 'caffe'"),
])
def test_resnet_bad_config(cfg, message):
    with pytest.raises((ValueError, KeyError), match=message):
        build(cfg)


# ---------------------------------------------------------------- temporal shift (TSM)
def test_temporal_shift_by_hand():
    """T=3 frames, 4 channels, shift_div=4: channel 0 takes the next frame, channel 1 the previous, 2-3 stay."""
    from mmaction.models.mmaction2.backbones._shift import temporal_shift
    x = torch.arange(1, 13, dtype=torch.float32).view(3, 4, 1, 1)  # frame t, channel c -> 4t + c + 1
    out = temporal_shift(x, num_segments=3, shift_div=4).view(3, 4)
    expected = torch.tensor([[5., 0., 3., 4.],
                             [9., 2., 7., 8.],
                             [0., 6., 11., 12.]])
    torch.testing.assert_close(out, expected)
    two_clips = torch.cat([x, x + 100])
    out2 = temporal_shift(two_clips, num_segments=3, shift_div=4).view(6, 4)
    torch.testing.assert_close(out2[3:], torch.where(expected > 0, expected + 100, expected))
    with pytest.raises(ValueError, match='multiple of num_segments=3'):
        temporal_shift(torch.zeros(4, 4, 1, 1), 3, 4)


def count(model, cls_name):
    return sum(type(m).__name__ == cls_name for m in model.modules())


def test_tsm_shift_places():
    r50 = build(dict(type='ResNetTSM', depth=50))
    assert count(r50, 'TemporalShift') == 16  # every block, before conv1
    assert all(type(b.conv1.conv).__name__ == 'TemporalShift' for b in r50.layer3)
    r101 = build(dict(type='ResNetTSM', depth=101))
    assert count(r101, 'TemporalShift') == 2 + 2 + 12 + 2  # every second block of each stage
    block = build(dict(type='ResNetTSM', depth=18, shift_place='block', temporal_pool=True, num_segments=8))
    assert [m.num_segments for m in block.modules() if type(m).__name__ == 'TemporalShift'] == [8] * 2 + [4] * 6
    with pytest.raises(ValueError, match="shift_place must be 'block' or 'blockres'"):
        build(dict(type='ResNetTSM', depth=18, shift_place='conv'))
    with pytest.raises(ValueError, match='non_local entry for layer2 has 2 flags for 4 blocks'):
        build(dict(type='ResNetTSM', depth=50, non_local=(0, (1, 0), 0, 0), non_local_cfg=dict(sub_sample=True)))


def test_tsm_loads_torchvision_resnet_into_wrapped_blocks(tmp_path):
    """pretrained2d: a torchvision ResNet checkpoint reaches the shifted convs and the non-local-wrapped blocks."""
    from mmaction.models.backbones.resnet import ResNet as TorchvisionLayoutResNet
    reference = TorchvisionLayoutResNet(depth=50)
    path = str(tmp_path / 'resnet50_tv.pth')
    torch.save(reference.state_dict(), path)
    model = build(dict(type='ResNetTSM', depth=50, pretrained=path, non_local=cases_2d._NON_LOCAL,
                       non_local_cfg=dict(sub_sample=True, norm_cfg=dict(type='BN3d', requires_grad=True))))
    model.init_weights()
    state = model.state_dict()
    assert torch.equal(state['layer1.0.conv1.conv.net.weight'], reference.layer1[0].conv1.weight)
    assert torch.equal(state['layer2.0.block.conv1.conv.net.weight'], reference.layer2[0].conv1.weight)
    assert torch.equal(state['layer2.0.block.downsample.bn.running_var'], reference.layer2[0].downsample[1].running_var)
    assert torch.equal(state['layer3.5.conv3.bn.weight'], reference.layer3[5].bn3.weight)
    # The non-local blocks keep mmcv's init: zero output norm, so each starts as the identity.
    assert not state['layer2.0.non_local_block.conv_out.bn.weight'].any()



# ---------------------------------------------------------------- MobileNetV2 / MobileNetV2TSM
def test_mobilenet_v2_tsm_shifts_and_loads_mmcls_layout(tmp_path):
    """Shift only in shape-keeping expanded blocks; an mmcls checkpoint (``backbone.`` keys) loads into them."""
    model = build(dict(type='MobileNetV2TSM', num_segments=4))
    shifted = [name for name, m in model.named_modules() if type(m).__name__ == 'TemporalShift']
    # blocks with an identity shortcut: 1 + 2 + 3 + 2 + 2 of the 17 (the first of each stage changes shape)
    assert len(shifted) == 10 and 'layer2.1.conv.0' in shifted and 'layer2.0.conv.0' not in shifted
    plain = build(dict(type='MobileNetV2'))
    for m in bn_layers(plain):
        m.running_mean.uniform_(-0.5, 0.5)
    state = {'backbone.' + k: v for k, v in plain.state_dict().items()}
    state['head.fc.weight'] = torch.zeros(1000, 1280)
    torch.save({'state_dict': state}, tmp_path / 'mobilenet_v2_mmcls.pth')
    model.pretrained = str(tmp_path / 'mobilenet_v2_mmcls.pth')
    model.init_weights()
    ours = model.state_dict()
    assert torch.equal(ours['layer2.1.conv.0.net.conv.weight'], plain.layer2[1].conv[0].conv.weight)
    assert torch.equal(ours['layer7.0.conv.2.bn.running_mean'], plain.layer7[0].conv[2].bn.running_mean)
    # With the shift off, the loaded network is the 2D one.
    model.eval(), plain.eval()
    x = torch.randn(4, 3, 32, 32)
    for m in model.modules():
        if type(m).__name__ == 'TemporalShift':
            m.shift_div = 10 ** 6  # fold 0: nothing moves
    with torch.no_grad():
        torch.testing.assert_close(model(x), plain(x))


def test_mobilenet_v2_frozen_stages_and_errors():
    model = build(dict(type='MobileNetV2', frozen_stages=8, norm_eval=True)).train()
    assert not any(p.requires_grad for p in model.parameters())
    assert not any(m.training for m in bn_layers(model))
    model = build(dict(type='MobileNetV2', frozen_stages=2)).train()
    assert not any(p.requires_grad for m in (model.conv1, model.layer1, model.layer2) for p in m.parameters())
    assert all(p.requires_grad for p in model.layer3.parameters()) and model.layer3.training
    with pytest.raises(ValueError, match=r'out_indices must be in 0..7'):
        build(dict(type='MobileNetV2', out_indices=(8,)))
    with pytest.raises(ValueError, match=r'frozen_stages must be in -1..8'):
        build(dict(type='MobileNetV2', frozen_stages=9))


# ---------------------------------------------------------------- TANet
def test_tanet_loads_torchvision_resnet_and_rejects_bad_configs(tmp_path):
    from mmaction.models.backbones.resnet import ResNet as TorchvisionLayoutResNet
    reference = TorchvisionLayoutResNet(depth=50)
    torch.save(reference.state_dict(), tmp_path / 'r50.pth')
    model = build(dict(type='TANet', depth=50, num_segments=8, pretrained=str(tmp_path / 'r50.pth')))
    model.init_weights()
    assert torch.equal(model.state_dict()['layer4.2.block.conv2.conv.weight'], reference.layer4[2].conv2.weight)
    assert torch.equal(model.state_dict()['layer1.0.block.downsample.bn.bias'], reference.layer1[0].downsample[1].bias)
    assert model.layer2[3].tam.G[0].weight.shape == (16, 8)  # TAM keeps its own init
    with pytest.raises(ValueError, match='TA-blocks need Bottleneck blocks'):
        build(dict(type='TANet', depth=18, num_segments=8))
    with pytest.raises(ValueError, match='num_segments must be at least 3'):
        build(dict(type='TANet', depth=50, num_segments=2))


# ---------------------------------------------------------------- TIN
def test_tin_shift_matches_kernel_definition():
    from mmaction.models.mmaction2.backbones._shift import tin_shift
    generator = torch.Generator().manual_seed(0)
    data = torch.randn(3, 5, 8, 6, generator=generator)
    shift = torch.randint(-6, 7, (3, 4), generator=generator, dtype=torch.int32)  # beyond +-T too
    shift[0] = torch.tensor([0, 1, -1, 5])
    torch.testing.assert_close(tin_shift(data, shift), cases_2d.naive_tin_shift(data, shift), rtol=0, atol=0)
    with pytest.raises(ValueError, match=r'channels \(8\) must be a multiple of the number of groups \(3\)'):
        tin_shift(data, shift[:, :3])


def test_tin_shift_gradient_is_the_reverse_shift():
    from mmaction.models.mmaction2.backbones._shift import tin_shift
    data = torch.randn(2, 4, 4, 3, dtype=torch.float64, requires_grad=True)
    shift = torch.tensor([[1, -2], [0, 3]], dtype=torch.int32)
    assert torch.autograd.gradcheck(lambda d: tin_shift(d, shift), (data,))


def test_linear_sampler_interpolates_between_whole_shifts():
    """Offset 0.25 for group 0 and -1.5 for group 1: 3/4 of the unshifted + 1/4 of the one-frame-later frames."""
    from mmaction.models.mmaction2.backbones.resnet_tin import linear_sampler
    frames = torch.tensor([1., 2., 4., 8.])  # T=4
    data = frames.view(1, 4, 1, 1, 1).repeat(1, 1, 2, 1, 1)  # (N=1, T=4, C=2, 1, 1)
    out = linear_sampler(data, torch.tensor([[0.25, -1.5]])).view(4, 2)
    torch.testing.assert_close(out[:, 0], torch.tensor([0.75 * 1, 0.75 * 2 + 0.25 * 1, 0.75 * 4 + 0.25 * 2,
                                                        0.75 * 8 + 0.25 * 4]))
    # -1.5 = 0.5 * shift(-2) + 0.5 * shift(-1): frame t takes 0.5 * (x[t+2] + x[t+1])
    torch.testing.assert_close(out[:, 1], torch.tensor([0.5 * (4 + 2), 0.5 * (8 + 4), 0.5 * 8, 0.]))


def test_tin_offsets_get_gradients():
    """The fractional offsets learn through the interpolation weights (the integer shifts carry no gradient)."""
    torch.manual_seed(0)
    model = build(dict(type='ResNetTIN', depth=18, num_segments=4, shift_div=4))
    model(torch.randn(8, 3, 32, 32)).sum().backward()
    interlaces = [m for m in model.modules() if type(m).__name__ == 'TemporalInterlace']
    assert len(interlaces) == 8
    assert all(m.offset_net.fc2.bias.grad.abs().min() > 0 for m in interlaces)
    assert all(m.weight_net.conv.bias.grad.abs().min() > 0 for m in interlaces)
    assert model.layer1[0].conv1.conv.net1.offset_net.fc2.bias.detach().eq(0.5108).all()  # mmaction2's init


# ---------------------------------------------------------------- TPN
def test_tpn_outputs_and_aux_loss_modes():
    """Without data_samples no aux loss (testing); with them ``{'loss_aux'}`` = loss_weight * cross-entropy of the
    aux head's logits, in training mode too."""
    from types import SimpleNamespace
    neck = build(dict(cases_2d._TPN, in_channels=(64, 128), out_channels=64,
                      spatial_modulation_cfg=dict(in_channels=(64, 128), out_channels=128),
                      level_fusion_cfg=dict(in_channels=(64, 64), mid_channels=(64, 64), out_channels=128,
                                            downsample_scales=((1, 1, 1), (1, 1, 1))),
                      aux_head_cfg=dict(out_channels=5, loss_weight=0.5)))
    neck.init_weights()
    assert neck.pyramid_fusion.conv.weight.shape == (2048, 256, 1, 1, 1)
    low, high = torch.randn(2, 64, 8, 4, 4), torch.randn(2, 128, 8, 2, 2)
    neck.eval()
    with torch.no_grad():
        out, losses = neck((low, high))
        assert out.shape == (2, 2048, 1, 2, 2) and losses == {}
        _, losses = neck((low, high), data_samples=[SimpleNamespace(gt_label=torch.tensor([1])),
                                                    {'gt_label': torch.tensor([4])}])
        expected = 0.5 * F.cross_entropy(neck.aux_head(low), torch.tensor([1, 4]))  # the second-to-last level
        torch.testing.assert_close(losses['loss_aux'], expected)
    neck.train()
    out, losses = neck((low, high), data_samples=[SimpleNamespace(gt_label=torch.tensor([2]))] * 2)
    assert set(losses) == {'loss_aux'} and losses['loss_aux'].requires_grad
    (out.sum() + losses['loss_aux']).backward()
    assert neck.aux_head.fc.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='has no gt_label'):
        neck((low, high), data_samples=[{}, {}])


def test_tpn_bad_config():
    with pytest.raises(ValueError, match="flow_type must be 'cascade' or 'parallel'"):
        build(dict(cases_2d._TPN, flow_type='serial'))
    with pytest.raises(Exception, match='level_fusion_cfg'):
        build(dict(cases_2d._TPN, level_fusion_cfg=None))
