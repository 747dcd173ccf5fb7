# UniFormer (v1, as mmaction2's uniformer configs build it) on the built-in toy dataset
# (data_tools/toy/build_toy_dataset.py), trained from scratch: (1, 1, 2, 1) blocks 32-64-128-256 wide with 32-dim
# heads; stages 1-2 are convolutional relation aggregators, stages 3-4 global self-attention; 8x56x56 -> 4x14x14
# after the first patch embedding.
_base_ = ['../../_base_/toy_transformer_rgb_8x3.py']
model = dict(
    backbone=dict(
        type='UniFormer',
        depth=[1, 1, 2, 1],
        img_size=56,
        embed_dim=[32, 64, 128, 256],
        head_dim=32,
        drop_path_rate=0.1),
    cls_head=dict(
        type='I3DHead',
        dropout_ratio=0.,
        num_classes=8,
        in_channels=256,
        label_smooth_eps=0.1,
        average_clips='prob'))
# 10 epochs were borderline: 90.9 % (seed 0) and 95.5 % (seed 1) val
total_epochs = 20
work_dir = './work_dirs/uniformer_toy'
