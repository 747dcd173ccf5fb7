# ActionFormer on ActivityNet-1.3 with TSP features (paper: 36.6 average mAP at tIoU 0.5:0.05:0.95, 54.7 at 0.5).
# The detector is trained class-agnostic (one class); at evaluation every segment takes the top-2 classes of an
# external video-level classifier (the CUHK ActivityNet-1.3 scores) with score sqrt(segment score * class score).
# Every video is resampled to 192 steps (pyramid 192 - 96 - 48 - 24 - 12 - 6, global attention on the last level).
# Annotations: ActionFormer's anet1.3_tsp_filtered.json (the 'database' layout) or mmaction2's flat layout;
# features: one (T, 512) .npy per video named v_<id>.npy (feat_prefix='v_': the JSON ids lack it), stride 16 frames,
# 16-frame windows, 15 fps.
#   python tools/train_localizer.py configs/localization/actionformer/actionformer_tsp_activitynet_feature.py
#   python tools/test_localizer.py configs/localization/actionformer/actionformer_tsp_activitynet_feature.py \
#       work_dirs/actionformer_anet/latest.pth --eval activitynet
model = dict(
    type='ActionFormer',
    feat_dim=512,
    num_classes=1,
    max_seq_len=192,
    embed_dim=256,
    num_embed_convs=2,
    num_stem_layers=2,
    num_branch_layers=5,
    num_heads=4,
    window_size=[7, 7, 7, 7, 7, -1],
    drop_path=0.1,
    use_abs_pe=True,
    head_dim=256,
    head_layers=3,
    regression_ranges=((0, 4), (4, 8), (8, 16), (16, 32), (32, 64), (64, 10000)),
    center_sample_radius=1.5,
    init_loss_norm=200,
    label_smoothing=0.1,
    reg_loss_weight=2.0,
    test_cfg=dict(pre_nms_thresh=0.001, pre_nms_topk=2000, nms_method='gaussian', nms_sigma=0.75, iou_threshold=0.1,
                  min_score=0.001, max_seg_num=100, duration_thresh=0.001, multiclass_nms=False,
                  voting_thresh=0.9))
train_cfg = None
test_cfg = None
dataset_type = 'TADFeatureDataset'
data_root = 'data/ActivityNet/'
# classes: the 200 ActivityNet-1.3 classes in the order of the external score lists (label_id order of the JSON)
common = dict(ann_file=data_root + 'annotations/anet1.3_tsp_filtered.json', data_prefix=data_root + 'tsp_features',
              feat_prefix='v_',
              feat_stride=16, num_frames=16, default_fps=15, max_seq_len=192, resize_len=192)
data = dict(
    videos_per_gpu=16,
    workers_per_gpu=4,
    # the detector is class-agnostic: every training segment is class 0 ('action')
    train=dict(type=dataset_type, subset='training', classes=['action'], agnostic=True, trunc_thresh=0.5,
               crop_ratio=(0.9, 1.0), **common),
    val=dict(type=dataset_type, subset='validation', test_mode=True,
             external_scores=data_root + 'annotations/cuhk_val_simp_share.json', topk_classes=2, **common),
    test=dict(type=dataset_type, subset='validation', test_mode=True,
              external_scores=data_root + 'annotations/cuhk_val_simp_share.json', topk_classes=2, **common))
evaluation = dict(metrics=['activitynet'])
# AdamW 1e-3, 5 linear warmup epochs then cosine: 15 epochs in all (the paper's 10 + 5 warmup).
optimizer = dict(type='AdamW', lr=0.001, weight_decay=0.05)
optimizer_config = dict(grad_clip=dict(max_norm=1.0))
lr_config = dict(policy='cosine', min_lr=1e-8, by_epoch=False, warmup='linear', warmup_iters=5,
                 warmup_ratio=0.001, warmup_by_epoch=True)
total_epochs = 15
checkpoint_config = dict(interval=5)
log_config = dict(interval=20, hooks=[dict(type='TextLoggerHook')])
dist_params = dict(backend='nccl')
log_level = 'INFO'
work_dir = './work_dirs/actionformer_anet/'
load_from = None
resume_from = None
workflow = [('train', 1)]
