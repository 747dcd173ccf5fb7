# BSN stage 3 (PEM) on the PGM features of ActivityNet-1.3: mmaction2's published settings.
#   python tools/train_localizer.py configs/localization/bsn/bsn_pem_400x100_1x16_20e_activitynet_feature.py
#   python tools/test_localizer.py configs/localization/bsn/bsn_pem_400x100_1x16_20e_activitynet_feature.py \
#       PEM.pth --eval AR@AN --out results.json
model = dict(
    type='PEM',
    pem_feat_dim=32,
    pem_hidden_dim=256,
    pem_u_ratio_m=1,
    pem_u_ratio_l=2,
    pem_high_temporal_iou_threshold=0.6,
    pem_low_temporal_iou_threshold=0.2,
    soft_nms_alpha=0.75,
    soft_nms_low_threshold=0.65,
    soft_nms_high_threshold=0.9,
    post_process_top_k=100,
    feature_extraction_interval=16)
train_cfg = None
test_cfg = dict(average_clips='score')
dataset_type = 'BSNProposalDataset'
ann_file_train = 'data/ActivityNet/anet_anno_train.json'
ann_file_val = 'data/ActivityNet/anet_anno_val.json'
work_dir = './work_dirs/bsn_400x100_20e_1x16_activitynet_feature/'
pgm_proposals_dir = f'{work_dir}/pgm_proposals/'
pgm_features_dir = f'{work_dir}/pgm_features/'
# PGM outputs (tools/bsn_pgm.py): 500 proposals per video for training, 1000 for testing, as mmaction2
data = dict(
    videos_per_gpu=16,
    workers_per_gpu=8,
    train=dict(type=dataset_type, ann_file=ann_file_train, top_k=500, pgm_proposals_dir=pgm_proposals_dir,
               pgm_features_dir=pgm_features_dir),
    val=dict(type=dataset_type, ann_file=ann_file_val, top_k=1000, pgm_proposals_dir=pgm_proposals_dir,
             pgm_features_dir=pgm_features_dir, test_mode=True),
    test=dict(type=dataset_type, ann_file=ann_file_val, top_k=1000, pgm_proposals_dir=pgm_proposals_dir,
              pgm_features_dir=pgm_features_dir, test_mode=True))
evaluation = dict(metrics=['AR@AN'])
# 1 GPU x 16 videos; Adam lr 1e-2, step at epoch 10, 20 epochs
optimizer = dict(type='Adam', lr=0.01, weight_decay=0.00001)
optimizer_config = dict(grad_clip=None)
lr_config = dict(policy='step', step=[10])
total_epochs = 20
checkpoint_config = dict(interval=1)
log_config = dict(interval=50, hooks=[dict(type='TextLoggerHook')])
dist_params = dict(backend='nccl')
log_level = 'INFO'
load_from = None
resume_from = None
workflow = [('train', 1)]
