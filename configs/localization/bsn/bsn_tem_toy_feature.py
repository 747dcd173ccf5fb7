# BSN stage 1 (TEM) on the toy untrimmed dataset (data_tools/toy/build_toy_untrimmed.py: 24-d hue-histogram
# features, one step per 4 frames at 8 fps), rescaled to 32 steps. The whole toy BSN workflow (all stages through
# the tools, from the repository root):
#   python data_tools/toy/build_toy_untrimmed.py --out data/toy_untrimmed
#   python tools/train_localizer.py configs/localization/bsn/bsn_tem_toy_feature.py --seed 0
#   python tools/bsn_tem_inference.py configs/localization/bsn/bsn_tem_toy_feature.py work_dirs/bsn_toy/tem/latest.pth \
#       --data train test
#   python tools/bsn_pgm.py configs/localization/bsn/bsn_pgm_toy_feature.py --mode train
#   python tools/bsn_pgm.py configs/localization/bsn/bsn_pgm_toy_feature.py --mode test
#   python tools/train_localizer.py configs/localization/bsn/bsn_pem_toy_feature.py --seed 0
#   python tools/test_localizer.py configs/localization/bsn/bsn_pem_toy_feature.py work_dirs/bsn_toy/pem/latest.pth \
#       --eval AR@AN --out work_dirs/bsn_toy/results.json
# or end to end (TEM -> PGM -> PEM in one model):
#   python tools/bsn_combine_checkpoints.py work_dirs/bsn_toy/tem/latest.pth work_dirs/bsn_toy/pem/latest.pth \
#       work_dirs/bsn_toy/bsn.pth
#   python tools/test_localizer.py configs/localization/bsn/bsn_toy_feature.py work_dirs/bsn_toy/bsn.pth --eval AR@AN
model = dict(type='TEM', temporal_dim=32, boundary_ratio=0.1, tem_feat_dim=24, tem_hidden_dim=64,
             tem_match_threshold=0.5)
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
    # TEM results are needed for the train videos (PEM training) and the val videos (testing): --data train test
    test=dict(type=dataset_type, ann_file=data_root + 'annotations/anet_val.json',
              data_prefix=data_root + 'features', temporal_scale=32, test_mode=True))
optimizer = dict(type='Adam', lr=0.003, weight_decay=0.0001)
optimizer_config = dict(grad_clip=None)
lr_config = dict(policy='step', step=[40])
total_epochs = 30
checkpoint_config = dict(interval=30)
log_config = dict(interval=4, hooks=[dict(type='TextLoggerHook')])
dist_params = dict(backend='gloo')
log_level = 'INFO'
work_dir = './work_dirs/bsn_toy/tem/'
load_from = None
resume_from = None
workflow = [('train', 1)]
tem_results_dir = './work_dirs/bsn_toy/tem_results/'
