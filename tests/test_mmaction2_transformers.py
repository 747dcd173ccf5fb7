"""mmaction2-compatible video transformers: keys/shapes/params and outputs against mmaction2 1.2.0 (peer refs),
SDPA attention against the explicit formula, activation checkpointing and drop path."""
import pytest
import torch

import mmaction.models  # noqa: F401  (registration)
from mmaction.models.mmaction2.backbones._transformer import DropPath, multihead_attention
from mmaction.registry import MODELS
from mmaction2_ref.cases_transformers import CASES
from mmaction2_ref.compare import check_case


@pytest.mark.parametrize('case', [pytest.param(c, marks=[pytest.mark.slow] if c.get('slow') else [], id=c['name'])
                                  for c in CASES])
def test_matches_mmaction2(case):
    check_case('cases_transformers', case, MODELS.build)


def test_sdpa_equals_explicit_attention():
    torch.manual_seed(0)
    q, k, v = (torch.randn(2, 7, 12) for _ in range(3))
    heads = 3
    split = [t.reshape(2, 7, heads, 4).transpose(1, 2) for t in (q, k, v)]
    weights = (split[0] @ split[1].transpose(-2, -1) / 2.0).softmax(-1)  # 1/sqrt(head_dims=4)
    expected = (weights @ split[2]).transpose(1, 2).reshape(2, 7, 12)
    torch.testing.assert_close(multihead_attention(q, k, v, heads), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('cfg', [
    dict(type='VisionTransformer', img_size=32, patch_size=16, embed_dims=24, depth=2, num_heads=2, num_frames=4),
    dict(type='TimeSformer', num_frames=4, img_size=32, patch_size=16, embed_dims=24, num_heads=2,
         num_transformer_layers=2),
    dict(type='SwinTransformer3D', arch=dict(embed_dims=8, depths=[2, 2], num_heads=[2, 2]), window_size=(2, 4, 4),
         out_indices=(1,)),
    dict(type='MViT', arch=dict(embed_dims=8, num_layers=3, num_heads=1, downscale_indices=[1]), spatial_size=32,
         temporal_size=4, adaptive_kv_stride=(1, 4, 4), drop_path_rate=0.1),
    dict(type='UniFormer', depth=[1, 1, 1, 1], embed_dim=[8, 8, 16, 16], head_dim=8, drop_path_rate=0.1),
    dict(type='UniFormerV2', input_resolution=32, patch_size=16, width=16, layers=2, heads=2, t_size=4,
         no_lmhra=False, double_lmhra=True, return_list=[1], n_layers=1, n_dim=16, n_head=2, mlp_dropout=[0.0],
         backbone_drop_path_rate=0.1, clip_pretrained=False)],
    ids=['vit', 'timesformer', 'swin', 'mvit', 'uniformer', 'uniformerv2'])
def test_with_cp_gives_the_same_gradients(cfg):
    torch.manual_seed(0)
    plain = MODELS.build(cfg).train()
    # UniFormer's BatchNorm statistics move in each training forward: compare gradients, not buffers
    plain.apply(lambda m: m.eval() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) else None)
    checkpointed = MODELS.build(dict(cfg, with_cp=True)).train()
    checkpointed.load_state_dict(plain.state_dict())
    checkpointed.apply(lambda m: m.eval() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) else None)
    x = torch.randn(2, 3, 4, 64 if cfg['type'] == 'UniFormer' else 32, 64 if cfg['type'] == 'UniFormer' else 32)
    grads = []
    for model in (plain, checkpointed):
        torch.manual_seed(1)  # the same drop-path draws in both runs
        model.zero_grad()
        out = model(x)
        if isinstance(out, tuple):  # MViT: ((patch tokens, cls token),)
            out = out[-1][0]
        out.square().sum().backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
    assert grads[0].keys() == grads[1].keys() and len(grads[0]) > 10
    for name in grads[0]:
        torch.testing.assert_close(grads[0][name], grads[1][name], rtol=1e-4, atol=1e-6)


def test_drop_path_keeps_expectation_and_is_identity_in_eval():
    torch.manual_seed(0)
    layer = DropPath(0.25).train()
    out = layer(torch.ones(20000, 3))
    kept = (out[:, 0] != 0).float().mean().item()
    assert abs(kept - 0.75) < 0.02
    assert torch.allclose(out[out != 0], torch.full_like(out[out != 0], 1 / 0.75))
    x = torch.randn(4, 3)
    assert torch.equal(layer.eval()(x), x)


def test_unknown_attention_type_names_the_choices():
    with pytest.raises(ValueError, match="'divided' is not one of"):
        MODELS.build(dict(type='TimeSformer', num_frames=4, img_size=32, patch_size=16, attention_type='divided'))


def test_swin_frozen_stages_stay_frozen_in_train_mode():
    model = MODELS.build(dict(type='SwinTransformer3D', arch=dict(embed_dims=8, depths=[1, 1], num_heads=[1, 2]),
                              window_size=(2, 4, 4), frozen_stages=1, out_indices=(1,))).train()
    frozen = [p.requires_grad for p in list(model.patch_embed.parameters()) + list(model.layers[0].parameters())]
    assert frozen and not any(frozen)
    assert all(p.requires_grad for p in model.layers[1].parameters())
    assert not model.layers[0].training and model.layers[1].training


def test_uniformerv2_builds_and_inits_without_download_when_pretrained_is_none(monkeypatch):
    import mmaction.utils.checkpoint as ckpt
    monkeypatch.setattr(ckpt, 'load_file', lambda *a, **k: pytest.fail('init_weights tried to load weights'))
    model = MODELS.build(dict(type='UniFormerV2', input_resolution=32, patch_size=16, width=16, layers=1, heads=2,
                              t_size=2, return_list=[0], n_layers=1, n_dim=16, n_head=2, mlp_dropout=[0.5]))
    model.init_weights()  # clip_pretrained=True (the default) with pretrained=None: nothing to load
    assert model(torch.zeros(1, 3, 2, 32, 32)).shape == (1, 16)


def test_uniformer_2d_checkpoint_is_inflated_into_the_centre_frame(tmp_path):
    cfg = dict(type='UniFormer', depth=[1, 1, 1, 1], embed_dim=[8, 8, 16, 16], head_dim=8)
    state = MODELS.build(cfg).state_dict()
    kernel_3d = state['blocks1.0.pos_embed.weight']  # (8, 1, 3, 3, 3) depthwise
    two_d = {key: (value[:, :, 0] + 1.0 if key == 'blocks1.0.pos_embed.weight' else value)
             for key, value in state.items()}
    torch.save({'state_dict': two_d}, tmp_path / 'uniformer_2d.pth')
    model = MODELS.build(dict(cfg, pretrained=str(tmp_path / 'uniformer_2d.pth'), pretrained2d=True))
    model.init_weights()
    loaded = model.state_dict()['blocks1.0.pos_embed.weight']
    assert loaded.shape == kernel_3d.shape
    assert torch.equal(loaded[:, :, 1], two_d['blocks1.0.pos_embed.weight'])
    assert loaded[:, :, 0].abs().sum() == 0 and loaded[:, :, 2].abs().sum() == 0
