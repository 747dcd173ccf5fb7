# SlowOnly R50 4x16 FastRCNN on AVA v2.1 with mmaction2's published settings
# (slowonly_kinetics_pretrained_r50_4x16x1_20e_ava_rgb: Kinetics-400 pretrained, 8 GPUs x 16 clips, 20 epochs,
# reported val mAP@0.5 = 20.1). No shared head: res5 (spatial stride 1) feeds RoIAlign 8x8 at stride 16, then
# temporal+spatial max pooling and the multi-label sigmoid head over 81 classes.
model = dict(
    type='FastRCNN',
    backbone=dict(
        type='ResNet_I3D',
        depth=50,
        pretrained=None,  # mmaction2 loads a Kinetics-400 SlowOnly checkpoint here (load_from / --cfg-options)
        pretrained2d=False,
        num_stages=4,
        spatial_strides=(1, 2, 2, 1),
        temporal_strides=(1, 1, 1, 1),
        dilations=(1, 1, 1, 1),
        out_indices=(3,),
        conv1_kernel_t=1,
        conv1_stride_t=1,
        pool1_kernel_t=1,
        pool1_stride_t=1,
        inflate_freq=(0, 0, 1, 1),
        inflate_style='3x1x1',
        nonlocal_stages=(-1,),
        no_pool2=True,  # SlowOnly keeps all 4 frames (no temporal pool after res2)
        bn_eval=False,
        style='pytorch'),
    bbox_roi_extractor=dict(
        type='SingleRoIStraight3DExtractor',
        roi_layer=dict(type='RoIAlign', out_size=8, sample_num=0),
        out_channels=2048,
        featmap_strides=[16],
        with_temporal_pool=True),
    dropout_ratio=0.5,
    bbox_head=dict(
        type='BBoxHead',
        with_reg=False,
        with_temporal_pool=False,
        with_spatial_pool=True,
        spatial_pool_type='max',
        roi_feat_size=(1, 8, 8),
        in_channels=2048,
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
    new_length=4,  # SampleAVAFrames(clip_len=4, frame_interval=16)
    new_step=16,
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
    videos_per_gpu=16,
    workers_per_gpu=2,
    # RandomRescale(scale_range=(256, 320)) + RandomCrop(256) + Flip(0.5)
    train=dict(**common, **train_split, img_scale=[(1333, 256), (1333, 320)], multiscale_mode='range',
               input_size=256, random_crop=True, flip_ratio=0.5, with_label=True),
    # Resize(scale=(-1, 256))
    val=dict(**common, **val_split, img_scale=(1333, 256), input_size=None, flip_ratio=0, with_label=True),
    test=dict(**common, **val_split, img_scale=(1333, 256), input_size=None, flip_ratio=0, with_label=False,
              test_mode=True))
optimizer = dict(type='SGD', lr=0.2, momentum=0.9, weight_decay=0.00001)  # 0.2 for 8 GPUs x 16 clips
optimizer_config = dict(grad_clip=dict(max_norm=40, norm_type=2))
lr_config = dict(policy='step', step=[10, 15], warmup='linear', warmup_by_epoch=True, warmup_iters=5,
                 warmup_ratio=0.1)
total_epochs = 20
checkpoint_config = dict(interval=1)
log_config = dict(interval=20, hooks=[dict(type='TextLoggerHook')])
dist_params = dict(backend='nccl')
log_level = 'INFO'
work_dir = './work_dirs/ava/slowonly_kinetics_pretrained_r50_4x16x1_20e_ava_rgb'
load_from = None
resume_from = None
workflow = [('train', 1)]
