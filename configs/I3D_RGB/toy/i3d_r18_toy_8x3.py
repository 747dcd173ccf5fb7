# I3D on the built-in toy dataset (data_tools/toy/build_toy_dataset.py): a thin ResNet-18 (16 base channels)
# inflated the I3D way (5x7x7 conv1, 3x1x1 convs in alternating blocks of every stage, as the R50 pattern
# ((1,1,1), (1,0,1,0), (1,0,1,0,1,0), (0,1,0)) cut to two blocks per stage), trained from scratch on one 8-frame
# clip (step 3) of 56x56 crops, NCTHW. The clip is short, so there is no temporal downsampling (stride 1 in conv1,
# pool1 and pool2) where the Kinetics I3D halves time twice.
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
        inflate_freq=((1, 1), (1, 0), (1, 0), (0, 1)),
        inflate_style='3x1x1',
        conv1_kernel_t=5,
        conv1_stride_t=1,
        pool1_kernel_t=1,
        pool1_stride_t=1,
        bn_eval=False,
        no_pool2=True,
        partial_bn=False,
        style='pytorch'),
    # (N, 128, 8, 2, 2) from an 8x56x56 training clip, (N, 128, 8, 2, 2) too from the 64x64 test crops:
    cls_head=dict(in_channels=128))
work_dir = './work_dirs/i3d_r18_toy_8x3'
