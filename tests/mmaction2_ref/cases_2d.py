"""mmaction2 1.2.0's 2D backbones and the TPN neck: backbone/neck dicts from its configs, unchanged unless noted.

Sources: ``configs/_base_/models/{tsn_r50,trn_r50,tsm_r50,tin_r50,tanet_r50,tsm_mobilenet_v2,tpn_tsm_r50}.py``
and the variants under ``configs/recognition/{tsn,tsm,tin,tanet,trn,tpn}/``. Inputs are small (32x32 or 64x64
frames); the frame count matches ``num_segments`` where the model shifts frames in time. ``slow=True`` marks the
cases the quick test run skips (deeper networks, variants of a case already covered).
"""

_R50_URL = 'https://download.pytorch.org/models/resnet50-11ad3fa6.pth'
_R101_URL = 'https://download.pytorch.org/models/resnet101-cd907fc2.pth'


def _backbone(model, x):
    return model(x)


def _thinned(run, step):
    """``run``, keeping every ``step``-th channel of each output so the stored reference stays small."""
    def thinned_run(model, *inputs):
        out = run(model, *inputs)
        return tuple(o[:, ::step] for o in out) if isinstance(out, tuple) else out[:, ::step]
    return thinned_run


CASES = [
    # Smoke case of the reference machinery (folded in from cases_smoke).
    dict(name='resnet18_backbone', cfg=dict(type='ResNet', depth=18, pretrained=None),
         inputs=[(2, 3, 32, 32)], run=_backbone),
    # tsn_r50.py
    dict(name='tsn_r50', cfg=dict(type='ResNet', pretrained=_R50_URL,
                                  depth=50, norm_eval=False),
         inputs=[(2, 3, 32, 32)], run=_backbone),
    # tsn_imagenet-pretrained-r50_8xb32_5x1x3-110e_kinetics400-flow.py (clip_len=5 -> 10 flow channels)
    dict(name='tsn_r50_flow', cfg=dict(type='ResNet', pretrained=_R50_URL,
                                       depth=50, in_channels=2 * 5, norm_eval=False),
         inputs=[(2, 10, 32, 32)], run=_backbone),
    # tsn_imagenet-pretrained-r101_8xb32-1x1x8-100e_kinetics400-rgb.py
    dict(name='tsn_r101', cfg=dict(type='ResNet', pretrained=_R101_URL,
                                   depth=101, norm_eval=False),
         inputs=[(1, 3, 32, 32)], run=_backbone, slow=True),
    # trn_r50.py (partial_bn only changes training; eval outputs must match)
    dict(name='trn_r50', cfg=dict(type='ResNet', pretrained='torchvision://resnet50', depth=50, norm_eval=False,
                                  partial_bn=True),
         inputs=[(2, 3, 32, 32)], run=_backbone),
    # Not from a config: the options around the configs (caffe style, 3 stages, several outputs, dilation).
    dict(name='resnet34_caffe_multi_out', cfg=dict(type='ResNet', depth=34, num_stages=3, out_indices=(0, 1, 2),
                                                  strides=(1, 2, 1), dilations=(1, 1, 2), style='caffe'),
         inputs=[(1, 3, 32, 32)], run=_backbone),
]

_TSM_R50 = dict(type='ResNetTSM', pretrained='torchvision://resnet50', depth=50, norm_eval=False, shift_div=8)
# tsm_imagenet-pretrained-r50-nl-*_8xb16-1x1x8-50e_kinetics400-rgb.py: the base dict updated with these keys.
_NON_LOCAL = ((0, 0, 0), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 0, 0))


def _damped_dot_product(model, x):
    """The dot-product affinity is cubic in the activations: with the deterministic weights it overflows to NaN
    by the fifth non-local block (in mmaction2 too), so scale every ``theta`` down first (on both sides)."""
    for name, module in model.named_modules():
        if name.endswith('non_local_block'):
            module.theta.conv.weight.data.mul_(0.01)
    return model(x)


def _non_local_cfg(mode):
    return dict(sub_sample=True, use_scale=False, norm_cfg=dict(type='BN3d', requires_grad=True), mode=mode)


