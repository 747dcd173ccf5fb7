"""Toy configs of the 3D families (I3D, SlowFast, C3D, R(2+1)D, ir-CSN, I3D-Inception): thin widths that build and
run, the width options keep the original defaults, and (slow) each config trains to >= 90% top-1 on the toy dataset
in one process and tests to >= 90% with its test protocol. SlowOnly has its own test through the dist wrappers
(tests/test_toy_3d.py)."""
import os
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from mmaction.models.backbones.c3d import C3D
from mmaction.models.backbones.inception_v1_i3d import INCEPTION_BLOCKS, InceptionV1_I3D
from mmaction.models.backbones.resnet_i3d_slowfast import ResNet_I3D_SlowFast
from mmaction.models.backbones.resnet_r3d import ResNet_R3D
from mmaction.models.builder import build_recognizer
from mmaction.utils.config import load_config

from conftest import link_toy_dataset

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
TOY_CONFIGS = {
    'slowfast': 'configs/SlowFast/toy/slowfast_r18_toy_8x3.py',
    'i3d': 'configs/I3D_RGB/toy/i3d_r18_toy_8x3.py',
    'c3d': 'configs/C3D/toy/c3d_toy_8x3.py',
    'r2plus1d': 'configs/R2plus1D/toy/r2plus1d_r18_toy_8x3.py',
    'ircsn': 'configs/CSN/toy/ircsn_r26_toy_8x3.py',
    'i3d_inception': 'configs/I3D_RGB/toy/i3d_inception_v1_toy_8x3.py',
}


@pytest.mark.parametrize('family', sorted(TOY_CONFIGS))
def test_toy_config_forward_shapes(family):
    """Each toy model maps a batch of 2 training clips (8x56x56) to 8 class scores and a scalar loss."""
    cfg = load_config(os.path.join(REPO, TOY_CONFIGS[family]))
    model = build_recognizer(cfg.model, train_cfg=None, test_cfg=None)
    model.train()
    clips = torch.randn(2, 1, 3, 8, 56, 56)
    losses = model(num_modalities=1, img_meta=None, img_group_0=clips, gt_label=torch.tensor([[1], [5]]))
    assert losses['loss_cls'].dim() == 0 and torch.isfinite(losses['loss_cls'])
    # thin: well under the ~30M parameters of the original R50 widths
    assert sum(p.numel() for p in model.parameters()) < 3_000_000


def test_slowfast_base_channels_default_and_thin():
    """Default base_channels=64 builds the original widths (same state-dict keys and shapes as before the option);
    base_channels=16 scales the Slow path by 1/4 and the Fast path (beta_inv=4) to 4 wide."""
    ref = ResNet_I3D_SlowFast(depth=18, alpha=2, beta_inv=4)
    assert ref.slow_path.conv1.weight.shape == (64, 3, 1, 7, 7)
    assert ref.fast_path.conv1.weight.shape == (16, 3, 5, 7, 7)
    # slow layer1 input: 64 + lateral 2 * 16
    assert ref.slow_path.layer1[0].conv1.in_channels == 96
    assert ref.feat_dim == 512 + 128
    same = ResNet_I3D_SlowFast(depth=18, alpha=2, beta_inv=4, base_channels=64)
    assert {k: v.shape for k, v in ref.state_dict().items()} == {k: v.shape for k, v in same.state_dict().items()}

    thin = ResNet_I3D_SlowFast(depth=18, alpha=2, beta_inv=4, base_channels=16, out_indices=(3,))
    assert thin.slow_path.conv1.out_channels == 16 and thin.fast_path.conv1.out_channels == 4
    assert [getattr(thin.slow_path, f'layer{i}')[0].conv1.out_channels for i in range(1, 5)] == [16, 32, 64, 128]
    assert thin.slow_path.layer1[0].conv1.in_channels == 16 + 2 * 4
    assert thin.feat_dim == 128 + 32
    slow, fast = thin(torch.zeros(1, 3, 8, 56, 56))
    assert slow.shape == (1, 128, 4, 2, 2) and fast.shape == (1, 32, 8, 2, 2)


@pytest.fixture(scope='module')
def toy_root(tmp_path_factory, default_toy_dataset):
    """A working folder with the session's toy dataset as data/toy, shared by all families."""
    root = tmp_path_factory.mktemp('toy_families')
    link_toy_dataset(str(root), default_toy_dataset)
    return root


