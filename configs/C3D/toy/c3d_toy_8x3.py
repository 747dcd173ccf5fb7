# C3D on the built-in toy dataset (data_tools/toy/build_toy_dataset.py): the Caffe C3D layout (8 3x3x3 convs,
# no BN, fc6/fc7) at a quarter of the width (base_channels=16, fc 256) trained from scratch on one 8-frame clip
# (step 3) of 56x56 crops, NCTHW. The FC layers fix the input size, so clip_shape is 8x56x56 and the test takes
# the centre 56x56 crop (the original C3D tests one 112x112 centre crop too). From scratch the Caffe init does not
# train (no BN), so every conv and fc starts from He init (weight_init='kaiming'). Without BN, SGD (lr 0.01)
# reached only 85% in 20 epochs and dropout slowed it further; AdamW without dropout reaches 100% by epoch 13.
_base_ = ['../../_base_/toy_3d_rgb_8x3.py']
model = dict(
    backbone=dict(
        type='C3D',
        pretrained=None,
        base_channels=16,
        clip_shape=(8, 56, 56),
        fc_channels=256,
        dropout_ratio=0,
        weight_init='kaiming'),
    spatial_temporal_module=dict(
        spatial_type='identity',
        temporal_size=1,
        spatial_size=1),
    cls_head=dict(dropout_ratio=0, in_channels=256))
# the fc layers fix the input: test on the centre 56x56 crop
data = dict(test=dict(input_size=56, oversample=None))
optimizer = dict(_delete_=True, type='AdamW', lr=0.001, weight_decay=0.01)
total_epochs = 16
work_dir = './work_dirs/c3d_toy_8x3'
