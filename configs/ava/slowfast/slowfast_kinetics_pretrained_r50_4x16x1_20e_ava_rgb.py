# SlowFast R50 4x16 FastRCNN on AVA v2.1 with mmaction2's published settings
# (slowfast_kinetics_pretrained_r50_4x16x1_20e_ava_rgb: Kinetics-400 pretrained SlowFast 4x16x1, 8 GPUs x 9 clips,
# 20 epochs, reported val mAP@0.5 = 24.32). 32 frames at stride 2 around each key-frame: the Fast pathway sees all
# 32 (1/8 of the channels), the Slow pathway every alpha=8-th (4 frames). res5 keeps spatial stride 1, so both
# pathways end at stride 16; the RoI extractor averages each pathway over time and concatenates the channels
# (2048 + 256 = 2304) before RoIAlign 8x8, then spatial max pooling and the multi-label sigmoid head (81 classes).
model = dict(
    type='FastRCNN',
    backbone=dict(
        type='ResNet_I3D_SlowFast',
        depth=50,
        alpha=8,  # mmaction2 resample_rate=8 (tau) and speed_ratio=8
        beta_inv=8,  # mmaction2 channel_ratio=8 (Fast pathway base_channels=8)
        pretrained_slow=None,  # mmaction2 loads a Kinetics-400 SlowFast 4x16x1 checkpoint (load_from)
        pretrained_fast=None,
        num_stages=4,
        spatial_strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 1),
        out_indices=(3,),
        slow_conv1_kernel_t=1,  # conv1_kernel=(1, 7, 7)
        fast_conv1_kernel_t=5,  # conv1_kernel=(5, 7, 7)
        slow_inflate_freq=(0, 0, 1, 1),
        fast_inflate_freq=(1, 1, 1, 1),
        fusion_kernel_size=5,
        inflate_style='3x1x1',
        nonlocal_stages=(-1,),
        bn_eval=False,  # norm_eval=False
        style='pytorch'),
    bbox_roi_extractor=dict(
        type='SingleRoIStraight3DExtractor',
        roi_layer=dict(type='RoIAlign', out_size=8, sample_num=0),
        out_channels=2304,
        featmap_strides=[16],
        with_temporal_pool=True,
        temporal_pool_mode='avg'),
    dropout_ratio=0.5,
    bbox_head=dict(
        type='BBoxHead',
        with_reg=False,
        with_temporal_pool=False,
        with_spatial_pool=True,
        spatial_pool_type='max',
        roi_feat_size=(1, 8, 8),
        in_channels=2304,
        num_classes=81,
        multilabel_classification=True,
        reg_class_agnostic=True,
        nms_class_agnostic=True))
train_cfg = dict(
    train_detector=False,
    person_det_score_thr=0.9,
    rcnn=dict(
        assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.9, neg_iou_thr=0.9, min_pos_iou=0.9, ignore_iof_thr=-1),
        sampler=dict(type='RandomSampler', num=32, pos_fraction=1, neg_pos_ub=-1, add_gt_as_proposals=True),
        pos_weight=1.0,
        debug=False))
test_cfg = dict(
    train_detector=False,
    person_det_score_thr=0.9,
    rcnn=dict(score_thr=0.0, nms=dict(type='nms', iou_thr=1.0), max_per_img=100, action_thr=0.002))
dataset_type = 'AVADataset'
data_root = 'data/ava/rawframes/'
anno_root = 'data/ava/annotations/'
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
common = dict(
    type=dataset_type,
    label_file=anno_root + 'ava_action_list_v2.1_for_activitynet_2018.pbtxt',
    img_prefix=data_root,
    img_norm_cfg=img_norm_cfg,
    input_format='NCTHW',
    new_length=32,  # SampleAVAFrames(clip_len=32, frame_interval=2)
    new_step=2,
    random_shift=False,
    modality='RGB',
    image_tmpl='img_{:05d}.jpg',
    fps=30,
    timestamp_start=900,
    div_255=False,
    resize_keep_ratio=True)
train_split = dict(
    ann_file=anno_root + 'ava_train_v2.1.csv',
    exclude_file=anno_root + 'ava_train_excluded_timestamps_v2.1.csv',
    proposal_file=anno_root + 'ava_dense_proposals_train.FAIR.recall_93.9.pkl')
val_split = dict(
    ann_file=anno_root + 'ava_val_v2.1.csv',
    exclude_file=anno_root + 'ava_val_excluded_timestamps_v2.1.csv',
    proposal_file=anno_root + 'ava_dense_proposals_val.FAIR.recall_93.9.pkl')
data = dict(
    videos_per_gpu=9,
    workers_per_gpu=2,
    # RandomRescale(scale_range=(256, 320)) + RandomCrop(256) + Flip(0.5)
    train=dict(**common, **train_split, img_scale=[(1333, 256), (1333, 320)], multiscale_mode='range',
               input_size=256, random_crop=True, flip_ratio=0.5, with_label=True),
    # Resize(scale=(-1, 256))
    val=dict(**common, **val_split, img_scale=(1333, 256), input_size=None, flip_ratio=0, with_label=True),
    test=dict(**common, **val_split, img_scale=(1333, 256), input_size=None, flip_ratio=0, with_label=False,
              test_mode=True))
optimizer = dict(type='SGD', lr=0.1125, momentum=0.9, weight_decay=0.00001)  # 0.1125 for 8 GPUs x 9 clips
optimizer_config = dict(grad_clip=dict(max_norm=40, norm_type=2))
lr_config = dict(policy='step', step=[10, 15], warmup='linear', warmup_by_epoch=True, warmup_iters=5,
                 warmup_ratio=0.1)
total_epochs = 20
checkpoint_config = dict(interval=1)
log_config = dict(interval=20, hooks=[dict(type='TextLoggerHook')])
dist_params = dict(backend='nccl')
log_level = 'INFO'
work_dir = './work_dirs/ava/slowfast_kinetics_pretrained_r50_4x16x1_20e_ava_rgb'
load_from = None
resume_from = None
workflow = [('train', 1)]
