# ActionFormer on the toy untrimmed dataset (data_tools/toy/build_toy_untrimmed.py: 24-d hue-histogram features,
# one step per 4 frames at 8 fps, 40-64 steps per video, 4 classes). Trains on one CPU core in about a minute.
#   python data_tools/toy/build_toy_untrimmed.py --out data/toy_untrimmed
#   python tools/train_localizer.py configs/localization/actionformer/actionformer_toy_feature.py --seed 0
#   python tools/test_localizer.py configs/localization/actionformer/actionformer_toy_feature.py \
#       work_dirs/actionformer_toy/latest.pth --eval thumos14 --out work_dirs/actionformer_toy/results.json
_base_ = ['../../_base_/tad_toy_untrimmed_feature.py']
model = dict(type='ActionFormer', num_heads=4, window_size=9)
work_dir = './work_dirs/actionformer_toy/'
