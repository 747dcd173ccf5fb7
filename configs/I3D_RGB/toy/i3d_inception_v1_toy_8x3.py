# I3D Inception-v1 on the built-in toy dataset (data_tools/toy/build_toy_dataset.py): DeepMind's inflated
# GoogLeNet at a quarter of the width (channel_multiplier=0.25 over its whole channel table, 256 output channels)
# trained from scratch on one 8-frame clip (step 3) of 56x56 crops, NCTHW; BN trains (the released configs freeze
# it because they fine-tune converted weights).
_base_ = ['../../_base_/toy_3d_rgb_8x3.py']
model = dict(
    backbone=dict(
        type='InceptionV1_I3D',
        pretrained=None,
        channel_multiplier=0.25,
        bn_eval=False,
        bn_frozen=False,
        partial_bn=False,
        modality='RGB'),
    # (N, 256, 1, 2, 2) from an 8x56x56 training clip, (N, 256, 1, 2, 2) too from the 64x64 test crops:
    cls_head=dict(in_channels=256))
work_dir = './work_dirs/i3d_inception_v1_toy_8x3'
