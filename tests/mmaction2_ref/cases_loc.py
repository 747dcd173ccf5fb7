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


# --- AVA spatio-temporal detection --------------------------------------------------------------------------------
# mmaction2's detector (configs/detection/slowonly/slowonly_kinetics400-pretrained-r50_8xb16-4x16x1-20e_ava21-rgb.py)
# around a tiny test backbone: the real ones (ResNet3dSlowOnly / SlowFast) live in the backbone package and are
# checked there. The peer needs mmdet (pure Python) and mmcv's compiled RoIAlign, which its CPU venv lacks:
# ``_install_peer_mmcv_ops`` stands in torchvision's kernels (the same sampling as mmcv's ``RoIAlign`` /
# ``RoIPool``) when this module is imported there, so the peer's own extractor, head and RoI head run.
import importlib.util  # noqa: E402
import sys  # noqa: E402
import types  # noqa: E402

from mmengine.config import ConfigDict  # noqa: E402

from mmaction.registry import MODELS  # noqa: E402  (this project's mmaction2 registry, or the peer's own)


def _install_peer_mmcv_ops() -> None:
    import importlib.abc
    import importlib.machinery

    import torchvision.ops

    class Unavailable:
        def __init__(self, *args, **kwargs):
            raise RuntimeError(f'{type(self).__name__}: compiled mmcv op, not available in this venv')

    class RoIAlign(torch.nn.Module):
        def __init__(self, output_size, spatial_scale=1.0, sampling_ratio=0, pool_mode='avg', aligned=True,
                     use_torchvision=False):
            super().__init__()
            assert pool_mode == 'avg'
            self.args = (output_size, spatial_scale, sampling_ratio, aligned)

        def forward(self, x, rois):
            size, scale, ratio, aligned = self.args
            return torchvision.ops.roi_align(x, rois, size, scale, ratio, aligned)

    class RoIPool(torch.nn.Module):
        def __init__(self, output_size, spatial_scale=1.0):
            super().__init__()
            self.args = (output_size, spatial_scale)

        def forward(self, x, rois):
            return torchvision.ops.roi_pool(x, rois, *self.args)

    class OpsModule(types.ModuleType):
        def __getattr__(self, name):
            if name.startswith('__'):
                raise AttributeError(name)
            return type(name, (Unavailable,), {})

    class Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, fullname, path, target=None):
            if fullname == 'mmcv.ops' or fullname.startswith('mmcv.ops.'):
                return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
            return None

        def create_module(self, spec):
            module = OpsModule(spec.name)
            module.__path__ = []
            if spec.name == 'mmcv.ops':
                module.RoIAlign, module.RoIPool = RoIAlign, RoIPool
            return module

        def exec_module(self, module):
            pass

    sys.meta_path.insert(0, Finder())


def _peer_without_compiled_ops() -> bool:
    return (importlib.util.find_spec('mmdet') is not None and importlib.util.find_spec('mmcv') is not None
            and importlib.util.find_spec('mmcv._ext') is None)


if _peer_without_compiled_ops():
    _install_peer_mmcv_ops()


