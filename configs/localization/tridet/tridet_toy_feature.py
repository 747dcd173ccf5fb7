# TriDet on the toy untrimmed dataset (data_tools/toy/build_toy_untrimmed.py: 24-d hue-histogram features,
# one step per 4 frames at 8 fps, 40-64 steps per video, 4 classes). Trains on one CPU core in about a minute.
#   python data_tools/toy/build_toy_untrimmed.py --out data/toy_untrimmed
#   python tools/train_localizer.py configs/localization/tridet/tridet_toy_feature.py --seed 0
#   python tools/test_localizer.py configs/localization/tridet/tridet_toy_feature.py \
#       work_dirs/tridet_toy/latest.pth --eval thumos14 --out work_dirs/tridet_toy/results.json
_base_ = ['../../_base_/tad_toy_untrimmed_feature.py']
model = dict(
    type='TriDet',
    sgp_kernel_size=1,
    sgp_k=5,
    sgp_mlp_dim=128,
    num_bins=8,  # a boundary at most 8 points from its point: the coarsest level (stride 8) spans the 64 steps
    iou_weight_power=0.2)
work_dir = './work_dirs/tridet_toy/'
