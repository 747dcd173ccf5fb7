# What the one-stage detectors' THUMOS14 configs share: the public I3D two-stream features (ActionFormer's release
# layout, data_tools/thumos14/PREPARING_TH14.md: one .npy per video, 2048-d, stride 4 at 30 fps, 16-frame clips),
# the 6-level pyramid over 2304-step windows, gradient clipping and the runtime. The family configs add model.type,
# their blocks' keys, the post-processing and the schedule.
classes = ['BaseballPitch', 'BasketballDunk', 'Billiards', 'CleanAndJerk', 'CliffDiving', 'CricketBowling',
           'CricketShot', 'Diving', 'FrisbeeCatch', 'GolfSwing', 'HammerThrow', 'HighJump', 'JavelinThrow',
           'LongJump', 'PoleVault', 'Shotput', 'SoccerPenalty', 'TennisSwing', 'ThrowDiscus', 'VolleyballSpiking']
model = dict(
    feat_dim=2048,
    num_classes=20,
    max_seq_len=2304,
    embed_dim=512,
    num_embed_convs=2,
    num_stem_layers=2,
    num_branch_layers=5,  # pyramid 2304 - 1152 - 576 - 288 - 144 - 72
    drop_path=0.1,
    head_dim=512,
    head_layers=3,
    regression_ranges=((0, 4), (4, 8), (8, 16), (16, 32), (32, 64), (64, 10000)),
    center_sample_radius=1.5,
    init_loss_norm=100,
    class_names=classes)
train_cfg = None
test_cfg = None
dataset_type = 'TADFeatureDataset'
data_root = 'data/thumos14/'
common = dict(ann_file=data_root + 'annotations/thumos14.json', data_prefix=data_root + 'i3d_features',
              classes=classes, feat_stride=4, num_frames=16, default_fps=30, max_seq_len=2304)
data = dict(
    videos_per_gpu=2,
    workers_per_gpu=4,
    train=dict(type=dataset_type, subset='validation', trunc_thresh=0.5, crop_ratio=(0.9, 1.0), **common),
    val=dict(type=dataset_type, subset='test', test_mode=True, **common),
    test=dict(type=dataset_type, subset='test', test_mode=True, **common))
evaluation = dict(metrics=['thumos14'])
optimizer_config = dict(grad_clip=dict(max_norm=1.0))
checkpoint_config = dict(interval=5)
log_config = dict(interval=20, hooks=[dict(type='TextLoggerHook')])
dist_params = dict(backend='nccl')
log_level = 'INFO'
load_from = None
resume_from = None
workflow = [('train', 1)]
