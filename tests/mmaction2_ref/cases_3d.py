"""mmaction2's 3D backbones: the ``backbone`` dicts of its 1.2.0 configs (recognition/i3d, slowonly, slowfast,
r2plus1d, csn, c3d, x3d, c2d), unchanged, on small clips so the references stay small."""


def _forward(model, x):
    return model(x)


def _no_forward(model, x):
    """Keys, shapes and counts only (the case's modules cannot run alone)."""
    return ()


def _train_flags_and_forward(model, x):
    """Training mode as mmaction2 sets it (frozen stages, norm_eval, bn_frozen): per-parameter ``requires_grad``
    and per-BN ``training`` flags (the modules whose mode changes results) as tensors, then the forward in that
    mode (BNs on batch statistics unless frozen or norm_eval)."""
    import torch
    model.train()
    grads = torch.tensor([float(p.requires_grad) for p in model.parameters()])
    modes = torch.tensor([float(m.training) for m in model.modules()
                          if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)])
    return grads, modes, model(x)


def _inflated_from_2d(model, x):
    """``init_weights`` with a torchvision-named 2D ResNet file made from the model's own weights (kernels summed
    over time, BN statistics changed, an unused ``fc``), then the forward: the 2D-to-3D inflation end to end."""
    import os
    import tempfile

    import torch
    state_2d = {'fc.weight': torch.ones(4, 2048), 'fc.bias': torch.zeros(4)}
    for name, module in model.named_modules():
        if type(module).__name__ != 'ConvModule' or 'non_local' in name:  # a torchvision file has no non-local
            continue
        conv_2d, bn_2d = (name + '.0', name + '.1') if name.endswith('downsample') else \
            (name, name.replace('conv', 'bn'))
        state_2d[conv_2d + '.weight'] = module.conv.weight.detach().sum(dim=2)
        bn = module.bn
        state_2d.update({bn_2d + '.weight': bn.weight.detach() * 0.9, bn_2d + '.bias': bn.bias.detach() + 0.01,
                         bn_2d + '.running_mean': bn.running_mean * 0.5, bn_2d + '.running_var': bn.running_var * 1.1})
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'resnet2d.pth')
        torch.save(state_2d, path)
        model.init_weights(pretrained=path)
    return model(x)


# recognition/i3d/i3d_imagenet-pretrained-r50_8xb8-32x2x1-100e_kinetics400-rgb.py
I3D_R50 = dict(
    type='ResNet3d', pretrained2d=True, pretrained='torchvision://resnet50', depth=50, conv1_kernel=(5, 7, 7),
    conv1_stride_t=2, pool1_stride_t=2, conv_cfg=dict(type='Conv3d'), norm_eval=False,
    inflate=((1, 1, 1), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 1, 0)), zero_init_residual=False)
# recognition/i3d/i3d_imagenet-pretrained-r50-nl-embedded-gaussian_8xb8-32x2x1-100e_kinetics400-rgb.py
I3D_R50_NL = dict(
    I3D_R50, non_local=((0, 0, 0), (0, 1, 0, 1), (0, 1, 0, 1, 0, 1), (0, 0, 0)),
    non_local_cfg=dict(sub_sample=True, use_scale=False, norm_cfg=dict(type='BN3d', requires_grad=True),
                       mode='embedded_gaussian'))
# recognition/i3d/i3d_imagenet-pretrained-r50-heavy_8xb8-32x2x1-100e_kinetics400-rgb.py
I3D_R50_HEAVY = dict(
    type='ResNet3d', pretrained2d=True, pretrained='torchvision://resnet50', depth=50, conv1_kernel=(5, 7, 7),
    conv1_stride_t=1, pool1_stride_t=1, conv_cfg=dict(type='Conv3d'), norm_eval=False, inflate=(1, 1, 1, 1),
    zero_init_residual=False, with_pool2=True)
