# C3D on the built-in toy dataset (data_tools/toy/build_toy_dataset.py): the Caffe C3D layout (8 3x3x3 convs,
# no BN, fc6/fc7) at a quarter of the width (base_channels=16, fc 256) trained from scratch on one 8-frame clip
# (step 3) of 56x56 crops, NCTHW. The FC layers fix the input size, so clip_shape is 8x56x56 and the test takes
# the centre 56x56 crop (the original C3D tests one 112x112 centre crop too). From scratch the Caffe init does not
# train (no BN), so every conv and fc starts from He init (weight_init='kaiming'). Without BN, SGD (lr 0.01)
# reached only 85% in 20 epochs and dropout slowed it further; AdamW without dropout reaches 100% by epoch 13.
model = dict(
    type='TSN3D',
    backbone=dict(
        type='C3D',
        pretrained=None,
        base_channels=16,
        clip_shape=(8, 56, 56),
        fc_channels=256,
        dropout_ratio=0,
        weight_init='kaiming'),
    spatial_temporal_module=dict(
        type='SimpleSpatialTemporalModule',
        spatial_type='identity',
        temporal_size=1,
        spatial_size=1),
    segmental_consensus=dict(
        type='SimpleConsensus',
        consensus_type='avg'),
    cls_head=dict(
        type='ClsHead',
        with_avg_pool=False,
        temporal_feature_size=1,
        spatial_feature_size=1,
        dropout_ratio=0,
        in_channels=256,
        init_std=0.01,
        num_classes=8))
train_cfg = None
test_cfg = None
# dataset settings
dataset_type = 'RawFramesDataset'
data_root = 'data/toy/rawframes'
img_norm_cfg = dict(
    mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
data = dict(
    videos_per_gpu=16,
    workers_per_gpu=1,
    train=dict(
        type=dataset_type,
        ann_file='data/toy/toy_train_list_rawframes.txt',
        img_prefix=data_root,
        img_norm_cfg=img_norm_cfg,
        input_format='NCTHW',
        num_segments=1,
        new_length=8,
        new_step=3,
        random_shift=True,
        modality='RGB',
        image_tmpl='img_{:05d}.jpg',
        img_scale=64,
        input_size=56,
        div_255=False,
        flip_ratio=0.5,
        resize_keep_ratio=True,
        oversample=None,
        random_crop=False,
        more_fix_crop=False,
        multiscale_crop=True,
        scales=[1, 0.875, 0.75],
        max_distort=1,
        test_mode=False),
    val=dict(
        type=dataset_type,
        ann_file='data/toy/toy_val_list_rawframes.txt',
        img_prefix=data_root,
        img_norm_cfg=img_norm_cfg,
        input_format='NCTHW',
        num_segments=1,
        new_length=8,
        new_step=3,
        random_shift=False,
        modality='RGB',
        image_tmpl='img_{:05d}.jpg',
        img_scale=64,
        input_size=56,
        div_255=False,
        flip_ratio=0,
        resize_keep_ratio=True,
        oversample=None,
        random_crop=False,
        more_fix_crop=False,
        multiscale_crop=False,
        test_mode=False),
    test=dict(
        type=dataset_type,
        ann_file='data/toy/toy_val_list_rawframes.txt',
        img_prefix=data_root,
        img_norm_cfg=img_norm_cfg,
        input_format='NCTHW',
        num_segments=1,
        new_length=8,
        new_step=3,
        random_shift=False,
        modality='RGB',
        image_tmpl='img_{:05d}.jpg',
        img_scale=64,
        input_size=56,
        div_255=False,
        flip_ratio=0,
        resize_keep_ratio=True,
        oversample=None,
        random_crop=False,
        more_fix_crop=False,
        multiscale_crop=False,
        test_mode=True))
# optimizer
optimizer = dict(type='AdamW', lr=0.001, weight_decay=0.01)
optimizer_config = dict(grad_clip=dict(max_norm=40, norm_type=2))
# learning policy
lr_config = dict(policy='cosine', target_lr=0, warmup='linear', warmup_iters=20, warmup_ratio=0.1)
checkpoint_config = dict(interval=5)
workflow = [('train', 1)]
log_config = dict(
    interval=5,
    hooks=[dict(type='TextLoggerHook')])
# runtime settings
total_epochs = 16
dist_params = dict(backend='gloo')
log_level = 'INFO'
work_dir = './work_dirs/c3d_toy_8x3'
load_from = None
resume_from = None
