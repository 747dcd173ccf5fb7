# Shared by the 3D toy configs (configs/*/toy/*_toy_8x3.py): the built-in toy dataset
# (python data_tools/toy/build_toy_dataset.py --out data/toy), one 8-frame clip (step 3, so 24 of the 24-32 frames) of
# 56x56 multi-scale crops for training, three 64x64 crops for testing, NCTHW; SGD with a cosine schedule; the TSN3D
# recognizer with adaptive average pooling (size -1, so the 64x64 test crops need no pooling-size override) and an
# 8-class head. A family config sets the backbone and cls_head.in_channels and overrides what differs.
model = dict(
    type='TSN3D',
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
load_from = None
resume_from = None
