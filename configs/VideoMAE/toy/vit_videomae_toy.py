# VideoMAE's ViT (VisionTransformer, as mmaction2's videomae configs build it) on the built-in toy dataset
# (data_tools/toy/build_toy_dataset.py), trained from scratch: 96-wide, 4 blocks of 4 heads, 8x8 patches of the 56x56
# crop with 2-frame tubelets (4x7x7 = 196 tokens from an 8-frame clip), sinusoid position embeddings, mean pooling.
_base_ = ['../../_base_/toy_transformer_rgb_8x3.py']
model = dict(
    backbone=dict(
        type='VisionTransformer',
        img_size=56,
        patch_size=8,
        embed_dims=96,
        depth=4,
        num_heads=4,
        mlp_ratio=4,
        qkv_bias=True,
        num_frames=8,
        tubelet_size=2,
        drop_path_rate=0.1,
        norm_cfg=dict(type='LN', eps=1e-6)),
    cls_head=dict(
        type='TimeSformerHead',
        num_classes=8,
        in_channels=96,
        label_smooth_eps=0.1,
        average_clips='prob'))
work_dir = './work_dirs/vit_videomae_toy'
