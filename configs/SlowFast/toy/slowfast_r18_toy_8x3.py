# SlowFast on the built-in toy dataset (data_tools/toy/build_toy_dataset.py): a thin two-pathway ResNet-18
# (base_channels=16 for the Slow path, beta_inv=4 so the Fast path is 4 wide) trained from scratch on one
# 8-frame clip (step 3) of 56x56 crops, NCTHW. alpha=2: the Slow path sees 4 of the 8 frames, the Fast path all 8.
model = dict(
    type='TSN3D',
    backbone=dict(
        type='ResNet_I3D_SlowFast',
        pretrained_slow=None,
        pretrained_fast=None,
        depth=18,
        base_channels=16,
        alpha=2,
        beta_inv=4,
        num_stages=4,
        out_indices=[3],
        frozen_stages=-1,
        slow_inflate_freq=(0, 0, 1, 1),
        fast_inflate_freq=(1, 1, 1, 1),
        slow_conv1_kernel_t=1,
        fast_conv1_kernel_t=5,
        fusion_kernel_size=5,
        inflate_style='3x1x1',
        bn_eval=False,
        partial_bn=False,
        style='pytorch'),
    # slow (N, 128, 4, 2, 2) and fast (N, 32, 8, 2, 2) pooled to 1x1x1 each and concatenated: 160 channels
    spatial_temporal_module=dict(
        type='SlowFastSpatialTemporalModule',
        spatial_type='avg',
        adaptive_pool=True),
    segmental_consensus=dict(
        type='SimpleConsensus',
        consensus_type='avg'),
    cls_head=dict(
        type='ClsHead',
        with_avg_pool=False,
        temporal_feature_size=1,
        spatial_feature_size=1,
        dropout_ratio=0.3,
        in_channels=160,
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
    videos_per_gpu=8,
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
# AdamW: SGD (lr 0.05) needed 20 epochs for 96.6 % val / 92.0 % 3-crop test and plateaued at ~70 % with lr 0.1;
# AdamW reaches 100 % val by epoch 11
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
total_epochs = 15
dist_params = dict(backend='gloo')
log_level = 'INFO'
work_dir = './work_dirs/slowfast_r18_toy_8x3'
load_from = None
resume_from = None
