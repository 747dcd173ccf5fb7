# BMN on the toy untrimmed dataset (data_tools/toy/build_toy_untrimmed.py: 24-d hue-histogram features,
# one step per 4 frames at 8 fps). Small enough to train on 1 CPU core in about a minute.
#   python data_tools/toy/build_toy_untrimmed.py --out data/toy_untrimmed
#   python tools/train_localizer.py configs/localization/bmn/bmn_toy_feature.py --seed 0
#   python tools/test_localizer.py configs/localization/bmn/bmn_toy_feature.py work_dirs/bmn_toy/latest.pth \
#       --eval AR@AN --out work_dirs/bmn_toy/results.json
model = dict(
    type='BMN',
    temporal_dim=32,
    boundary_ratio=0.5,
    num_samples=8,
    num_samples_per_bin=3,
    feat_dim=24,
    soft_nms_alpha=0.4,
    soft_nms_low_threshold=0.5,
    soft_nms_high_threshold=0.9,
    post_process_top_k=100,
    feature_extraction_interval=1,  # features cover every frame of the toy videos
    hidden_dim_1d=64,
    hidden_dim_2d=32,
    hidden_dim_3d=64)
train_cfg = None
test_cfg = None
dataset_type = 'ActivityNetDataset'
data_root = 'data/toy_untrimmed/'
data = dict(
    videos_per_gpu=8,
    workers_per_gpu=0,
    train=dict(type=dataset_type, ann_file=data_root + 'annotations/anet_train.json',
               data_prefix=data_root + 'features', temporal_scale=32),
    val=dict(type=dataset_type, ann_file=data_root + 'annotations/anet_val.json',
             data_prefix=data_root + 'features', temporal_scale=32, test_mode=True),
    test=dict(type=dataset_type, ann_file=data_root + 'annotations/anet_val.json',
              data_prefix=data_root + 'features', temporal_scale=32, test_mode=True))
evaluation = dict(metrics=['AR@AN'])
optimizer = dict(type='Adam', lr=0.003, weight_decay=0.0001)
optimizer_config = dict(grad_clip=None)
lr_config = dict(policy='step', step=[25])
total_epochs = 30
checkpoint_config = dict(interval=10)
log_config = dict(interval=5, hooks=[dict(type='TextLoggerHook')])
dist_params = dict(backend='gloo')
log_level = 'INFO'
work_dir = './work_dirs/bmn_toy/'
load_from = None
resume_from = None
workflow = [('train', 1)]