@pytest.mark.slow
@pytest.mark.parametrize('family', sorted(TOY_CONFIGS))
def test_toy_family_reaches_90_percent(family, toy_root):
    """`train_recognizer.py CONFIG --validate --seed 0` in one process: the last per-epoch val top-1 >= 0.90; then
    `test_recognizer.py` on the saved weights with the config's test protocol (3 crops at 64, or C3D's centre crop)
    writes one (1, 8) float32 score array per val video and its top-1 is >= 90 % too."""
    env = dict(os.environ, OMP_NUM_THREADS='2')
    config = os.path.join(REPO, TOY_CONFIGS[family])
    work_dir = f'work_dirs/{family}'
    proc = subprocess.run([sys.executable, os.path.join(REPO, 'tools/train_recognizer.py'), config, '--validate',
                           '--seed', '0', '--work_dir', work_dir], cwd=toy_root, env=env, capture_output=True,
                          text=True, timeout=900)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:]
    epochs = load_config(config).total_epochs
    found = re.findall(r'Epoch\(val\) \[(\d+)\]\s+top1 acc: (\d\.\d+)', log)
    assert found and int(found[-1][0]) == epochs, log[-3000:]
    top1 = float(found[-1][1])
    assert top1 >= 0.90, f'toy {family} top-1 {top1:.4f} < 0.90'

    scores = f'{work_dir}/toy_val_scores.pkl'
    proc = subprocess.run([sys.executable, os.path.join(REPO, 'tools/test_recognizer.py'), config,
                           f'{work_dir}/latest.pth', '--out', scores], cwd=toy_root, env=env, capture_output=True,
                          text=True, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:]
    test_top1 = re.findall(r'^Top-1 Accuracy = (\d+\.\d\d)$', log, flags=re.M)
    assert len(test_top1) == 1, log[-3000:]
    assert float(test_top1[0]) >= 90.0, f'toy {family} test top-1 {test_top1[0]} < 90'
    with open(toy_root / scores, 'rb') as f:
        results = pickle.load(f)
    labels = [int(line.split()[-1]) for line in open(toy_root / 'data/toy/toy_val_list_rawframes.txt')]
    assert len(results) == len(labels) == 88
    assert all(r.shape == (1, 8) and r.dtype == np.float32 for r in results)
    # the printed accuracy is the one of the pickle
    hits = sum(int(np.argmax(r)) == label for r, label in zip(results, labels))
    assert abs(100.0 * hits / len(labels) - float(test_top1[0])) < 0.01

def _shapes(module: torch.nn.Module) -> dict:
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def test_c3d_width_and_clip_shape_options():
    """Defaults are the Caffe C3D (fc6 8192 -> 4096); base_channels scales every conv; fc6 takes the pool5 size of
    ``clip_shape`` (ceil-mode pools: 8x56x56 -> 1x2x2)."""
    ref = C3D()
    assert ref.conv1a.weight.shape == (64, 3, 3, 3, 3) and ref.conv5b.weight.shape == (512, 512, 3, 3, 3)
    assert ref.fc6.weight.shape == (4096, 8192) and ref.feat_dim == 4096
    thin = C3D(base_channels=16, clip_shape=(8, 56, 56), fc_channels=256)
    assert [getattr(thin, n).out_channels for n in ('conv1a', 'conv2a', 'conv3b', 'conv4b', 'conv5b')] == \
        [16, 32, 64, 128, 128]
    assert thin.fc6.weight.shape == (256, 128 * 1 * 2 * 2) and thin.feat_dim == 256
    assert thin(torch.zeros(2, 3, 8, 56, 56)).shape == (2, 256, 1, 1, 1)
    with pytest.raises(ValueError, match='8 x 56 x 56'):
        thin(torch.zeros(1, 3, 16, 112, 112))


