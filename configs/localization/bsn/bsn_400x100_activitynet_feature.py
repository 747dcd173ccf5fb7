# BSN end to end (TEM -> PGM -> PEM) for testing on ActivityNet-1.3 features: the checkpoint holds tem.* and pem.*
# (mmaction.models.localizers.bsn.BSN.from_stages). Settings of mmaction2's published configs.
#   python tools/test_localizer.py configs/localization/bsn/bsn_400x100_activitynet_feature.py bsn.pth --eval AR@AN
model = dict(
    type='BSN',
    tem=dict(temporal_dim=100, boundary_ratio=0.1, tem_feat_dim=400, tem_hidden_dim=512, tem_match_threshold=0.5),
    pem=dict(pem_feat_dim=32, pem_hidden_dim=256, pem_u_ratio_m=1, pem_u_ratio_l=2,
             pem_high_temporal_iou_threshold=0.6, pem_low_temporal_iou_threshold=0.2, soft_nms_alpha=0.75,
             soft_nms_low_threshold=0.65, soft_nms_high_threshold=0.9, post_process_top_k=100,
             feature_extraction_interval=16),
    pgm_proposals_cfg=dict(peak_threshold=0.5),
    pgm_features_test_cfg=dict(top_k=1000, num_sample_start=8, num_sample_end=8, num_sample_action=16,
                               num_sample_interp=3, bsp_boundary_ratio=0.2))
train_cfg = None
test_cfg = None
dataset_type = 'ActivityNetDataset'
data_root = 'data/ActivityNet/activitynet_feature_cuhk/csv_mean_100/'
ann_file_val = 'data/ActivityNet/anet_anno_val.json'
data = dict(
    videos_per_gpu=1,
    workers_per_gpu=2,
    test=dict(type=dataset_type, ann_file=ann_file_val, data_prefix=data_root, temporal_scale=100, test_mode=True))
evaluation = dict(metrics=['AR@AN'])
dist_params = dict(backend='nccl')
log_level = 'INFO'
work_dir = './work_dirs/bsn_400x100_20e_1x16_activitynet_feature/'
