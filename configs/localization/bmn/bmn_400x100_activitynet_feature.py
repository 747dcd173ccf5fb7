# BMN on ActivityNet-1.3 cuhk_mean_100 features (400-d x 100 steps): mmaction2's published settings
# (bmn_2xb8-400x100-9e_activitynet-feature: AUC 67.25, AR@100 75.29 on the validation set).
model = dict(
    type='BMN',
    temporal_dim=100,
    boundary_ratio=0.5,
    num_samples=32,
    num_samples_per_bin=3,
    feat_dim=400,
    soft_nms_alpha=0.4,
    soft_nms_low_threshold=0.5,
    soft_nms_high_threshold=0.9,
    post_process_top_k=100,
    feature_extraction_interval=16,
    hidden_dim_1d=256,
    hidden_dim_2d=128,
    hidden_dim_3d=512)
train_cfg = None
test_cfg = dict(average_clips='score')
dataset_type = 'ActivityNetDataset'
data_root = 'data/ActivityNet/activitynet_feature_cuhk/csv_mean_100/'
ann_file_train = 'data/ActivityNet/anet_anno_train.json'
ann_file_val = 'data/ActivityNet/anet_anno_val.json'
data = dict(
    videos_per_gpu=8,
    workers_per_gpu=8,
    train=dict(type=dataset_type, ann_file=ann_file_train, data_prefix=data_root, temporal_scale=100),
    val=dict(type=dataset_type, ann_file=ann_file_val, data_prefix=data_root, temporal_scale=100, test_mode=True),
    test=dict(type=dataset_type, ann_file=ann_file_val, data_prefix=data_root, temporal_scale=100, test_mode=True))
evaluation = dict(metrics=['AR@AN'])
# 2 GPUs x 8 videos; Adam lr 1e-3, step at epoch 7, 9 epochs
optimizer = dict(type='Adam', lr=0.001, weight_decay=0.0001)
optimizer_config = dict(grad_clip=None)
lr_config = dict(policy='step', step=[7])
total_epochs = 9
checkpoint_config = dict(interval=1)
log_config = dict(interval=50, hooks=[dict(type='TextLoggerHook')])
dist_params = dict(backend='nccl')
log_level = 'INFO'
work_dir = './work_dirs/bmn_400x100_2x8_9e_activitynet_feature/'
load_from = None
resume_from = None
workflow = [('train', 1)]
output_config = dict(out=f'{work_dir}/results.json', output_format='json')
