"""mmaction2's AVA detector (FastRCNN + AVARoIHead + SingleRoIExtractor3D + BBoxHeadAVA) without mmdet or compiled
ops: against the mmaction2 1.2.0 peer (mmdet 3.3.0, torchvision's RoIAlign/RoIPool standing in for mmcv's), and
against hand-computed values where the peer has no equivalent."""
import pytest
import torch
from mmengine.structures import BaseDataElement, InstanceData

from mmaction.models import mmaction2  # noqa: F401  (registration)
from mmaction.registry import MODELS, ConfigError, build_from_cfg

from mmaction2_ref import cases_loc
from mmaction2_ref.compare import check_case

AVA_CASES = [c for c in cases_loc.CASES if c['name'].startswith('ava_')]


def _build(cfg):
    # The top-level ``_scope_='mmdet'`` is dropped as ``mmaction.models.build_model`` does (mmengine's own
    # ``Registry.build`` would look for an mmdet registry and warn); the nested ones FastRCNN drops itself.
    return build_from_cfg({k: v for k, v in cfg.items() if k != '_scope_'}, MODELS, where='model')


@pytest.mark.parametrize('case', [pytest.param(c, id=c['name'], marks=[pytest.mark.slow] if c.get('slow') else [])
                                  for c in AVA_CASES])
def test_matches_mmaction2(case):
    missing = [name for name in case.get('requires', ()) if name not in MODELS.module_dict]
    if missing:
        pytest.skip(f'{missing} not registered on this branch (the unchanged config needs them)')
    torch.set_num_threads(1)
    check_case('cases_loc', case, _build)


def test_key_layout_and_scope_entries():
    model = _build(cases_loc.AVA_SLOWONLY)
    assert list(model.state_dict()) == ['backbone.conv1.weight', 'backbone.conv1.bias', 'backbone.conv2.weight',
                                        'backbone.conv2.bias', 'roi_head.bbox_head.fc_cls.weight',
                                        'roi_head.bbox_head.fc_cls.bias']
    assert model.pretrained_cfg['type'] == 'Pretrained'  # kept, not fetched
    assert model.roi_head.bbox_roi_extractor.spatial_scale == 1 / 16


def test_predict_boxes_undo_flip_and_crop_by_hand():
    """A box (x1, y1, x2, y2) = (16, 32, 48, 96) in a 128 x 160 (H x W) input, flipped, inside crop (0.1, 0.05, 0.8,
    0.9): unflipped x = (160 - 1 - 48, 160 - 1 - 16) = (111, 143); normalised (111/160, 32/128, 143/160, 96/128);
    then x * 0.8 + 0.1, y * 0.9 + 0.05."""
    model = _build(cases_loc.AVA_SLOWONLY).eval()
    sample = BaseDataElement(metainfo=dict(img_shape=(128, 160), flip=True, crop_quadruple=[0.1, 0.05, 0.8, 0.9]),
                             proposals=InstanceData(bboxes=torch.tensor([[16.0, 32.0, 48.0, 96.0]])))
    out = model(torch.zeros(1, 3, 4, 128, 160), [sample], mode='predict')[0].pred_instances
    expect = torch.tensor([[111 / 160 * 0.8 + 0.1, 32 / 128 * 0.9 + 0.05,
                            143 / 160 * 0.8 + 0.1, 96 / 128 * 0.9 + 0.05]])
    torch.testing.assert_close(out.bboxes, expect)
    assert out.scores.shape == (1, 81) and bool(((out.scores > 0) & (out.scores < 1)).all())


def test_loss_by_hand():
    """Zero features: every logit equals the fc bias, so the BCE over the positive RoIs' action columns is known.
    One GT box with actions {1, 12}; the proposal equals the GT (IoU 1 >= 0.9), the other misses it (IoU 0): sampled
    RoIs are the GT itself and the matching proposal (positives, labels {1, 12}) and the miss (negative, dropped)."""
    model = _build(cases_loc.AVA_SLOWONLY).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        model.roi_head.bbox_head.fc_cls.bias[1] = 2.0
    labels = torch.zeros(1, 81)
    labels[0, [0, 1, 12]] = 1
    sample = BaseDataElement(metainfo=dict(img_shape=(128, 160)),
                             proposals=InstanceData(bboxes=torch.tensor([[10.0, 10.0, 50.0, 90.0],
                                                                         [100.0, 10.0, 150.0, 60.0]])),
                             gt_instances=InstanceData(bboxes=torch.tensor([[10.0, 10.0, 50.0, 90.0]]), labels=labels))
    losses = model(torch.zeros(1, 3, 4, 128, 160), [sample], mode='loss')
    logit = torch.zeros(80)
    logit[0] = 2.0  # class 1 (column 0 once the person column is dropped)
    target = labels[0, 1:]
    expect = torch.nn.functional.binary_cross_entropy_with_logits(logit, target)
    torch.testing.assert_close(losses['loss_action_cls'], expect)
    # sigmoid > 0.5 only for class 1: recall 1/2, precision 1
    torch.testing.assert_close(losses['recall@thr=0.5'], torch.tensor(0.5))
    torch.testing.assert_close(losses['prec@thr=0.5'], torch.tensor(1.0), atol=1e-5, rtol=0)


def test_full_config_with_data_preprocessor():
    """The unchanged ``data_preprocessor`` entry (scope-prefixed type) builds once ActionDataPreprocessor is in."""
    if 'ActionDataPreprocessor' not in MODELS.module_dict:
        pytest.skip('ActionDataPreprocessor is not registered on this branch')
    cfg = dict(cases_loc.AVA_SLOWONLY, data_preprocessor=dict(
        type='mmaction.ActionDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
        format_shape='NCTHW'))
    model = _build(cfg)
    assert type(model.data_preprocessor).__name__ == 'ActionDataPreprocessor'
    assert list(model.state_dict())[0] == 'backbone.conv1.weight'


@pytest.mark.parametrize('path,value,message', [
    (('roi_head', 'bbox_roi_extractor', 'aligned'), False, 'aligned'),
    (('roi_head', 'bbox_roi_extractor', 'roi_layer_type'), 'RoIWarp', 'roi_layer_type'),
    (('roi_head', 'bbox_head', 'temporal_pool_type'), 'median', 'temporal_pool_type'),
    (('roi_head', 'shared_head'), dict(type='ACRNHead'), 'shared_head'),
    (('train_cfg', 'rcnn', 'assigner', 'type'), 'HungarianAssigner', 'assigner.type'),
])
def test_bad_config_names_the_key(path, value, message):
    import copy
    cfg = copy.deepcopy(cases_loc.AVA_SLOWONLY)
    node = cfg
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ConfigError, match=message):
        _build(cfg)
