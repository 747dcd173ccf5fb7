# TriDet on the toy untrimmed dataset (data_tools/toy/build_toy_untrimmed.py: 24-d hue-histogram features,
# one step per 4 frames at 8 fps, 40-64 steps per video, 4 classes). Trains on one CPU core in about a minute.
#   python data_tools/toy/build_toy_untrimmed.py --out data/toy_untrimmed
#   python tools/train_localizer.py configs/localization/tridet/tridet_toy_feature.py --seed 0
#   python tools/test_localizer.py configs/localization/tridet/tridet_toy_feature.py \
#       work_dirs/tridet_toy/latest.pth --eval thumos14 --out work_dirs/tridet_toy/results.json
classes = ['circle_slide', 'square_spin', 'triangle_bounce', 'cross_pulse']
model = dict(
    type='TriDet',
    feat_dim=24,
    num_classes=4,
    max_seq_len=64,
    embed_dim=64,
    num_embed_convs=2,
    num_stem_layers=1,
    num_branch_layers=3,  # 4 pyramid levels, strides 1, 2, 4, 8 steps
    sgp_kernel_size=1,
    sgp_k=5,
    sgp_mlp_dim=128,
    num_bins=8,  # a boundary at most 8 points from its point: the coarsest level (stride 8) spans the 64 steps
    iou_weight_power=0.2,
    drop_path=0.1,
    head_dim=64,
    head_layers=3,
    regression_ranges=((0, 4), (4, 8), (8, 16), (16, 10000)),
    class_names=classes,
    test_cfg=dict(max_seg_num=100))
train_cfg = None
test_cfg = None
dataset_type = 'TADFeatureDataset'
data_root = 'data/toy_untrimmed/'
common = dict(data_prefix=data_root + 'features', classes=classes, feat_stride=4, num_frames=4, max_seq_len=64)
data = dict(
    videos_per_gpu=4,
    workers_per_gpu=0,
    train=dict(type=dataset_type, ann_file=data_root + 'annotations/anet_train.json', **common),
    val=dict(type=dataset_type, ann_file=data_root + 'annotations/anet_val.json', test_mode=True, **common),
    test=dict(type=dataset_type, ann_file=data_root + 'annotations/anet_val.json', test_mode=True, **common))
evaluation = dict(metrics=['thumos14'])
optimizer = dict(type='AdamW', lr=0.002, weight_decay=0.05)
optimizer_config = dict(grad_clip=dict(max_norm=1.0))
lr_config = dict(policy='cosine', min_lr=1e-5, warmup='linear', warmup_iters=2, warmup_ratio=0.1,
                 warmup_by_epoch=True)
total_epochs = 30
checkpoint_config = dict(interval=10)
log_config = dict(interval=5, hooks=[dict(type='TextLoggerHook')])
dist_params = dict(backend='gloo')
log_level = 'INFO'
work_dir = './work_dirs/tridet_toy/'
load_from = None
resume_from = None
workflow = [('train', 1)]
