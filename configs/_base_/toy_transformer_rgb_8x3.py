# Shared by the video-transformer toy configs (configs/*/toy/*_toy.py): the 3D toy data of toy_3d_rgb_8x3.py (one
# 8-frame clip, step 3, of 56x56 multi-scale crops for training) with an mmaction2 1.x model dict (Recognizer3D +
# ActionDataPreprocessor, built from mmaction.registry.MODELS) and the transformer recipe: AdamW without weight decay
# on norms and biases, linear warm-up then cosine, label smoothing 0.1 (set on each head). The transformers' position
# embeddings and window/pooling grids are sized for the training crop, so the test takes the validation view, one
# centre 56x56 crop of the 64x64 frames (ThreeCrop needs the crop to span the short side, and the toy frames are
# square), where the CNN toys take three 64x64 crops. A family config sets model.backbone and model.cls_head.
_base_ = ['./toy_3d_rgb_8x3.py']
model = dict(
    _delete_=True,
    type='Recognizer3D',
    # the dataset already normalises with img_norm_cfg (the same ImageNet mean/std): the trainer and the test tool
    # switch the preprocessor's normalisation off, so the frames are normalised once
    data_preprocessor=dict(
        type='ActionDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        format_shape='NCTHW'))
data = dict(test=dict(input_size=56, oversample=None))
optimizer = dict(
    _delete_=True,
    type='AdamW',
    lr=1e-3,
    betas=(0.9, 0.999),
    weight_decay=0.05,
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
optimizer_config = dict(grad_clip=dict(max_norm=5, norm_type=2))
lr_config = dict(
    _delete_=True,
    policy='cosine',
    by_epoch=False,
    min_lr_ratio=0.01,
    warmup='linear',
    warmup_iters=1,
    warmup_by_epoch=True,
    warmup_ratio=0.01)
total_epochs = 10
