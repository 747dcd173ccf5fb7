# Video Swin Transformer (SwinTransformer3D, as mmaction2's swin configs build it) on the built-in toy dataset
# (data_tools/toy/build_toy_dataset.py), trained from scratch: the tiny layout thinned to 32 channels and
# (1, 1, 2, 1) blocks (32-64-128-256 wide, one head per 32 channels), 2x4x4 patches (8x56x56 -> 4x14x14 tokens),
# the released (8, 7, 7) window, which shrinks to the token grid where the grid is smaller (as in mmaction2).
_base_ = ['../../_base_/toy_transformer_rgb_8x3.py']
model = dict(
    backbone=dict(
        type='SwinTransformer3D',
        arch=dict(embed_dims=32, depths=[1, 1, 2, 1], num_heads=[1, 2, 4, 8]),
        pretrained=None,
        pretrained2d=False,
        patch_size=(2, 4, 4),
        window_size=(8, 7, 7),
        mlp_ratio=4.,
        qkv_bias=True,
        qk_scale=None,
        drop_rate=0.,
        attn_drop_rate=0.,
        drop_path_rate=0.1,
        patch_norm=True),
    cls_head=dict(
        type='I3DHead',
        in_channels=256,
        num_classes=8,
        spatial_type='avg',
        dropout_ratio=0.5,
        label_smooth_eps=0.1,
        average_clips='prob'))
# Swin's recipe: no weight decay on the relative position bias tables (and norms)
optimizer = dict(weight_decay=0.02, paramwise_cfg=dict(custom_keys={
    'relative_position_bias_table': dict(decay_mult=0.0)}))
# the window attention learns slower than the global ones: 10 epochs reached 86.4 % val
total_epochs = 20
work_dir = './work_dirs/swin_toy'