CASES += [
    # tsm_r50.py (num_segments defaults to 8)
    dict(name='tsm_r50', cfg=_TSM_R50, inputs=[(8, 3, 32, 32)], run=_backbone),
    # tsm_imagenet-pretrained-r50_8xb16-1x1x16-50e_kinetics400-rgb.py: 16 segments; two clips of 16 frames
    dict(name='tsm_r50_16seg', cfg=dict(_TSM_R50, num_segments=16), inputs=[(32, 3, 32, 32)],
         run=_thinned(_backbone, 8)),
    # tsm_imagenet-pretrained-r101_8xb16-1x1x8-50e_sthv2-rgb.py (every second block of a stage shifts)
    dict(name='tsm_r101', cfg=dict(_TSM_R50, pretrained='https://download.openmmlab.com/mmaction/v1.0/recognition/'
                                   'tsm/tsm_imagenet-pretrained-r101_8xb16-1x1x8-50e_sthv2-rgb/'
                                   'tsm_imagenet-pretrained-r101_8xb16-1x1x8-50e_sthv2-rgb_20230320-efcc0d1b.pth',
                                   depth=101),
         inputs=[(8, 3, 32, 32)], run=_backbone, slow=True),
    dict(name='tsm_r50_nl_dot_product', cfg=dict(_TSM_R50, non_local=_NON_LOCAL,
                                                 non_local_cfg=_non_local_cfg('dot_product')),
         inputs=[(8, 3, 64, 64)], run=_thinned(_damped_dot_product, 8)),
    dict(name='tsm_r50_nl_embedded_gaussian', cfg=dict(_TSM_R50, non_local=_NON_LOCAL,
                                                       non_local_cfg=_non_local_cfg('embedded_gaussian')),
         inputs=[(8, 3, 64, 64)], run=_thinned(_backbone, 8)),
    dict(name='tsm_r50_nl_gaussian', cfg=dict(_TSM_R50, non_local=_NON_LOCAL,
                                              non_local_cfg=_non_local_cfg('gaussian')),
         inputs=[(8, 3, 64, 64)], run=_thinned(_backbone, 8)),
    # tpn_tsm_r50.py: two stages out for the TPN neck
    dict(name='tpn_tsm_r50_backbone', cfg=dict(type='ResNetTSM', pretrained='torchvision://resnet50', depth=50,
                                               out_indices=(2, 3), norm_eval=False, shift_div=8),
         inputs=[(8, 3, 32, 32)], run=_thinned(_backbone, 4)),
    # Not from a config: the other shift place and the temporal pool, on ResNet-18.
    dict(name='tsm_r18_block_temporal_pool', cfg=dict(type='ResNetTSM', depth=18, num_segments=4, shift_div=4,
                                                      shift_place='block', temporal_pool=True),
         inputs=[(8, 3, 32, 32)], run=_backbone),
]

CASES += [
    # tsm_mobilenet_v2.py
    dict(name='tsm_mobilenet_v2', cfg=dict(type='MobileNetV2TSM', shift_div=8, num_segments=8, is_shift=True,
                                           pretrained='mmcls://mobilenet_v2'),
         inputs=[(8, 3, 32, 32)], run=_backbone),
    # Not from a config: the plain MobileNetV2 (TSN's 2D base) with several outputs, and a widened one.
    dict(name='mobilenet_v2_multi_out', cfg=dict(type='MobileNetV2', out_indices=(1, 4, 7)),
         inputs=[(2, 3, 32, 32)], run=_backbone),
    dict(name='mobilenet_v2_wide', cfg=dict(type='MobileNetV2', widen_factor=1.5), inputs=[(1, 3, 32, 32)],
         run=_backbone),
]

CASES += [
    # tanet_r50.py with pretrained=None: mmaction2's TANet loads its pretrained weights in the constructor, which the
    # offline peer cannot (ours reads them in init_weights()).
    dict(name='tanet_r50', cfg=dict(type='TANet', pretrained=None, depth=50, num_segments=8, tam_cfg=None),
         inputs=[(8, 3, 32, 32)], run=_backbone),
    # tanet_imagenet-pretrained-r50_8xb6-1x1x16-50e_sthv1-rgb.py: 16 segments, on 64x64 frames
    dict(name='tanet_r50_16seg', cfg=dict(type='TANet', pretrained=None, depth=50, num_segments=16, tam_cfg=None),
         inputs=[(16, 3, 64, 64)], run=_thinned(_backbone, 16)),
    # Not from a config: the TAM options.
    dict(name='tanet_r50_tam_options', cfg=dict(type='TANet', depth=50, num_segments=4,
                                                tam_cfg=dict(alpha=3, adaptive_kernel_size=5, beta=2,
                                                             conv1d_kernel_size=5, adaptive_convolution_padding=2)),
         inputs=[(8, 3, 32, 32)], run=_backbone),
]


