# SSN on the toy untrimmed rawframes (data_tools/toy/build_toy_untrimmed.py --frames --out data/toy_untrimmed):
# the original SSN config (§4.3) with a thin ResNet-18 (base_channels=8, 64-d features) on 32x32 frames so it
# trains on CPU. 4 toy classes.
# Toy figures (default toy data, 48 train / 16 val videos; `bash tools/dist_train_localizer.sh CONFIG 2 --seed S`,
# 40 epochs, ~1.5 min on 2 busy CPU cores, then `python tools/test_localizer.py CONFIG CKPT --eval thumos14`):
# THUMOS14 mAP@0.5 0.902 / 0.913 (seeds 0/1, average over tIoU 0.1-0.9: 0.748 / 0.743; 0.974 / 0.826 in another
# seed-0 run: repeated runs are not bit-identical); chance: untrained model 0.054, random scores on the
# same proposals 0.04-0.08 (tests/test_toy_ssn.py).
model = dict(
    type='SSN2D',
    backbone=dict(type='ResNet', depth=18, base_channels=8, out_indices=(3,), bn_eval=False),
    spatial_temporal_module=dict(type='SimpleSpatialModule', spatial_type='avg', spatial_size=1),
    dropout_ratio=0.5,
    segmental_consensus=dict(type='StructuredTemporalPyramidPooling', standalong_classifier=True,
                             stpp_cfg=(1, 1, 1), num_seg=(2, 5, 2)),
    cls_head=dict(type='SSNHead', dropout_ratio=0., in_channels_activity=64, in_channels_complete=192,
                  num_classes=4, with_bg=False, with_reg=True))
train_cfg = dict(
    ssn=dict(
        assigner=dict(fg_iou_thr=0.7, bg_iou_thr=0.01, incomplete_iou_thr=0.3, bg_coverage_thr=0.02,
                      incomplete_overlap_thr=0.01),
        sampler=dict(num_per_video=8, fg_ratio=1, bg_ratio=1, incomplete_ratio=6, add_gt_as_proposals=True),
        loss_weight=dict(comp_loss_weight=0.1, reg_loss_weight=0.1),
        debug=False))
test_cfg = dict(
    ssn=dict(
        sampler=dict(test_interval=6, batch_size=64),
        evaluater=dict(top_k=2000, nms=0.2, softmax_before_filter=True, cls_score_dict=None, cls_top_k=2)))
dataset_type = 'SSNDataset'
data_root = 'data/toy_untrimmed/rawframes/'
img_norm_cfg = dict(mean=[128, 128, 128], std=[64, 64, 64], to_rgb=False)
_common = dict(type=dataset_type, img_prefix=data_root, img_norm_cfg=img_norm_cfg, train_cfg=train_cfg,
               test_cfg=test_cfg, input_format='NCHW', body_seg=5, aug_seg=(2, 2), aug_ratio=0.5, new_length=1,
               new_step=1, modality='RGB', image_tmpl='img_{:05d}.jpg', img_scale=32, input_size=32,
               div_255=False, resize_keep_ratio=True)
data = dict(
    videos_per_gpu=4,
    workers_per_gpu=0,
    train=dict(_common, ann_file='data/toy_untrimmed/annotations/tag_train_normalized_proposal_list.txt',
               random_shift=True, flip_ratio=0.5, test_mode=False),
    val=dict(_common, ann_file='data/toy_untrimmed/annotations/tag_val_normalized_proposal_list.txt',
             random_shift=False, flip_ratio=0, test_mode=False),
    test=dict(_common, ann_file='data/toy_untrimmed/annotations/tag_val_normalized_proposal_list.txt',
              random_shift=False, flip_ratio=0, oversample=None, test_mode=True))
optimizer = dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=1e-5)
optimizer_config = dict(grad_clip=dict(max_norm=35, norm_type=2))
lr_config = dict(policy='step', step=[30])
checkpoint_config = dict(interval=10)
log_config = dict(interval=5, hooks=[dict(type='TextLoggerHook')])
total_epochs = 40
dist_params = dict(backend='gloo')
log_level = 'INFO'
work_dir = './work_dirs/ssn_toy_r18'
load_from = None
resume_from = None
workflow = [('train', 1)]
