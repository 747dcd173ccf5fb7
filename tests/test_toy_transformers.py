"""Toy configs of the video transformers (VideoMAE ViT, TimeSformer, Video Swin, MViTv2, UniFormer, UniFormerV2):
each builds mmaction2's Recognizer3D from its config, takes one AdamW step on a batch of training-size clips and
scores test clips; the shared data settings give the view size the position embeddings and windows are built for.

The full runs (train_recognizer.py --validate --seed 0, then test_recognizer.py) take minutes each on 2 CPU cores,
too long for the suite; their figures are in modelzoo/README.md ("Toy configs")."""
import os

import pytest
import torch

from mmaction.apis.inference import normalize_once
from mmaction.datasets import build_dataset
from mmaction.engine.optimizer import build_optimizer
from mmaction.models import build_recognizer
from mmaction.utils.config import load_config

from conftest import link_toy_dataset

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
# family -> (config, backbone class)
TOY_TRANSFORMERS = {
    'videomae_vit': ('configs/VideoMAE/toy/vit_videomae_toy.py', 'VisionTransformer'),
    'timesformer': ('configs/TimeSformer/toy/timesformer_divst_toy.py', 'TimeSformer'),
    'swin': ('configs/Swin/toy/swin_toy.py', 'SwinTransformer3D'),
    'mvit': ('configs/MViT/toy/mvit_toy.py', 'MViT'),
    'uniformer': ('configs/UniFormer/toy/uniformer_toy.py', 'UniFormer'),
    'uniformerv2': ('configs/UniFormerV2/toy/uniformerv2_toy.py', 'UniFormerV2'),
}


def _config(family):
    return load_config(os.path.join(REPO, TOY_TRANSFORMERS[family][0]))


@pytest.mark.parametrize('family', sorted(TOY_TRANSFORMERS))
def test_toy_transformer_one_training_step_and_scores(family):
    """The config's model is mmaction2's (Recognizer3D + the family's backbone, thin: < 2M parameters, label
    smoothing 0.1); one AdamW step from the config's optimizer on two 8x56x56 clips gives a finite loss and moves
    every backbone parameter that got a gradient; then two test clips get (2, 8) class probabilities."""
    cfg = _config(family)
    torch.manual_seed(0)
    model = build_recognizer(cfg.model, train_cfg=cfg.get('train_cfg'), test_cfg=cfg.get('test_cfg'))
    assert type(model).__name__ == 'Recognizer3D' and type(model.backbone).__name__ == TOY_TRANSFORMERS[family][1]
    assert model.cls_head.label_smooth_eps == 0.1 and model.cls_head.num_classes == 8
    assert sum(p.numel() for p in model.parameters()) < 2_000_000
    # the dataset normalises: the preprocessor must not normalise a second time
    assert normalize_once(model, cfg.data.train)

    optimizer = build_optimizer(model, cfg.optimizer)
    assert isinstance(optimizer, torch.optim.AdamW)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    model.train()
    clips = torch.randn(2, 1, 3, 8, 56, 56)
    losses = model(img_group_0=clips, gt_label=torch.tensor([[1], [5]]), return_loss=True)
    loss = losses['loss_cls']
    assert loss.dim() == 0 and torch.isfinite(loss)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    moved = [n for n, p in model.named_parameters() if n.startswith('backbone.') and p.grad is not None
             and p.grad.abs().sum() > 0]
    assert len(moved) > 10
    assert all(not torch.equal(before[n], dict(model.named_parameters())[n]) for n in moved)

    model.eval()
    with torch.no_grad():
        scores = model(img_group_0=torch.randn(2, 1, 3, 8, 56, 56), return_loss=False)
    assert scores.shape == (2, 8)
    # average_clips='prob': softmax scores
    assert abs(float(scores.sum()) - 2.0) < 1e-4 and (scores >= 0).all()


def test_toy_transformer_views_match_the_model_size(toy_dataset, tmp_path, monkeypatch):
    """The shared data settings give one 8-frame 56x56 clip per video for training and for the test (one centre
    crop: the position embeddings, windows and pooling grids are built for 56x56), NCTHW."""
    link_toy_dataset(str(tmp_path), toy_dataset)
    monkeypatch.chdir(tmp_path)
    cfg = _config('videomae_vit')
    assert cfg.model.backbone.img_size == 56 and cfg.model.backbone.num_frames == 8
    for split in ('train', 'test'):
        sample = build_dataset(cfg.data[split])[0]
        assert tuple(sample['img_group_0'].shape) == (1, 3, 8, 56, 56), split


def test_timesformer_toy_keeps_weight_decay_off_tokens_norms_and_biases():
    """AdamW's weight decay (0.05) applies to weights only: not to the class token, the position and time
    embeddings (TimeSformer's custom keys), norms or biases."""
    cfg = _config('timesformer')
    model = build_recognizer(cfg.model)
    optimizer = build_optimizer(model, cfg.optimizer)
    names = {id(p): n for n, p in model.named_parameters()}
    decay = {names[id(p)]: g['weight_decay'] for g in optimizer.param_groups for p in g['params']}
    assert len(decay) == len(names)
    for name in ('backbone.cls_token', 'backbone.pos_embed', 'backbone.time_embed', 'backbone.norm.weight',
                 'cls_head.fc_cls.bias'):
        assert decay[name] == 0.0, name
    assert decay['cls_head.fc_cls.weight'] == 0.05 and decay['backbone.patch_embed.projection.weight'] == 0.05


def test_training_initialises_mmaction2_heads_as_mmaction2_does(tmp_path, monkeypatch, toy_dataset):
    """tools/train_recognizer.py calls init_weights on mmaction2 models before training, as mmaction2's runner
    does: the head's fc_cls gets its truncated-normal std 0.02 instead of PyTorch's default Linear init."""
    import mmaction.apis
    from mmaction.apis.cli import train_main
    captured = {}
    monkeypatch.setattr(mmaction.apis, 'train_network', lambda model, *a, **k: captured.setdefault('model', model))
    link_toy_dataset(tmp_path, toy_dataset)
    monkeypatch.chdir(tmp_path)
    config = os.path.join(REPO, 'configs/TimeSformer/toy/timesformer_divst_toy.py')
    train_main([config, '--work_dir', str(tmp_path / 'work')], build_recognizer, 'train')
    std = float(captured['model'].cls_head.fc_cls.weight.std())
    assert abs(std - 0.02) < 0.005  # PyTorch's default init of this 64 -> 8 Linear has std ~0.07


@pytest.mark.parametrize('family', sorted(TOY_TRANSFORMERS))
def test_every_toy_transformer_initialises_like_mmaction2(family):
    """init_weights (called by the training tool) runs for every family and leaves the head's classifier at the
    small std of mmaction2's init (truncated normal 0.02 / normal 0.01), not PyTorch's default."""
    torch.manual_seed(0)
    model = build_recognizer(_config(family).model)
    before = model.cls_head.fc_cls.weight.detach().clone()
    model.init_weights()
    after = model.cls_head.fc_cls.weight
    if family == 'mvit':
        # as in mmaction2: MViTHead passes fc_cls.weight (a tensor) to mmengine's trunc_normal_init, which expects a
        # module, so only init_scale (1.0 here) acts
        assert torch.equal(after, before)
    else:
        assert float(after.std()) < 0.03 < float(before.std())