# recognition/slowonly/slowonly_r50_8xb16-8x8x1-256e_kinetics400-rgb.py and its -in1k-pre-nl- sibling
SLOWONLY_R50 = dict(
    type='ResNet3dSlowOnly', depth=50, pretrained=None, lateral=False, conv1_kernel=(1, 7, 7), conv1_stride_t=1,
    pool1_stride_t=1, inflate=(0, 0, 1, 1), norm_eval=False)
SLOWONLY_R50_NL = dict(
    SLOWONLY_R50, pretrained='https://download.pytorch.org/models/resnet50-11ad3fa6.pth',
    non_local=((0, 0, 0), (1, 0, 1, 0), (1, 0, 1, 0, 1, 0), (0, 0, 0)),
    non_local_cfg=dict(sub_sample=True, use_scale=True, norm_cfg=dict(type='BN3d', requires_grad=True),
                       mode='embedded_gaussian'))
# recognition/slowfast/slowfast_r50_8xb8-4x16x1-256e_kinetics400-rgb.py
SLOWFAST_R50_4X16 = dict(
    type='ResNet3dSlowFast', pretrained=None, resample_rate=8, speed_ratio=8, channel_ratio=8,
    slow_pathway=dict(type='resnet3d', depth=50, pretrained=None, lateral=True, conv1_kernel=(1, 7, 7),
                      dilations=(1, 1, 1, 1), conv1_stride_t=1, pool1_stride_t=1, inflate=(0, 0, 1, 1),
                      norm_eval=False),
    fast_pathway=dict(type='resnet3d', depth=50, pretrained=None, lateral=False, base_channels=8,
                      conv1_kernel=(5, 7, 7), conv1_stride_t=1, pool1_stride_t=1, norm_eval=False))
# recognition/slowfast/slowfast_r50_8xb8-8x8x1-steplr-256e_kinetics400-rgb.py (lateral_norm) and
# slowfast_r101-r50_32xb8-4x16x1-256e_kinetics400-rgb.py (a deeper slow pathway)
SLOWFAST_R50_8X8_STEPLR = dict(
    SLOWFAST_R50_4X16, resample_rate=4, speed_ratio=4,
    slow_pathway=dict(SLOWFAST_R50_4X16['slow_pathway'], fusion_kernel=7, lateral_norm=True))
SLOWFAST_R101_R50 = dict(SLOWFAST_R50_4X16, slow_pathway=dict(SLOWFAST_R50_4X16['slow_pathway'], depth=101))
# recognition/csn/ircsn_ig65m-pretrained-r152-bnfrozen_8xb12-32x2x1-58e_kinetics400-rgb.py; ipcsn_r152_32x2x1-... is
# the same dict with bottleneck_mode='ip' and pretrained=None, ircsn_ig65m-pretrained-r50-... with depth=50
IRCSN_R152 = dict(
    type='ResNet3dCSN', pretrained2d=False,
    pretrained=('https://download.openmmlab.com/mmaction/recognition/csn/'
                'ircsn_from_scratch_r152_ig65m_20200807-771c4135.pth'),
    depth=152, with_pool2=False, bottleneck_mode='ir', norm_eval=True, zero_init_residual=False, bn_frozen=True)
IPCSN_R152 = dict(IRCSN_R152, pretrained=None, bottleneck_mode='ip')
IRCSN_R50 = dict(IRCSN_R152, depth=50)
# recognition/r2plus1d/r2plus1d_r34_8xb8-8x8x1-180e_kinetics400-rgb.py
R2PLUS1D_R34 = dict(
    type='ResNet2Plus1d', depth=34, pretrained=None, pretrained2d=False, norm_eval=False,
    conv_cfg=dict(type='Conv2plus1d'), norm_cfg=dict(type='SyncBN', requires_grad=True, eps=0.001),
    conv1_kernel=(3, 7, 7), conv1_stride_t=1, pool1_stride_t=1, inflate=(1, 1, 1, 1),
    spatial_strides=(1, 2, 2, 2), temporal_strides=(1, 2, 2, 2), zero_init_residual=False)
