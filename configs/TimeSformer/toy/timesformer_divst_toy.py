# TimeSformer (divided space-time attention, as mmaction2's timesformer_divST config builds it) on the built-in toy
# dataset (data_tools/toy/build_toy_dataset.py), trained from scratch: 96-wide, 4 layers of 4 heads, 8x8 patches of
# the 56x56 crop (7x7 = 49 patches per frame, 8 frames) plus the class token.
_base_ = ['../../_base_/toy_transformer_rgb_8x3.py']
model = dict(
    backbone=dict(
        type='TimeSformer',
        pretrained=None,
        num_frames=8,
        img_size=56,
        patch_size=8,
        embed_dims=96,
        num_heads=4,
        num_transformer_layers=4,
        in_channels=3,
        dropout_ratio=0.,
        transformer_layers=None,
        attention_type='divided_space_time',
        norm_cfg=dict(type='LN', eps=1e-6)),
    cls_head=dict(
        type='TimeSformerHead',
        num_classes=8,
        in_channels=96,
        label_smooth_eps=0.1,
        average_clips='prob'))
# TimeSformer's recipe keeps weight decay off the class token and the position/time embeddings. Its keys
# ('.backbone.cls_token', ...) match only inside a DDP wrapper ('module.backbone.cls_token'), as in mmengine; without
# the leading dot they match in one process too.
optimizer = dict(paramwise_cfg=dict(custom_keys={
    'backbone.cls_token': dict(decay_mult=0.0),
    'backbone.pos_embed': dict(decay_mult=0.0),
    'backbone.time_embed': dict(decay_mult=0.0)}))
work_dir = './work_dirs/timesformer_divst_toy'
