# ActionFormer on THUMOS14 with the public I3D two-stream features (paper: 66.8 average mAP at tIoU 0.3:0.1:0.7,
# 71.0 at 0.5). Features and annotations: see data_tools/thumos14/PREPARING_TH14.md (ActionFormer's release layout:
# one (T, 2048) .npy per video, stride 4 frames at 30 fps, 16-frame windows; train on the validation set, test on the
# test set).
#   python tools/train_localizer.py configs/localization/actionformer/actionformer_i3d_thumos14_feature.py --seed 0
#   python tools/test_localizer.py configs/localization/actionformer/actionformer_i3d_thumos14_feature.py \
#       work_dirs/actionformer_thumos14/latest.pth --eval thumos14 --out work_dirs/actionformer_thumos14/results.json
classes = ['BaseballPitch', 'BasketballDunk', 'Billiards', 'CleanAndJerk', 'CliffDiving', 'CricketBowling',
           'CricketShot', 'Diving', 'FrisbeeCatch', 'GolfSwing', 'HammerThrow', 'HighJump', 'JavelinThrow',
           'LongJump', 'PoleVault', 'Shotput', 'SoccerPenalty', 'TennisSwing', 'ThrowDiscus', 'VolleyballSpiking']
model = dict(
    type='ActionFormer',
    feat_dim=2048,
    num_classes=20,
    max_seq_len=2304,
    embed_dim=512,
    num_embed_convs=2,
    num_stem_layers=2,
    num_branch_layers=5,  # pyramid 2304 - 1152 - 576 - 288 - 144 - 72
    num_heads=4,
    window_size=19,
    drop_path=0.1,
    head_dim=512,
    head_layers=3,
    regression_ranges=((0, 4), (4, 8), (8, 16), (16, 32), (32, 64), (64, 10000)),
    center_sample_radius=1.5,
    init_loss_norm=100,
    class_names=classes,
    test_cfg=dict(pre_nms_thresh=0.001, pre_nms_topk=2000, nms_method='gaussian', nms_sigma=0.5, iou_threshold=0.1,
                  min_score=0.001, max_seg_num=200, duration_thresh=0.05, multiclass_nms=True,
                  voting_thresh=0.7))  # voting only runs with class-agnostic NMS
train_cfg = None
test_cfg = None
dataset_type = 'TADFeatureDataset'
data_root = 'data/thumos14/'
common = dict(ann_file=data_root + 'annotations/thumos14.json', data_prefix=data_root + 'i3d_features',
              classes=classes, feat_stride=4, num_frames=16, default_fps=30, max_seq_len=2304)
data = dict(
    videos_per_gpu=2,
    workers_per_gpu=4,
    train=dict(type=dataset_type, subset='validation', trunc_thresh=0.5, crop_ratio=(0.9, 1.0), **common),
    val=dict(type=dataset_type, subset='test', test_mode=True, **common),
    test=dict(type=dataset_type, subset='test', test_mode=True, **common))
evaluation = dict(metrics=['thumos14'])
# AdamW 1e-4, 5 linear warmup epochs then cosine: 35 epochs in all (the paper's 30 + 5 warmup).
optimizer = dict(type='AdamW', lr=0.0001, weight_decay=0.05)
optimizer_config = dict(grad_clip=dict(max_norm=1.0))
lr_config = dict(policy='cosine', min_lr=1e-8, by_epoch=False, warmup='linear', warmup_iters=5,
                 warmup_ratio=0.001, warmup_by_epoch=True)
total_epochs = 35
checkpoint_config = dict(interval=5)
log_config = dict(interval=20, hooks=[dict(type='TextLoggerHook')])
dist_params = dict(backend='nccl')
log_level = 'INFO'
work_dir = './work_dirs/actionformer_thumos14/'
load_from = None
resume_from = None
workflow = [('train', 1)]