def naive_tin_shift(data, shift):
    """mmcv's ``tin_shift`` written from its CUDA kernel (tin_shift_cuda_kernel.cuh), one frame at a time:
    for input ``(N, T, C, L)`` and integer ``shift`` ``(N, G)``, ``output[n, t + s, c] = input[n, t, c]`` with
    ``s = shift[n, c // (C // G)]`` wherever ``0 <= t + s < T``; every other output entry is 0."""
    import torch
    n, t, c, _ = data.shape
    group_channels = c // shift.shape[1]
    out = torch.zeros_like(data)
    for b in range(n):
        for g in range(shift.shape[1]):
            s = int(shift[b, g])
            channels = slice(g * group_channels, (g + 1) * group_channels)
            for i in range(t):
                if 0 <= i + s < t:
                    out[b, i + s, channels] = data[b, i, channels]
    return out


def _with_naive_tin_shift(model, x):
    """mmaction2's TIN imports ``tin_shift`` from mmcv's compiled ops when it runs, which the CPU peer lacks:
    provide :func:`naive_tin_shift` as ``mmcv.ops`` for this call only (our model does not import it)."""
    import sys
    import types
    stub = types.ModuleType('mmcv.ops')
    stub.tin_shift = naive_tin_shift
    saved = sys.modules.get('mmcv.ops')
    sys.modules['mmcv.ops'] = stub
    try:
        return model(x)
    finally:
        if saved is None:
            del sys.modules['mmcv.ops']
        else:
            sys.modules['mmcv.ops'] = saved


CASES += [
    # tin_r50.py
    dict(name='tin_r50', cfg=dict(type='ResNetTIN', pretrained='torchvision://resnet50', depth=50, norm_eval=False,
                                  shift_div=4),
         inputs=[(8, 3, 32, 32)], run=_with_naive_tin_shift),
    # Not from a config: two clips of 4 frames, every channel group of ResNet-18 interlaced (shift_div=1).
    dict(name='tin_r18_div1', cfg=dict(type='ResNetTIN', depth=18, num_segments=4, shift_div=1),
         inputs=[(8, 3, 32, 32)], run=_with_naive_tin_shift),
]

# tpn_tsm_r50.py's neck (tpn_slowonly_r50.py's differs only in aux_head_cfg's out_channels, 400)
_TPN = dict(
    type='TPN',
    in_channels=(1024, 2048),
    out_channels=1024,
    spatial_modulation_cfg=dict(in_channels=(1024, 2048), out_channels=2048),
    temporal_modulation_cfg=dict(downsample_scales=(8, 8)),
    upsample_cfg=dict(scale_factor=(1, 1, 1)),
    downsample_cfg=dict(downsample_scale=(1, 1, 1)),
    level_fusion_cfg=dict(in_channels=(1024, 1024), mid_channels=(1024, 1024), out_channels=2048,
                          downsample_scales=((1, 1, 1), (1, 1, 1))),
    aux_head_cfg=dict(out_channels=174, loss_weight=0.5))
# Two clips; the backbone's last two stages folded to (N, C, T, H, W) as the recognizer does.
_TPN_INPUTS = [(2, 1024, 8, 4, 4), (2, 2048, 8, 2, 2)]


def _samples(labels):
    import types

    import torch
    return [types.SimpleNamespace(gt_label=torch.tensor([label])) for label in labels]


def _tpn_eval(model, low, high):
    return model((low, high))


def _tpn_eval_with_labels(model, low, high):
    return model((low, high), data_samples=_samples([3, 170]))


def _tpn_train(model, low, high):
    """Training mode: batch statistics and dropout; the seeded dropout mask is the same on both sides."""
    import torch
    model.train()
    torch.manual_seed(0)
    return model((low, high), data_samples=_samples([0, 99]))


CASES += [
    dict(name='tpn_tsm_neck_aux_loss', cfg=_TPN, inputs=_TPN_INPUTS, run=_tpn_eval_with_labels),
    dict(name='tpn_slowonly_neck_train',
         cfg=dict(_TPN, aux_head_cfg=dict(out_channels=400, loss_weight=0.5)), inputs=_TPN_INPUTS, run=_tpn_train),
    # Not from a config: the parallel flow.
    dict(name='tpn_parallel_neck', cfg=dict(_TPN, flow_type='parallel'), inputs=_TPN_INPUTS, run=_tpn_eval,
         slow=True),
]
