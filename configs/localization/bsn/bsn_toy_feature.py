# BSN end to end (TEM -> PGM -> PEM in one model) on the toy untrimmed dataset, for testing with the combined
# checkpoint (tools/bsn_combine_checkpoints.py); the settings equal bsn_{tem,pgm,pem}_toy_feature.py, so it gives
# the same proposals as testing PEM on the PGM folders.
#   python tools/test_localizer.py configs/localization/bsn/bsn_toy_feature.py work_dirs/bsn_toy/bsn.pth --eval AR@AN
model = dict(
    type='BSN',
    tem=dict(temporal_dim=32, boundary_ratio=0.1, tem_feat_dim=24, tem_hidden_dim=64, tem_match_threshold=0.5),
    pem=dict(pem_feat_dim=32, pem_hidden_dim=64, pem_u_ratio_m=1, pem_u_ratio_l=2,
             pem_high_temporal_iou_threshold=0.6, pem_low_temporal_iou_threshold=0.2, soft_nms_alpha=0.75,
             soft_nms_low_threshold=0.65, soft_nms_high_threshold=0.9, post_process_top_k=100,
             feature_extraction_interval=1),
    pgm_proposals_cfg=dict(peak_threshold=0.5),
    pgm_features_test_cfg=dict(top_k=300, num_sample_start=8, num_sample_end=8, num_sample_action=16,
                               num_sample_interp=3, bsp_boundary_ratio=0.2))
train_cfg = None
test_cfg = None
dataset_type = 'ActivityNetDataset'
data_root = 'data/toy_untrimmed/'
data = dict(
    videos_per_gpu=1,
    workers_per_gpu=0,
    test=dict(type=dataset_type, ann_file=data_root + 'annotations/anet_val.json',
              data_prefix=data_root + 'features', temporal_scale=32, test_mode=True))
evaluation = dict(metrics=['AR@AN'])
dist_params = dict(backend='gloo')
log_level = 'INFO'
work_dir = './work_dirs/bsn_toy/'
