# SlowOnly on the built-in toy dataset (data_tools/toy/build_toy_dataset.py): a thin 3D ResNet-18 (16 base
# channels) in the SlowOnly layout (no temporal downsampling, temporal kernels only in stages 3-4) trained from
# scratch on one 8-frame clip (step 3, so 24 of the 24-32 frames) of 56x56 crops, NCTHW. The toy classes differ
# by motion, so the clip has to span most of the video.
_base_ = ['../../_base_/toy_3d_rgb_8x3.py']
model = dict(
    backbone=dict(
        type='ResNet_I3D',
        pretrained=None,
        depth=18,
        base_channels=16,
        num_stages=4,
        out_indices=[3],
        frozen_stages=-1,
        inflate_freq=(0, 0, 1, 1),
        inflate_style='3x1x1',
        conv1_kernel_t=1,
        conv1_stride_t=1,
        pool1_kernel_t=1,
        pool1_stride_t=1,
        bn_eval=False,
        no_pool2=True,
        partial_bn=False,
        style='pytorch'),
    # (N, 128, 8, 2, 2) from an 8x56x56 training clip, (N, 128, 8, 2, 2) too from the 64x64 test crops:
    cls_head=dict(in_channels=128))
total_epochs = 30
work_dir = './work_dirs/slowonly_r18_toy_8x3'
