"""mmaction2 1.2.0's 2D backbones and the TPN neck: backbone/neck dicts from its configs, unchanged unless noted.

Sources: ``configs/_base_/models/{tsn_r50,trn_r50,tsm_r50,tin_r50,tanet_r50,tsm_mobilenet_v2,tpn_tsm_r50}.py``
and the variants under ``configs/recognition/{tsn,tsm,tin,tanet,trn,tpn}/``. Inputs are small (32x32 or 64x64
frames); the frame count matches ``num_segments`` where the model shifts frames in time.
"""

def _backbone(model, x):
    return model(x)


CASES = [
    # Smoke case of the reference machinery (folded in from cases_smoke).
    dict(name='resnet18_backbone', cfg=dict(type='ResNet', depth=18, pretrained=None),
         inputs=[(2, 3, 32, 32)], run=_backbone),
    # tsn_r50.py
    dict(name='tsn_r50', cfg=dict(type='ResNet', pretrained='https://download.pytorch.org/models/resnet50-11ad3fa6.pth',
                                  depth=50, norm_eval=False),
         inputs=[(2, 3, 32, 32)], run=_backbone),
    # tsn_imagenet-pretrained-r50_8xb32_5x1x3-110e_kinetics400-flow.py (clip_len=5 -> 10 flow channels)
    dict(name='tsn_r50_flow', cfg=dict(type='ResNet', pretrained='https://download.pytorch.org/models/resnet50-11ad3fa6.pth',
                                       depth=50, in_channels=2 * 5, norm_eval=False),
         inputs=[(2, 10, 32, 32)], run=_backbone),
    # tsn_imagenet-pretrained-r101_8xb32-1x1x8-100e_kinetics400-rgb.py
    dict(name='tsn_r101', cfg=dict(type='ResNet', pretrained='https://download.pytorch.org/models/resnet101-cd907fc2.pth',
                                   depth=101, norm_eval=False),
         inputs=[(1, 3, 32, 32)], run=_backbone),
    # trn_r50.py (partial_bn only changes training; eval outputs must match)
    dict(name='trn_r50', cfg=dict(type='ResNet', pretrained='torchvision://resnet50', depth=50, norm_eval=False,
                                  partial_bn=True),
         inputs=[(2, 3, 32, 32)], run=_backbone),
    # Not from a config: the options around the configs (caffe style, 3 stages, several outputs, dilation).
    dict(name='resnet34_caffe_multi_out', cfg=dict(type='ResNet', depth=34, num_stages=3, out_indices=(0, 1, 2),
                                                  strides=(1, 2, 1), dilations=(1, 1, 2), style='caffe'),
         inputs=[(1, 3, 32, 32)], run=_backbone),
]
