# Toy spatio-temporal detection (data_tools/toy/build_toy_ava.py): a thin ResNet_I3D-18 (res2-res4, 16 base
# channels, output stride 8) FastRCNN on the toy proposals, trained from scratch on CPU in about a minute.
# Toy val frame-mAP@0.5: measured 0.912 (seed 0, 2 CPU processes, ~30 s); chance (random scores on the same
# boxes) 0.156. tests/test_toy_ava.py asserts >= 0.75.
#   python data_tools/toy/build_toy_ava.py --out data/toy_ava
#   bash tools/dist_train_detector.sh configs/ava/toy/fast_rcnn_i3d_r18_thin_toy_ava.py 2
#   python tools/test_detector.py configs/ava/toy/fast_rcnn_i3d_r18_thin_toy_ava.py \
#       work_dirs/fast_rcnn_i3d_r18_thin_toy_ava/latest.pth --out toy_ava_det.pkl --eval bbox
model = dict(
    type='FastRCNN',
    backbone=dict(
        type='ResNet_I3D',
        depth=18,
        base_channels=16,
        num_stages=3,
        spatial_strides=(1, 2, 1),
        temporal_strides=(1, 1, 1),
        dilations=(1, 1, 1),
        out_indices=(2,),
        conv1_kernel_t=3,
        conv1_stride_t=1,
        pool1_stride_t=1,
        inflate_freq=((0, 0), (0, 1), (0, 1)),
        bn_eval=False,
        style='pytorch'),
    bbox_roi_extractor=dict(
        type='SingleRoIStraight3DExtractor',
        roi_layer=dict(type='RoIAlign', out_size=4, sample_num=2),
        out_channels=64,
        featmap_strides=[8],
        with_temporal_pool=True),
    dropout_ratio=0.2,
    bbox_head=dict(
        type='BBoxHead',
        with_reg=False,
        with_temporal_pool=False,
        with_spatial_pool=True,
        spatial_pool_type='max',
        roi_feat_size=(1, 4, 4),
        in_channels=64,
        num_classes=9,  # 0 = person (unused), 1..8 = the toy actions
        multilabel_classification=True,
        reg_class_agnostic=True,
        nms_class_agnostic=True))
# Jittered ground truth keeps IoU >= ~0.8 with its actor, so 0.5 separates actors from the false positives.
train_cfg = dict(
    train_detector=False,
    person_det_score_thr=0.5,
    rcnn=dict(
        assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0.5, ignore_iof_thr=-1),
        sampler=dict(type='RandomSampler', num=8, pos_fraction=1, neg_pos_ub=-1, add_gt_as_proposals=True),
        pos_weight=-1,
        debug=False))
test_cfg = dict(
    train_detector=False,
    person_det_score_thr=0.5,
    rcnn=dict(score_thr=0.0, nms=dict(type='nms', iou_thr=1.0), max_per_img=100, action_thr=0.0))
dataset_type = 'AVADataset'
data_root = 'data/toy_ava/'
img_norm_cfg = dict(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True)
common = dict(
    type=dataset_type,
    label_file=data_root + 'annotations/toy_ava_action_list.pbtxt',
    video_stat_file=data_root + 'annotations/toy_ava_video_resolution_stats.csv',
    img_prefix=data_root + 'rawframes',
    img_norm_cfg=img_norm_cfg,
    input_format='NCTHW',
    new_length=4,
    new_step=4,
    random_shift=False,
    modality='RGB',
    image_tmpl='img_{:05d}.jpg',
    img_scale=(96, 64),
    input_size=None,
    size_divisor=8,
    resize_keep_ratio=True,
    fps=30,
    timestamp_start=0,
    num_classes=9)
train_split = dict(
    ann_file=data_root + 'annotations/toy_ava_train.csv',
    exclude_file=data_root + 'annotations/toy_ava_train_excluded_timestamps.csv',
    proposal_file=data_root + 'annotations/toy_ava_proposals_train.pkl')
val_split = dict(
    ann_file=data_root + 'annotations/toy_ava_val.csv',
    exclude_file=data_root + 'annotations/toy_ava_val_excluded_timestamps.csv',
    proposal_file=data_root + 'annotations/toy_ava_proposals_val.pkl')
data = dict(
    videos_per_gpu=4,
    workers_per_gpu=0,
    train=dict(**common, **train_split, flip_ratio=0.5, with_label=True),
    val=dict(**common, **val_split, flip_ratio=0, with_label=True),
    test=dict(**common, **val_split, flip_ratio=0, with_label=False, test_mode=True))
optimizer = dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-4)
optimizer_config = dict(grad_clip=dict(max_norm=20, norm_type=2))
lr_config = dict(policy='step', step=[16], warmup='linear', warmup_iters=12, warmup_ratio=0.1)
checkpoint_config = dict(interval=20)
log_config = dict(interval=6, hooks=[dict(type='TextLoggerHook')])
total_epochs = 20
dist_params = dict(backend='gloo')
log_level = 'INFO'
work_dir = './work_dirs/fast_rcnn_i3d_r18_thin_toy_ava'
load_from = None
resume_from = None
workflow = [('train', 1)]
