"""TriDet: Trident-head decoding, SGP layers (masked statistics), losses, paper configurations, toy training."""
import math
import os
import subprocess
import sys

import pytest
import torch
from numpy.testing import assert_allclose

from mmaction.models import build_localizer
from mmaction.models.localizers.one_stage_tad import pad_batch
from mmaction.models.localizers.tridet import MaskedGroupNorm, SGPBlock, TriDet, neighbour_logits, trident_offsets

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
TINY = dict(type='TriDet', feat_dim=6, num_classes=3, max_seq_len=32, embed_dim=16, num_stem_layers=1,
            num_branch_layers=2, sgp_kernel_size=3, sgp_k=1.5, sgp_mlp_dim=32, sgp_init_std=0.2, head_dim=16,
            num_bins=4, drop_path=0.1, regression_ranges=((0, 4), (4, 8), (8, 10000)))


def test_neighbour_logits_layout():
    logits = torch.arange(1.0, 6.0).reshape(1, 1, 5)  # points 0..4 carry 1..5
    start = neighbour_logits(logits, 2, 'start')
    end = neighbour_logits(logits, 2, 'end')
    assert start.shape == (1, 5, 1, 3)
    # start bins of point t: points t-2, t-1, t (zero before the sequence); end bins: t, t+1, t+2
    assert start[0, 0, 0].tolist() == [0, 0, 1] and start[0, 3, 0].tolist() == [2, 3, 4]
    assert end[0, 3, 0].tolist() == [4, 5, 0] and end[0, 0, 0].tolist() == [1, 2, 3]


def test_trident_expected_distance_hand_case():
    # 2 bins a side: start logits (0, 0, ln 2) -> weights 1/4, 1/4, 1/2 on distances 2, 1, 0 -> 0.75;
    # end logits 0 and centre logits (0, 0, ln 3) -> weights 1/5, 1/5, 3/5 on distances 0, 1, 2 -> 1.4
    start = torch.tensor([0.0, 0.0, math.log(2)]).reshape(1, 1, 1, 3)
    end = torch.zeros(1, 1, 1, 3)
    centre = torch.tensor([0.0, 0.0, 0.0, 0.0, 0.0, math.log(3)]).reshape(1, 1, 6)
    assert_allclose(trident_offsets(centre, start, end)[0, 0, 0].numpy(), [0.75, 1.4], rtol=1e-6)


def test_masked_group_norm_and_sgp_padding_invariance():
    torch.manual_seed(0)
    gn = MaskedGroupNorm(4, 8)
    x = torch.randn(2, 8, 10)
    full = torch.ones(2, 1, 10, dtype=torch.bool)
    assert_allclose(gn(x, full).detach().numpy(), torch.nn.functional.group_norm(x, 4, gn.weight, gn.bias).detach()
                    .numpy(), atol=1e-5)
    padded = torch.cat([x, torch.randn(2, 8, 6)], -1)
    mask = torch.arange(16)[None, None] < 10
    assert_allclose(gn(padded, mask.expand(2, 1, 16))[..., :10].detach().numpy(), gn(x, full).detach().numpy(),
                    atol=1e-5)
    block = SGPBlock(16, 3, 2, 1.5, 32, init_std=0.2).eval()
    assert block.conv_kw.kernel_size == (7,)  # round(4 * 1.5) = 6 -> odd 7
    y = torch.randn(1, 16, 12)
    with torch.no_grad():
        a, ma = block(y, torch.ones(1, 1, 12, dtype=torch.bool))
        b, mb = block(torch.cat([y, torch.zeros(1, 16, 8)], -1), (torch.arange(20) < 12)[None, None])
    assert a.shape == (1, 16, 6) and int(mb.sum()) == 6
    assert_allclose(a.numpy(), b[..., :6].numpy(), atol=1e-5)
    assert float(b[..., 6:].abs().sum()) == 0
    # std-0 init (THUMOS14 release): the SGP branch is zero and the block is x + mlp(gn(x))
    zero = SGPBlock(16, 1, 1, 5, 32, init_std=0.0)
    assert zero.conv_kw.kernel_size == (11,) and float(zero.psi.weight.detach().abs().sum()) == 0