@MODELS.register_module(name='TinyAVABackbone', force=True)
class TinyAVABackbone(torch.nn.Module):
    """Test-only: ``(B, 3, T, H, W)`` -> ``(B, 16, T, H / 16, W / 16)`` (the AVA configs' feature stride)."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv3d(3, 8, (1, 4, 4), (1, 4, 4))
        self.conv2 = torch.nn.Conv3d(8, 16, (3, 4, 4), (1, 4, 4), (1, 0, 0))

    def forward(self, x):
        return self.conv2(torch.relu(self.conv1(x)))


@MODELS.register_module(name='TinyTwoPathwayBackbone', force=True)
class TinyTwoPathwayBackbone(TinyAVABackbone):
    """Test-only, SlowFast-like: ``(slow (B, 16, T / 2, h, w), fast (B, 16, T, h, w))``."""

    def forward(self, x):
        fast = super().forward(x)
        return fast[:, :, ::2], fast


AVA_SLOWONLY = dict(
    type='FastRCNN', _scope_='mmdet', init_cfg=dict(type='Pretrained', checkpoint='https://unreachable.example/x.pth'),
    backbone=dict(type='mmaction.TinyAVABackbone'),
    roi_head=dict(
        type='AVARoIHead',
        bbox_roi_extractor=dict(type='SingleRoIExtractor3D', roi_layer_type='RoIAlign', output_size=8,
                                with_temporal_pool=True),
        bbox_head=dict(type='BBoxHeadAVA', background_class=True, in_channels=16, num_classes=81, multilabel=True,
                       dropout_ratio=0.5)),
    data_preprocessor=None,
    # mmdet reads these with attribute access (a config file gives ConfigDicts; ConfigDict is a dict)
    train_cfg=ConfigDict(rcnn=dict(assigner=dict(type='MaxIoUAssignerAVA', pos_iou_thr=0.9, neg_iou_thr=0.9,
                                                 min_pos_iou=0.9),
                                   sampler=dict(type='RandomSampler', num=32, pos_fraction=1, neg_pos_ub=-1,
                                                add_gt_as_proposals=True),
                                   pos_weight=1.0)),
    test_cfg=ConfigDict(rcnn=None))
# slowonly_k700-pre-r50_8xb8-16x4x1-10e-tricks_ava-kinetics-rgb.py: global context, temporal max, MLP head, focal
AVA_TRICKS = dict(AVA_SLOWONLY, roi_head=dict(
    AVA_SLOWONLY['roi_head'],
    bbox_roi_extractor=dict(AVA_SLOWONLY['roi_head']['bbox_roi_extractor'], with_global=True, temporal_pool_mode='max'),
    bbox_head=dict(AVA_SLOWONLY['roi_head']['bbox_head'], in_channels=32, mlp_head=True, focal_gamma=1.0)))
# slowfast_kinetics400-pretrained-r50_8xb16-4x16x1-20e_ava21-rgb.py's RoI head on two pathways; RoIPool variant
AVA_TWO_PATHWAY = dict(AVA_SLOWONLY, backbone=dict(type='mmaction.TinyTwoPathwayBackbone'), roi_head=dict(
    AVA_SLOWONLY['roi_head'],
    bbox_roi_extractor=dict(AVA_SLOWONLY['roi_head']['bbox_roi_extractor'], roi_layer_type='RoIPool'),
    bbox_head=dict(AVA_SLOWONLY['roi_head']['bbox_head'], in_channels=32, focal_alpha=3.0, focal_gamma=1.0)))

AVA_IMG = (128, 160)  # H, W of the test clips
PROPOSALS = ([[10.0, 12.0, 70.0, 110.0], [60.5, 20.0, 150.0, 120.0], [0.0, 0.0, 159.0, 127.0],
              [33.0, 40.0, 90.0, 100.0], [100.0, 5.0, 130.0, 60.0]],
             [[20.0, 30.0, 80.0, 120.0], [90.0, 10.0, 155.0, 90.0], [5.0, 64.0, 60.0, 127.0]])
GT_BOXES = ([[12.0, 14.0, 70.0, 108.0], [98.0, 6.0, 131.0, 62.0]], [[88.0, 12.0, 150.0, 92.0]])
GT_ACTIONS = ([[1, 12], [4, 12, 60, 79]], [[17]])


def _ava_samples(n: int, train: bool, scale: float) -> list:
    samples = []
    for i in range(n):
        img_shape = tuple(int(v * scale) for v in AVA_IMG)
        sample = BaseDataElement(metainfo=dict(img_shape=img_shape, crop_quadruple=[0.1, 0.05, 0.8, 0.9], flip=i == 1),
                                 proposals=InstanceData(bboxes=torch.tensor(PROPOSALS[i]) * scale))
        if train:
            labels = torch.zeros(len(GT_ACTIONS[i]), 81)
            for row, actions in enumerate(GT_ACTIONS[i]):
                labels[row, [0] + actions] = 1.0  # column 0: the person (mmaction2's AVA dataset sets it)
            sample.gt_instances = InstanceData(bboxes=torch.tensor(GT_BOXES[i]) * scale, labels=labels)
        samples.append(sample)
    return samples


def ava_run(model, x):
    """Predict each clip alone (mmdet tests one clip per batch), then the loss of both; boxes scale with ``x``."""
    scale = x.shape[-1] / AVA_IMG[1]
    # Fresh samples for every call: mmaction2's RoI head pops the proposals' boxes during the loss.
    predictions = [model(x[i:i + 1], _ava_samples(2, False, scale)[i:i + 1], mode='predict')[0].pred_instances
                   for i in range(2)]
    torch.manual_seed(0)
    return [(p.bboxes, p.scores) for p in predictions], model(x, _ava_samples(2, True, scale), mode='loss')


# The config's model dict unchanged: ResNet3dSlowOnly-50 (``backbone.*`` keys as in the released checkpoints) and
# mmaction2's data preprocessor; on 64 x 80 clips.
AVA_SLOWONLY_R50 = dict(
    AVA_SLOWONLY, init_cfg=dict(type='Pretrained', checkpoint=(
        'https://download.openmmlab.com/mmaction/v1.0/recognition/slowonly/slowonly_imagenet-pretrained-r50_8xb16-'
        '4x16x1-steplr-150e_kinetics400-rgb/slowonly_imagenet-pretrained-r50_8xb16-4x16x1-steplr-150e_kinetics400-'
        'rgb_20220901-e7b65fad.pth')),
    backbone=dict(type='mmaction.ResNet3dSlowOnly', depth=50, pretrained=None, pretrained2d=False, lateral=False,
                  num_stages=4, conv1_kernel=(1, 7, 7), conv1_stride_t=1, pool1_stride_t=1,
                  spatial_strides=(1, 2, 2, 1)),
    roi_head=dict(AVA_SLOWONLY['roi_head'], bbox_head=dict(AVA_SLOWONLY['roi_head']['bbox_head'], in_channels=2048)),
    data_preprocessor=dict(type='mmaction.ActionDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], format_shape='NCTHW'))

CASES += [
    dict(name='ava_slowonly_r50', cfg=AVA_SLOWONLY_R50, inputs=[(2, 3, 4, 64, 80)], run=ava_run, slow=True,
         requires=('ResNet3dSlowOnly', 'ActionDataPreprocessor')),
    dict(name='ava_slowonly', cfg=AVA_SLOWONLY, inputs=[(2, 3, 4) + AVA_IMG], run=ava_run),
    dict(name='ava_tricks', cfg=AVA_TRICKS, inputs=[(2, 3, 4) + AVA_IMG], run=ava_run),
    dict(name='ava_two_pathway', cfg=AVA_TWO_PATHWAY, inputs=[(2, 3, 4) + AVA_IMG], run=ava_run),
]
