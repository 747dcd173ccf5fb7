# TriDet on THUMOS14 with the public I3D two-stream features (paper: 69.3 average mAP at tIoU 0.3:0.1:0.7,
# 72.9 at 0.5). Features and annotations: see data_tools/thumos14/PREPARING_TH14.md (ActionFormer's release layout:
# one (T, 2048) .npy per video, stride 4 frames at 30 fps, 16-frame windows; train on the validation set, test on the
# test set).
#   python tools/train_localizer.py configs/localization/tridet/tridet_i3d_thumos14_feature.py --seed 0
#   python tools/test_localizer.py configs/localization/tridet/tridet_i3d_thumos14_feature.py \
#       work_dirs/tridet_thumos14/latest.pth --eval thumos14 --out work_dirs/tridet_thumos14/results.json
_base_ = ['../../_base_/tad_thumos14_i3d_feature.py']
model = dict(
    type='TriDet',
    sgp_kernel_size=1,
    sgp_k=5,
    sgp_mlp_dim=768,
    sgp_init_std=0.0,
    num_bins=16,
    iou_weight_power=0.2,
    input_noise=0.0005,
    test_cfg=dict(pre_nms_thresh=0.001, pre_nms_topk=2000, nms_method='gaussian', nms_sigma=0.5, iou_threshold=0.1,
                  min_score=0.001, max_seg_num=2000, duration_thresh=0.05, multiclass_nms=True,
                  voting_thresh=0.7))  # voting only runs with class-agnostic NMS
# AdamW 1e-4, 20 linear warmup epochs then cosine: 40 epochs in all (the release's 20 + 20 warmup).
optimizer = dict(type='AdamW', lr=0.0001, weight_decay=0.025)
lr_config = dict(policy='cosine', min_lr=1e-8, by_epoch=False, warmup='linear', warmup_iters=20,
                 warmup_ratio=0.001, warmup_by_epoch=True)
total_epochs = 40
work_dir = './work_dirs/tridet_thumos14/'