def test_tridet_shapes_losses_and_inference():
    torch.manual_seed(0)
    m = build_localizer(TINY)
    x, mask = pad_batch(torch.randn(1, 6, 20), None, 4)
    m.eval()
    with torch.no_grad():
        points, logits, offsets, pmask, sizes = m._forward(x, mask)
    assert sizes == [20, 10, 5] and logits.shape == (1, 35, 3) and offsets.shape == (1, 35, 3, 2)
    assert bool((offsets >= 0).all()) and bool((offsets <= 4 + 1e-5).all())  # at most num_bins points away
    for mod in m.modules():  # trained LayerNorms have biases: padding must still not leak into valid steps
        if isinstance(mod, torch.nn.LayerNorm):
            torch.nn.init.normal_(mod.bias)
    xb, mb = pad_batch(x, None, 4, 48)
    with torch.no_grad():
        _, la, oa, _, _ = m._forward(x, mask)
        _, lb, ob, _, sizes_b = m._forward(xb, mb)
    starts_a, starts_b = [0, 20, 30], [0, 48, 72]
    for sa, a0, b0 in zip(sizes, starts_a, starts_b):
        assert_allclose(la[0, a0:a0 + sa].numpy(), lb[0, b0:b0 + sa].numpy(), atol=1e-5)
        assert_allclose(oa[0, a0:a0 + sa].numpy(), ob[0, b0:b0 + sa].numpy(), atol=1e-5)
    m.train()
    losses = m(torch.randn(2, 6, 32), gt_segments=[torch.tensor([[2.0, 9.0], [12.0, 30.0]]), torch.zeros(0, 2)],
               gt_labels=[torch.tensor([2, 0]), torch.zeros(0, dtype=torch.long)], valid_len=torch.tensor([32, 20]))
    assert set(losses) == {'loss_cls', 'loss_reg'} and losses['loss_reg'] > 0
    sum(losses.values()).backward()
    assert m.start_head.out.weight.grad is not None and m.reg_head.out.weight.grad is not None
    # the boundary heads see detached features: their loss gradient does not reach the pyramid through them
    assert m.branch[0].mlp[0].weight.grad is not None
    m.eval()
    meta = dict(video_name='v', fps=8.0, feat_stride=4, feat_num_frames=4, duration=10.0)
    dets = m(torch.randn(1, 6, 19), img_meta=[meta], return_loss=False)[0]['proposal_list']
    assert 0 < len(dets) and all(0 <= d['segment'][0] <= d['segment'][1] <= 10.0 for d in dets)
    with pytest.raises(ValueError, match='sgp_kernel_size'):
        TriDet(feat_dim=6, num_branch_layers=2, sgp_kernel_size=[1, 1])


def test_tridet_thumos14_paper_configuration():
    """The release's THUMOS14 model: 2048-d I3D features, 2304-step window, SGP k=5, 16 bins."""
    from mmaction.utils.config import load_config
    cfg = load_config(os.path.join(REPO, 'configs', 'localization', 'tridet', 'tridet_i3d_thumos14_feature.py'))
    torch.manual_seed(0)
    model = build_localizer(cfg.model).eval()
    assert sum(p.numel() for p in model.parameters()) == 15989604
    x, mask = pad_batch(torch.randn(1, 2048, 2304), None, 32)
    with torch.no_grad():
        _, logits, offsets, _, sizes = model._forward(x, mask)
    assert sizes == [2304, 1152, 576, 288, 144, 72] and logits.shape == (1, 4536, 20)
    assert offsets.shape == (1, 4536, 20, 2)


def test_tridet_activitynet_config_builds():
    from mmaction.utils.config import load_config
    cfg = load_config(os.path.join(REPO, 'configs', 'localization', 'tridet', 'tridet_tsp_activitynet_feature.py'))
    model = build_localizer(cfg.model).eval()
    assert model.branch[0].conv_kw.kernel_size == (21,)  # round(16 * 1.3) = 21
    x, mask = pad_batch(torch.randn(1, 512, 200), None, 32)
    with torch.no_grad():
        _, logits, offsets, _, sizes = model._forward(x, mask)
    assert sizes == [224, 112, 56, 28, 14, 7] and offsets.shape == (1, 441, 1, 2)


@pytest.mark.slow
def test_tridet_toy_tools_end_to_end(tmp_path):
    """Toy run through the tools (30 epochs, about 35 s on one core): average mAP (tIoU .3:.1:.7) measured 85.6
    with seed 0, above BMN's 73.7 with oracle video-level labels on the same data (modelzoo/README.md)."""
    from data_tools.toy.build_toy_untrimmed import build_toy_untrimmed
    build_toy_untrimmed(str(tmp_path / 'data' / 'toy_untrimmed'))
    cfg = os.path.join(REPO, 'configs', 'localization', 'tridet', 'tridet_toy_feature.py')
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    r = subprocess.run([sys.executable, os.path.join(REPO, 'tools', 'train_localizer.py'), cfg, '--seed', '0',
                        '--work_dir', 'w'], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    r = subprocess.run([sys.executable, os.path.join(REPO, 'tools', 'test_localizer.py'), cfg, 'w/latest.pth',
                        '--eval', 'thumos14'], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    average = float(r.stdout.split('| mean AP')[1].split('|')[-2])
    assert average > 0.78, r.stdout


def test_pyramid_argument_errors_name_the_detector_and_argument():
    from mmaction.models.localizers.one_stage_tad import check_pyramid_args
    ranges = [(0, 4), (4, 8), (8, 10000)]
    assert check_pyramid_args('TriDet', 2, 'sgp_kernel_size', 3, ranges, 64, 2, None) == [3, 3, 3]
    with pytest.raises(ValueError, match=r'TriDet: 3 pyramid levels .* sgp_kernel_size entries \(2\)'):
        check_pyramid_args('TriDet', 2, 'sgp_kernel_size', [1, 1], ranges, 64, 2, None)
    with pytest.raises(ValueError, match=r'ActionFormer: max_seq_len 66 must be divisible by the coarsest stride 4'):
        check_pyramid_args('ActionFormer', 2, 'window_size', 9, ranges, 66, 2, None)
    with pytest.raises(ValueError, match=r'ActionFormer: 1 class_names for num_classes=2'):
        check_pyramid_args('ActionFormer', 2, 'window_size', 9, ranges, 64, 2, ['a'])
