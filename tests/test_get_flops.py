"""tools/analysis/get_flops.py: parameters and FLOPs of one view for original and mmaction2 models, equal to a
count taken directly over the model's parts on the same view."""
import os

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from mmaction.models import build_recognizer
from mmaction.utils.config import load_config

from _dist_test_helpers import load_script  # noqa: E402 (tests/ helper)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
get_flops = load_script('tools/analysis/get_flops.py')


def _direct_count(model, run) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        run(model)
    return counter.get_total_flops()


def test_original_2d_tsn_view():
    cfg = load_config(os.path.join(REPO, 'configs/TSN/toy/tsn_r18_toy.py'))
    result = get_flops.count(cfg, device='cpu')
    model = build_recognizer(cfg.model).eval()
    flops = _direct_count(model, lambda m: m.cls_head(m.spatial_temporal_module(m.backbone(torch.zeros(1, 3, 56, 56)))))
    assert result['flops'] == flops > 0 and result['shape'] == (3, 1, 56, 56)
    assert result['params'] == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize('config', ['configs/VideoMAE/toy/vit_videomae_toy.py',
                                    'configs/UniFormerV2/toy/uniformerv2_toy.py'])
def test_mmaction2_transformer_view(config):
    cfg = load_config(os.path.join(REPO, config))
    result = get_flops.count(cfg)
    model = build_recognizer(cfg.model).eval()
    flops = _direct_count(model, lambda m: m.cls_head(m.backbone(torch.zeros(1, 3, 8, 56, 56))))
    assert result['flops'] == flops > 1e8 and result['shape'] == (3, 8, 56, 56)
    assert result['params'] == sum(p.numel() for p in model.parameters())
