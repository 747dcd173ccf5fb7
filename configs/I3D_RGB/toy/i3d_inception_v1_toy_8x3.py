# I3D Inception-v1 on the built-in toy dataset (data_tools/toy/build_toy_dataset.py): DeepMind's inflated
# GoogLeNet at a quarter of the width (channel_multiplier=0.25 over its whole channel table, 256 output channels)
# trained from scratch on one 8-frame clip (step 3) of 56x56 crops, NCTHW; BN trains (the released configs freeze
# it because they fine-tune converted weights).
model = dict(
    type='TSN3D',
    backbone=dict(
        type='InceptionV1_I3D',
        pretrained=None,
        channel_multiplier=0.25,
        bn_eval=False,
        bn_frozen=False,
        partial_bn=False,
        modality='RGB'),
    # (N, 256, 1, 2, 2) from an 8x56x56 training clip, (N, 256, 1, 2, 2) too from the 64x64 test crops:
    # adaptive pooling (size -1) to 1x1x1, so the 3-crop test needs no pooling-size override
    spatial_temporal_module=dict(
        type='SimpleSpatialTemporalModule',
        spatial_type='avg',
        temporal_size=-1,
        spatial_size=-1),
    segmental_consensus=dict(
        type='SimpleConsensus',
        consensus_type='avg'),
    cls_head=dict(
        type='ClsHead',
        with_avg_pool=False,
        temporal_feature_size=1,
        spatial_feature_size=1,
        dropout_ratio=0.3,
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
        input_size=64,
        div_255=False,
        flip_ratio=0,
        resize_keep_ratio=True,
        oversample='three_crop',
        random_crop=False,
        more_fix_crop=False,
        multiscale_crop=False,
        test_mode=True))
# optimizer
optimizer = dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4)
optimizer_config = dict(grad_clip=dict(max_norm=40, norm_type=2))
# learning policy
lr_config = dict(policy='cosine', target_lr=0, warmup='linear', warmup_iters=20, warmup_ratio=0.1)
checkpoint_config = dict(interval=5)
workflow = [('train', 1)]
log_config = dict(
    interval=5,
    hooks=[dict(type='TextLoggerHook')])
# runtime settings
total_epochs = 20
dist_params = dict(backend='gloo')
log_level = 'INFO'
work_dir = './work_dirs/i3d_inception_v1_toy_8x3'
load_from = None
resume_from = None