# recognition/c3d/c3d_sports1m-pretrained_8xb30-16x1x1-45e_ucf101-rgb.py; out_dim 8192 is the flattened pool5
# size of its 16x112x112 clips.
C3D = dict(
    type='C3D',
    pretrained='https://download.openmmlab.com/mmaction/recognition/c3d/c3d_sports1m_pretrain_20201016-dcc47ddc.pth',
    style='pytorch', conv_cfg=dict(type='Conv3d'), norm_cfg=None, act_cfg=dict(type='ReLU'), dropout_ratio=0.5,
    init_std=0.005)
# recognition/x3d/x3d_m_16x5x1_facebook-kinetics400-rgb.py (x3d_s uses the same backbone dict)
X3D_M = dict(type='X3D', gamma_w=1, gamma_b=2.25, gamma_d=2.2)
# recognition/c2d/c2d_r50-in1k-pre_8xb32-8x8x1-100e_kinetics400-rgb.py
C2D_R50 = dict(type='C2D', depth=50, pretrained='https://download.pytorch.org/models/resnet50-11ad3fa6.pth',
               norm_eval=False)

CASES = [
    dict(name='i3d_r50', cfg=I3D_R50, inputs=[(1, 3, 8, 32, 32)], run=_forward),
    # i3d_imagenet-pretrained-r50-nl-gaussian_...: the same dict with mode='gaussian' (the dot-product variant
    # overflows to NaN on both sides with these synthetic weights, so it cannot be compared).
    dict(name='i3d_r50_nl_gaussian', cfg=dict(I3D_R50_NL, non_local_cfg=dict(
        I3D_R50_NL['non_local_cfg'], mode='gaussian')), inputs=[(1, 3, 8, 32, 32)], run=_forward),
    dict(name='i3d_r50_heavy', cfg=I3D_R50_HEAVY, inputs=[(1, 3, 4, 32, 32)], run=_forward),
    # Options no released config combines: BasicBlock3d, every stage out, 3x3x3 inflation, caffe style, dilation.
    dict(name='resnet3d_r18_all_stages', cfg=dict(
        type='ResNet3d', depth=18, pretrained=None, out_indices=(0, 1, 2, 3), inflate_style='3x3x3',
        inflate=(1, 0, 1, 0), dilations=(1, 1, 2, 2), spatial_strides=(1, 2, 1, 1)),
        inputs=[(1, 3, 4, 24, 24)], run=_forward),
    dict(name='resnet3d_r50_caffe_3x3x3', cfg=dict(
        type='ResNet3d', depth=50, pretrained=None, style='caffe', inflate_style='3x3x3', num_stages=3,
        out_indices=(1, 2), with_pool2=False, temporal_strides=(1, 2, 1), spatial_strides=(1, 2, 2),
        dilations=(1, 1, 1), base_channels=16), inputs=[(1, 3, 4, 24, 24)], run=_forward),
    dict(name='slowonly_r50', cfg=SLOWONLY_R50, inputs=[(1, 3, 4, 32, 32)], run=_forward),
    dict(name='slowonly_r50_nl', cfg=SLOWONLY_R50_NL, inputs=[(1, 3, 4, 32, 32)], run=_forward),
    dict(name='slowfast_r50_4x16', cfg=SLOWFAST_R50_4X16, inputs=[(1, 3, 16, 32, 32)], run=_forward),
    dict(name='slowfast_r50_8x8_steplr', cfg=SLOWFAST_R50_8X8_STEPLR, inputs=[(1, 3, 8, 32, 32)], run=_forward),
    # 61M parameters: filling them with the deterministic weights takes seconds, so the output check is slow.
    dict(name='slowfast_r101_r50', cfg=SLOWFAST_R101_R50, inputs=[(1, 3, 16, 32, 32)], run=_forward, slow=True),
    dict(name='ipcsn_r152', cfg=IPCSN_R152, inputs=[(1, 3, 8, 32, 32)], run=_forward),
    dict(name='ircsn_r50', cfg=IRCSN_R50, inputs=[(1, 3, 8, 32, 32)], run=_forward),
    dict(name='r2plus1d_r34', cfg=R2PLUS1D_R34, inputs=[(1, 3, 8, 32, 32)], run=_forward, slow=True),  # 64M
    dict(name='r2plus1d_r34_narrow', cfg=dict(R2PLUS1D_R34, base_channels=16), inputs=[(1, 3, 8, 32, 32)],
         run=_forward),
    dict(name='x3d_m', cfg=X3D_M, inputs=[(1, 3, 4, 32, 32)], run=_forward),
    dict(name='x3d_wide_se_all', cfg=dict(type='X3D', gamma_w=2, gamma_b=1.5, gamma_d=1, se_style='all',
                                          num_stages=3, spatial_strides=(2, 1, 2)),
         inputs=[(1, 3, 4, 32, 32)], run=_forward),
    dict(name='c2d_r50', cfg=C2D_R50, inputs=[(1, 3, 8, 32, 32)], run=_forward),
    # lateral_inv (RGBPoseConv3D's deconv laterals, which widen rather than narrow): keys and counts.
    dict(name='slowfast_lateral_inv_keys', cfg=dict(SLOWFAST_R50_4X16, slow_pathway=dict(
        SLOWFAST_R50_4X16['slow_pathway'], base_channels=16, lateral_inv=True, lateral_norm=True)),
        inputs=[(1,)], run=_no_forward),
    # pretrained2d: a 2D ResNet file inflated by init_weights (I3D mixes 3x1x1 and 1x1x1 blocks and a 5x7x7 stem).
    # Narrow (base_channels=8): the name mapping and kernel inflation do not depend on the width.
    dict(name='i3d_r50_inflated', cfg=dict(I3D_R50, base_channels=8), inputs=[(1, 3, 8, 32, 32)],
         run=_inflated_from_2d),
    dict(name='slowonly_r50_nl_inflated', cfg=dict(SLOWONLY_R50_NL, base_channels=8), inputs=[(1, 3, 4, 32, 32)],
         run=_inflated_from_2d),
    # frozen_stages / norm_eval / bn_frozen in training mode (narrow models: only the flags and modes matter).
    dict(name='i3d_frozen2_train', cfg=dict(I3D_R50, base_channels=8, frozen_stages=2), inputs=[(2, 3, 8, 32, 32)],
         run=_train_flags_and_forward),
    dict(name='slowfast_frozen1_norm_eval_train', cfg=dict(SLOWFAST_R50_8X8_STEPLR, slow_pathway=dict(
        SLOWFAST_R50_8X8_STEPLR['slow_pathway'], base_channels=16, frozen_stages=1, norm_eval=True),
        fast_pathway=dict(SLOWFAST_R50_8X8_STEPLR['fast_pathway'], base_channels=2, frozen_stages=0)),
        inputs=[(2, 3, 8, 32, 32)], run=_train_flags_and_forward),
    dict(name='ircsn_bn_frozen_train', cfg=dict(IRCSN_R50, base_channels=8, frozen_stages=1),
         inputs=[(2, 3, 8, 32, 32)], run=_train_flags_and_forward),
    dict(name='x3d_frozen1_norm_eval_train', cfg=dict(X3D_M, frozen_stages=1, norm_eval=True),
         inputs=[(2, 3, 4, 32, 32)], run=_train_flags_and_forward),
    dict(name='r2plus1d_frozen1_train', cfg=dict(R2PLUS1D_R34, base_channels=8, frozen_stages=1,
                                                   norm_cfg=dict(type='BN3d', requires_grad=True, eps=0.001)),
         inputs=[(2, 3, 8, 32, 32)], run=_train_flags_and_forward),
    dict(name='c2d_frozen1_norm_eval_train', cfg=dict(C2D_R50, depth=18, frozen_stages=1, norm_eval=True),
         inputs=[(2, 3, 4, 32, 32)], run=_train_flags_and_forward),
    # C3D's widths are fixed (78M parameters; filling them takes seconds) and its FC size fixes the clip to
    # 16x112x112: the output check is slow (as for every slow case, a fast test checks its keys and counts).
    dict(name='c3d_sports1m', cfg=C3D, inputs=[(1, 3, 16, 112, 112)], run=_forward, slow=True),
]
