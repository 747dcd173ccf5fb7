# BSN stage 1 (TEM) on ActivityNet-1.3 cuhk_mean_100 features (400-d x 100 steps): mmaction2's published settings
# (bsn_400x100_1x16_20e_activitynet_feature: AR@100 74.65, AUC 66.45 on the validation set with its PEM).
# Train:  python tools/train_localizer.py configs/localization/bsn/bsn_tem_400x100_1x16_20e_activitynet_feature.py
model = dict(
    type='TEM',
    temporal_dim=100,
    boundary_ratio=0.1,
    tem_feat_dim=400,
    tem_hidden_dim=512,
    tem_match_threshold=0.5)
train_cfg = None
test_cfg = dict(average_clips='score')
dataset_type = 'ActivityNetDataset'
data_root = 'data/ActivityNet/activitynet_feature_cuhk/csv_mean_100/'
ann_file_train = 'data/ActivityNet/anet_anno_train.json'
ann_file_val = 'data/ActivityNet/anet_anno_val.json'
ann_file_test = 'data/ActivityNet/anet_anno_full.json'  # TEM results are needed for every video (PGM input)
data = dict(
    videos_per_gpu=16,
    workers_per_gpu=8,
    train=dict(type=dataset_type, ann_file=ann_file_train, data_prefix=data_root, temporal_scale=100),
    val=dict(type=dataset_type, ann_file=ann_file_val, data_prefix=data_root, temporal_scale=100, test_mode=True),
    test=dict(type=dataset_type, ann_file=ann_file_test, data_prefix=data_root, temporal_scale=100, test_mode=True))
# 1 GPU x 16 videos; Adam lr 1e-3, step at epoch 7, 20 epochs
optimizer = dict(type='Adam', lr=0.001, weight_decay=0.0001)
optimizer_config = dict(grad_clip=None)
lr_config = dict(policy='step', step=[7])
total_epochs = 20
checkpoint_config = dict(interval=1)
log_config = dict(interval=50, hooks=[dict(type='TextLoggerHook')])
dist_params = dict(backend='nccl')
log_level = 'INFO'
work_dir = './work_dirs/bsn_400x100_20e_1x16_activitynet_feature/'
load_from = None
resume_from = None
workflow = [('train', 1)]
tem_results_dir = f'{work_dir}/tem_results/'
