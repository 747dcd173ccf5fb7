# What the one-stage detectors' toy configs share: the toy untrimmed data (data_tools/toy/build_toy_untrimmed.py:
# 24-d hue-histogram features, one step per 4 frames at 8 fps, 40-64 steps per video, 4 classes), the 4-level
# pyramid (strides 1, 2, 4, 8 steps), the schedule and the runtime. The family configs add model.type and their
# blocks' own keys.
classes = ['circle_slide', 'square_spin', 'triangle_bounce', 'cross_pulse']
model = dict(
    feat_dim=24,
    num_classes=4,
    max_seq_len=64,
    embed_dim=64,
    num_embed_convs=2,
    num_stem_layers=1,
    num_branch_layers=3,  # 4 pyramid levels, strides 1, 2, 4, 8 steps
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
load_from = None
resume_from = None
workflow = [('train', 1)]
