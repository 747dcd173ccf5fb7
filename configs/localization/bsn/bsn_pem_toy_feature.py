# BSN stage 3 (PEM) on the toy PGM outputs; see bsn_tem_toy_feature.py for the whole workflow.
#   python tools/train_localizer.py configs/localization/bsn/bsn_pem_toy_feature.py --seed 0
#   python tools/test_localizer.py configs/localization/bsn/bsn_pem_toy_feature.py work_dirs/bsn_toy/pem/latest.pth \
#       --eval AR@AN
model = dict(type='PEM', pem_feat_dim=32, pem_hidden_dim=64, pem_u_ratio_m=1, pem_u_ratio_l=2,
             pem_high_temporal_iou_threshold=0.6, pem_low_temporal_iou_threshold=0.2, soft_nms_alpha=0.75,
             soft_nms_low_threshold=0.65, soft_nms_high_threshold=0.9, post_process_top_k=100,
             feature_extraction_interval=1)  # features cover every frame of the toy videos
train_cfg = None
test_cfg = None
dataset_type = 'BSNProposalDataset'
data_root = 'data/toy_untrimmed/'
pgm_proposals_dir = './work_dirs/bsn_toy/pgm_proposals/'
pgm_features_dir = './work_dirs/bsn_toy/pgm_features/'
data = dict(
    videos_per_gpu=8,
    workers_per_gpu=0,
    train=dict(type=dataset_type, ann_file=data_root + 'annotations/anet_train.json', top_k=300,
               pgm_proposals_dir=pgm_proposals_dir, pgm_features_dir=pgm_features_dir),
    val=dict(type=dataset_type, ann_file=data_root + 'annotations/anet_val.json', top_k=300,
             pgm_proposals_dir=pgm_proposals_dir, pgm_features_dir=pgm_features_dir, test_mode=True),
    test=dict(type=dataset_type, ann_file=data_root + 'annotations/anet_val.json', top_k=300,
              pgm_proposals_dir=pgm_proposals_dir, pgm_features_dir=pgm_features_dir, test_mode=True))
evaluation = dict(metrics=['AR@AN'])
optimizer = dict(type='Adam', lr=0.01, weight_decay=0.0001)
optimizer_config = dict(grad_clip=None)
lr_config = dict(policy='step', step=[40])
total_epochs = 30
checkpoint_config = dict(interval=30)
log_config = dict(interval=4, hooks=[dict(type='TextLoggerHook')])
dist_params = dict(backend='gloo')
log_level = 'INFO'
work_dir = './work_dirs/bsn_toy/pem/'
load_from = None
resume_from = None
workflow = [('train', 1)]