def test_c3d_kaiming_init_keeps_the_signal_and_caffe_init_does_not():
    """The reason the toy C3D uses weight_init='kaiming': with the Caffe init the fc7 output barely depends on the
    input (bias 1, std 0.01 per conv); with He init it does."""
    torch.manual_seed(0)
    x = torch.randn(4, 3, 8, 56, 56)
    spread = {}
    for init in ('caffe', 'kaiming'):
        m = C3D(base_channels=16, clip_shape=(8, 56, 56), fc_channels=256, weight_init=init)
        m.init_weights()
        m.eval()
        if init == 'kaiming':
            assert all(not b.any() for n, b in m.named_parameters() if n.endswith('bias'))
        with torch.no_grad():
            out = m(x).flatten(1)
        spread[init] = float((out - out.mean(0)).std())
    assert spread['kaiming'] > 0.01 and spread['caffe'] < 1e-4 * spread['kaiming'], spread
    with pytest.raises(ValueError, match='weight_init'):
        C3D(weight_init='xavier')


def test_inception_channel_multiplier():
    """Multiplier 1: every block's input width equals the table's (the released weights); 0.25 scales each conv
    and feat_dim follows the concatenated branches."""
    ref = InceptionV1_I3D()
    assert ref.feat_dim == 1024
    for block, (cin, c1, *_rest) in INCEPTION_BLOCKS.items():
        assert getattr(ref, f'inception_{block}_1x1').weight.shape == (c1, cin, 1, 1, 1)
    thin = InceptionV1_I3D(channel_multiplier=0.25)
    assert thin.conv1_7x7_s2.weight.shape == (16, 3, 7, 7, 7) and thin.conv2_3x3.weight.shape == (48, 16, 3, 3, 3)
    # 5b at 0.25: 96 + 96 + 32 + 32
    assert thin.feat_dim == 256
    assert thin(torch.zeros(1, 3, 8, 56, 56)).shape == (1, 256, 1, 2, 2)
    assert set(_shapes(thin)) == set(_shapes(ref))
    with pytest.raises(ValueError, match='channel_multiplier'):
        InceptionV1_I3D(channel_multiplier=0)


def test_r3d_temporal_strides_and_thin_stem():
    """temporal_strides=(1, 1, 1, 1) keeps the clip length (spatial /2 per stage 2-4 as before); the multiplier
    thins the stem with the stages; the defaults keep the released shapes."""
    ref = ResNet_R3D(depth=18, block_type='2.5d')
    assert ref.conv1_s.weight.shape == (45, 3, 1, 7, 7) and ref.conv1_t.weight.shape == (64, 45, 3, 1, 1)
    assert ref(torch.zeros(1, 3, 8, 32, 32)).shape == (1, 512, 1, 2, 2)
    keep = ResNet_R3D(depth=18, block_type='2.5d', temporal_strides=(1, 1, 1, 1))
    assert _shapes(keep) == _shapes(ref)
    assert keep(torch.zeros(1, 3, 8, 32, 32)).shape == (1, 512, 8, 2, 2)
    thin = ResNet_R3D(depth=50, block_type='3d-sep', channel_multiplier=0.25, temporal_strides=(1, 1, 2, 1))
    assert thin.conv1.weight.shape == (16, 3, 3, 7, 7) and thin.feat_dim == 512
    # the first block of layer3 downsamples time through its depthwise conv and its projection shortcut
    assert thin.layer3.a.conv1.stride == (2, 2, 2) and thin.layer3.a.conv3.stride == (2, 2, 2)
    assert thin(torch.zeros(1, 3, 8, 32, 32)).shape == (1, 512, 4, 2, 2)
    with pytest.raises(ValueError, match='temporal_strides'):
        ResNet_R3D(depth=18, temporal_strides=(1, 2, 2))


def test_r3d_depth_26_is_bottleneck_with_shallow_widths():
    """VMZ (and the original port): depth 26 = 2 bottleneck blocks per stage with the shallow filter table, so the
    1x1 conv0 exists and the output has 512 channels (depth 18: basic blocks, no conv0)."""
    r26 = ResNet_R3D(depth=26, block_type='3d-sep')
    assert r26.layer1.a.conv0.weight.shape == (64, 64, 1, 1, 1) and r26.layer1.a.conv1.weight.shape == (64, 1, 3, 3, 3)
    assert r26.layer4.b.conv2.weight.shape == (512, 512, 1, 1, 1) and r26.feat_dim == 512
    assert not hasattr(ResNet_R3D(depth=18, block_type='3d').layer1.a, 'conv0')
