# MViTv2 (MViT with relative positions and residual pooling, as mmaction2's mvit configs build it) on the built-in
# toy dataset (data_tools/toy/build_toy_dataset.py), trained from scratch: 4 blocks starting 32 wide with one head,
# a downscale (query stride 1x2x2, width and heads doubled) at blocks 1, 2 and 3 (32-64-128-256), the 3x7x7/2x4x4
# patch embedding (8x56x56 -> 4x14x14 tokens) and key/value stride 1x4x4 (the released 1x8x8 is for 56x56 grids).
_base_ = ['../../_base_/toy_transformer_rgb_8x3.py']
model = dict(
    backbone=dict(
        type='MViT',
        arch=dict(embed_dims=32, num_layers=4, num_heads=1, downscale_indices=[1, 2, 3]),
        spatial_size=56,
        temporal_size=8,
        adaptive_kv_stride=(1, 4, 4),
        drop_path_rate=0.1),
    cls_head=dict(
        type='MViTHead',
        in_channels=256,
        num_classes=8,
        label_smooth_eps=0.1,
        average_clips='prob'))
# MViT's recipe (norm_decay_mult=0, bias_decay_mult=0, gradient clipping at 1)
optimizer_config = dict(grad_clip=dict(max_norm=1, norm_type=2))
work_dir = './work_dirs/mvit_toy'
