"""mmaction2's temporal localizers (BMN, BSN's TEM and PEM) in all three forward modes.

The ``model`` dicts are those of mmaction2 1.2.0's ``configs/_base_/models/{bmn_400x100,bsn_tem,bsn_pem}.py``;
TEM and PEM run unchanged, BMN at a reduced temporal scale (its full 100 x 100 map costs ~40 GFLOPs per video; the
full-size dict is checked for keys, shapes and parameter count only, in the slow ``bmn_400x100_keys`` case).
Annotations and metainfo travel in mmengine data elements, which both sides have. Loss modes draw random numbers
(BMN's PEM-regression sampling), so each run seeds torch first.
"""
import torch
from mmengine.structures import BaseDataElement, InstanceData

# configs/_base_/models/bmn_400x100.py
BMN_400X100 = dict(type='BMN', temporal_dim=100, boundary_ratio=0.5, num_samples=32, num_samples_per_bin=3,
                   feat_dim=400, soft_nms_alpha=0.4, soft_nms_low_threshold=0.5, soft_nms_high_threshold=0.9,
                   post_process_top_k=100)
BMN_SMALL = dict(BMN_400X100, temporal_dim=16, num_samples=8, feat_dim=32, hidden_dim_1d=32, hidden_dim_2d=16,
                 hidden_dim_3d=24, post_process_top_k=10)
# configs/_base_/models/bsn_tem.py
BSN_TEM = dict(type='TEM', temporal_dim=100, boundary_ratio=0.1, tem_feat_dim=400, tem_hidden_dim=512,
               tem_match_threshold=0.5)
# configs/_base_/models/bsn_pem.py
BSN_PEM = dict(type='PEM', pem_feat_dim=32, pem_hidden_dim=256, pem_u_ratio_m=1, pem_u_ratio_l=2,
               pem_high_temporal_iou_threshold=0.6, pem_low_temporal_iou_threshold=0.2, soft_nms_alpha=0.75,
               soft_nms_low_threshold=0.65, soft_nms_high_threshold=0.9, post_process_top_k=100)

GT_BBOX = ([[0.1, 0.35], [0.5, 0.9]], [[0.2, 0.6]])
META = dict(duration_second=37.5, duration_frame=900)


def _samples(n: int, **gt) -> list:
    return [BaseDataElement(metainfo=dict(META, video_name=f'v_{i}'),
                            gt_instances=InstanceData(**{k: v[i] for k, v in gt.items()})) for i in range(n)]


def _proposals(results) -> list:
    """``[dict(video_name, proposal_list)]`` -> one ``(K, 3)`` tensor ``score, start, end`` per video."""
    return [torch.tensor([[p['score'], *p['segment']] for p in r['proposal_list']], dtype=torch.float64)
            for r in results]


def _loss(model, x, samples):
    torch.manual_seed(0)
    return model(x, samples, mode='loss')


def bmn_run(model, x):
    # The deterministic fill overwrote BMN's two constant masks (they are state): rebuild them, compare them too,
    # and run with them.
    fresh = type(model)(**{k: v for k, v in BMN_SMALL.items() if k != 'type'})
    model.sample_mask.data.copy_(fresh.sample_mask)
    model.bm_mask.copy_(fresh.bm_mask)
    x = list(x)  # mmaction2's BMN and PEM stack a list of per-video tensors (a batched tensor fails there)
    samples = _samples(2, gt_bbox=[torch.tensor(b) for b in GT_BBOX])
    single = _samples(1)
    return (fresh.sample_mask, fresh.bm_mask, model(x, None, mode='tensor'), _loss(model, x, samples),
            _proposals(model(x[:1], single, mode='predict')), _proposals(model(x[1:], single, mode='predict')))


def tem_run(model, x):
    samples = _samples(2, gt_bbox=[torch.tensor(b) for b in GT_BBOX])
    return (model(x, None, mode='tensor'), _loss(model, x, samples),
            [torch.from_numpy(r) for _, r in model(x, samples, mode='predict')])


def _pem_samples(feats: torch.Tensor) -> list:
    """Proposals of two videos from the deterministic input: BSP features, IoUs in [0, 1], tmin < tmax."""
    n = feats.shape[1]
    u = (feats[:, :, :4] + 1) / 2  # (2, N, 4) in [0, 1]
    tmin = u[:, :, 0] * 0.6
    return _samples(2, bsp_feature=list(feats), reference_temporal_iou=list(u[:, :, 1]), tmin=list(tmin),
                    tmax=list(tmin + 0.05 + 0.35 * u[:, :, 2]), tmin_score=list(u[:, :, 3]),
                    tmax_score=list(torch.linspace(0.2, 0.9, n).expand(2, n)))


def pem_run(model, x):
    samples = _pem_samples(x)
    x = list(x)
    return (model(x, None, mode='tensor'), _loss(model, x, samples), _proposals(model(x, samples[:1], mode='predict')),
            _proposals(model(x, samples, mode='predict')))


CASES = [
    dict(name='bmn_small', cfg=BMN_SMALL, inputs=[(2, 32, 16)], run=bmn_run),
    dict(name='bmn_400x100_keys', cfg=BMN_400X100, inputs=[], run=lambda model: (), slow=True),
    dict(name='bsn_tem', cfg=BSN_TEM, inputs=[(2, 400, 100)], run=tem_run),
    dict(name='bsn_pem', cfg=BSN_PEM, inputs=[(2, 12, 32)], run=pem_run),
]
