"""mmaction2's BMN / TEM / PEM against the mmaction2 1.2.0 peer (keys, shapes, parameter counts; tensor, loss and
predict outputs), and the sharing with the original-registry classes."""
import re

import numpy as np
import pytest
import torch

from mmaction.models import mmaction2  # noqa: F401  (registration)
from mmaction.models.localizers.bmn import BMN as OriginalBMN
from mmaction.registry import LOCALIZERS, MODELS, ConfigError

from mmaction2_ref import cases_loc
from mmaction2_ref.compare import check_case


def _build(cfg):
    return MODELS.build(dict(cfg))


@pytest.mark.parametrize('case', [pytest.param(c, id=c['name'], marks=[pytest.mark.slow] if c.get('slow') else [])
                                  for c in cases_loc.CASES if not c['name'].startswith('ava_')])
def test_matches_mmaction2(case):
    torch.set_num_threads(1)
    check_case('cases_loc', case, _build)


def test_bmn_is_the_original_network_with_mmaction2_state():
    """Same layers and outputs as the original-registry BMN; the two masks are state (sample_mask a frozen
    parameter, as mmaction2 counts it), so an mmaction2 checkpoint loads strictly and the original one still loads."""
    model = _build(cases_loc.BMN_SMALL)
    assert isinstance(model, OriginalBMN)
    assert list(model.state_dict())[:2] == ['sample_mask', 'bm_mask']
    assert not model.sample_mask.requires_grad
    assert model.sample_mask.shape == (16, 8 * 16 * 16)
    original = LOCALIZERS.get('BMN')(**{k: v for k, v in cases_loc.BMN_SMALL.items() if k != 'type'})
    assert 'sample_mask' not in original.state_dict()
    # An mmaction2 checkpoint (with both masks) loads strictly into the original class too: the masks are
    # constants it computes from the config.
    original.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(1, 32, 16)
    for a, b in zip(model(x, mode='tensor'), original._forward(x)):
        torch.testing.assert_close(a, b)
    model.load_state_dict(model.state_dict(), strict=True)


def test_original_call_still_works():
    """The project's localizer tools call ``model(raw_feature, img_meta=..., return_loss=False)``."""
    model = _build(cases_loc.BMN_SMALL).eval()
    x = torch.randn(1, 32, 16)
    meta = dict(cases_loc.META, video_name='v')
    out = model(x, img_meta=[meta], return_loss=False)
    assert out == model(x, [dict(metainfo=meta)], mode='predict')
    assert out[0]['video_name'] == 'v' and len(out[0]['proposal_list']) == 10
    losses = model(raw_feature=x, gt_bbox=[np.array([[0.2, 0.5]])], return_loss=True)
    assert set(losses) == {'loss_tem', 'loss_pem_reg', 'loss_pem_cls'}
    tem = _build(dict(cases_loc.BSN_TEM, temporal_dim=8, tem_feat_dim=4, tem_hidden_dim=6)).eval()
    feats = torch.randn(1, 4, 8)
    out = tem(return_loss=False, raw_feature=feats, img_meta=[meta])
    assert out[0]['video_name'] == 'v'
    np.testing.assert_allclose(out[0]['tem_output'][:, :3], tem(feats, mode='tensor')[0].T.detach().numpy())
    pem = _build(cases_loc.BSN_PEM)
    bsp, iou = torch.randn(6, 32), torch.rand(6)
    assert set(pem(bsp_feature=bsp, reference_temporal_iou=iou, return_loss=True)) == {'loss_pem'}


def test_pem_loss_is_mmaction2s_plain_mean():
    """mmaction2's sampling weights cancel (see PEM.loss): the loss is the mean smooth-L1 over all proposals."""
    model = _build(cases_loc.BSN_PEM)
    feats, iou = torch.randn(5, 32), torch.tensor([0.9, 0.1, 0.5, 0.7, 0.0])
    samples = [dict(gt_instances=dict(bsp_feature=feats, reference_temporal_iou=iou))]
    loss = model([feats], samples, mode='loss')
    pred = model([feats], mode='tensor')[0, :, 0]
    diff = (pred - iou).abs()
    expect = torch.where(diff < 1, 0.5 * diff ** 2, diff - 0.5).mean()
    torch.testing.assert_close(loss['temporal_iou_loss'], expect)


@pytest.mark.parametrize('cfg,key,message', [
    (dict(cases_loc.BMN_SMALL, loss_cls=dict(type='CrossEntropyLoss')), 'loss_cls', "only dict(type='BMNLoss')"),
    (dict(cases_loc.BSN_PEM, output_dim=2), 'output_dim', 'must be 1'),
])
def test_bad_config_names_the_key(cfg, key, message):
    with pytest.raises(ConfigError, match=re.escape(message)) as err:
        _build(cfg)
    assert f'model.{key}' in str(err.value)


def test_missing_annotation_is_named():
    model = _build(cases_loc.BMN_SMALL)
    with pytest.raises(ValueError, match=r"gt_instances\['gt_bbox'\]"):
        model([torch.randn(32, 16)], [dict(metainfo={})], mode='loss')
    with pytest.raises(ValueError, match="mode must be"):
        model([torch.randn(32, 16)], None, mode='train')
