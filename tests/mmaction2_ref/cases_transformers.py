"""mmaction2 1.2.0 video transformers at thin widths (same classes and key layouts as the released models)."""


def _backbone(model, x):
    return model(x)


CASES = [
    dict(name='vit_mae_sinusoid_meanpool', inputs=[(2, 3, 4, 32, 32)], run=_backbone,
         cfg=dict(type='VisionTransformer', img_size=32, patch_size=16, embed_dims=48, depth=2, num_heads=4,
                  mlp_ratio=4, qkv_bias=True, num_frames=4, norm_cfg=dict(type='LN', eps=1e-6))),
    dict(name='vit_mae_learned_cls_layerscale', inputs=[(1, 3, 4, 32, 32)], run=_backbone,
         cfg=dict(type='VisionTransformer', img_size=32, patch_size=16, embed_dims=48, depth=2, num_heads=4,
                  use_learnable_pos_emb=True, use_mean_pooling=False, init_values=0.1, qkv_bias=False,
                  num_frames=4)),
    dict(name='vit_mae_resized_input_feat_map', inputs=[(1, 3, 4, 48, 48)], run=_backbone,
         cfg=dict(type='VisionTransformer', img_size=32, patch_size=16, embed_dims=48, depth=1, num_heads=4,
                  num_frames=4, return_feat_map=True)),
    dict(name='timesformer_divided', inputs=[(2, 3, 4, 32, 32)], run=_backbone,
         cfg=dict(type='TimeSformer', num_frames=4, img_size=32, patch_size=16, embed_dims=48, num_heads=4,
                  num_transformer_layers=2, attention_type='divided_space_time', dropout_ratio=0.0)),
    dict(name='timesformer_joint', inputs=[(2, 3, 4, 32, 32)], run=_backbone,
         cfg=dict(type='TimeSformer', num_frames=4, img_size=32, patch_size=16, embed_dims=48, num_heads=4,
                  num_transformer_layers=2, attention_type='joint_space_time')),
    dict(name='timesformer_space_only', inputs=[(2, 3, 4, 32, 32)], run=_backbone,
         cfg=dict(type='TimeSformer', num_frames=4, img_size=32, patch_size=16, embed_dims=48, num_heads=4,
                  num_transformer_layers=2, attention_type='space_only')),
]

CASES += [
    # float64: with these synthetic weights float32 rounding alone moves the second stage's output by 8e-5
    # relative (our float32 vs our float64), too close to the 1e-4 bound to compare two float32 implementations
    dict(name='swin3d_custom_shifted', inputs=[(1, 3, 8, 64, 64)], run=_backbone, dtype='float64',
         cfg=dict(type='SwinTransformer3D', arch=dict(embed_dims=16, depths=[2, 2], num_heads=[2, 4]),
                  patch_size=(2, 4, 4), window_size=(2, 4, 4), drop_path_rate=0.1, out_indices=(0, 1))),
    dict(name='swin3d_padded_windows_after_downsample', inputs=[(1, 3, 6, 56, 56)], run=_backbone,
         cfg=dict(type='SwinTransformer3D', arch=dict(embed_dims=16, depths=[2, 1, 2], num_heads=[2, 2, 4]),
                  window_size=(4, 3, 3), out_after_downsample=True, out_indices=(2,), patch_norm=False)),
]
CASES += [
    dict(name='swin3d_tiny', slow=True, inputs=[(1, 3, 4, 64, 64)], run=_backbone,
         cfg=dict(type='SwinTransformer3D', arch='tiny', pretrained=None, pretrained2d=False, patch_size=(2, 4, 4),
                  window_size=(8, 7, 7), mlp_ratio=4., qkv_bias=True, qk_scale=None, drop_rate=0.,
                  attn_drop_rate=0., drop_path_rate=0.1, patch_norm=True)),
]
CASES += [
    dict(name='mvit_custom_two_scales', inputs=[(1, 3, 4, 32, 32)], run=_backbone,
         cfg=dict(type='MViT', arch=dict(embed_dims=16, num_layers=3, num_heads=1, downscale_indices=[1]),
                  spatial_size=32, temporal_size=4, out_scales=[0, 1], drop_path_rate=0.1,
                  adaptive_kv_stride=(1, 4, 4))),
    dict(name='mvit_abs_pos_no_cls_resized', inputs=[(1, 3, 4, 48, 48)], run=_backbone,
         cfg=dict(type='MViT', arch=dict(embed_dims=16, num_layers=2, num_heads=2, downscale_indices=[1]),
                  spatial_size=32, temporal_size=4, use_abs_pos_embed=True, rel_pos_embed=False,
                  with_cls_token=False, output_cls_token=False, residual_pooling=False,
                  dim_mul_in_attention=False, adaptive_kv_stride=(1, 2, 2))),
    # 16 layers: two float32 implementations differ by 1.5e-4 (each is within 1e-4 of float64), so float64 here
    dict(name='mvit_small', slow=True, inputs=[(1, 3, 4, 64, 64)], run=_backbone, dtype='float64',
         cfg=dict(type='MViT', arch='small', drop_path_rate=0.2, spatial_size=64, temporal_size=4)),
]
CASES += [
    dict(name='uniformer_thin', inputs=[(1, 3, 4, 64, 64)], run=_backbone,
         cfg=dict(type='UniFormer', depth=[1, 1, 2, 1], embed_dim=[16, 32, 64, 64], head_dim=16,
                  drop_path_rate=0.1, pretrained2d=False)),
    dict(name='uniformer_small', slow=True, inputs=[(1, 3, 4, 64, 64)], run=_backbone, dtype='float64',
         cfg=dict(type='UniFormer', depth=[3, 4, 8, 3], embed_dim=[64, 128, 320, 512], head_dim=64,
                  drop_path_rate=0.1)),
]
CASES += [
    dict(name='uniformerv2_double_lmhra', inputs=[(2, 3, 4, 32, 32)], run=_backbone,
         cfg=dict(type='UniFormerV2', input_resolution=32, patch_size=16, width=32, layers=3, heads=4, t_size=4,
                  dw_reduction=1.5, backbone_drop_path_rate=0., temporal_downsample=False, no_lmhra=False,
                  double_lmhra=True, return_list=[1, 2], n_layers=2, n_dim=32, n_head=4, mlp_factor=4.,
                  drop_path_rate=0., mlp_dropout=[0.5, 0.5], clip_pretrained=False)),
    dict(name='uniformerv2_temporal_downsample_no_lmhra', inputs=[(1, 3, 8, 32, 32)], run=_backbone,
         cfg=dict(type='UniFormerV2', input_resolution=32, patch_size=16, width=32, layers=2, heads=2, t_size=8,
                  temporal_downsample=True, no_lmhra=True, return_list=[1], n_layers=1, n_dim=32, n_head=2,
                  mlp_dropout=[0.5], clip_pretrained=False)),
]

# Backbone dicts of mmaction2 1.2.0's released configs, unchanged (pretrained paths left out: nothing is loaded at
# build time either way): keys, shapes and parameter counts only (real-size forward passes are too slow for tests).
_RELEASED = {
    'timesformer_divST_released': dict(type='TimeSformer', num_frames=8, img_size=224, patch_size=16, embed_dims=768,
                                       in_channels=3, dropout_ratio=0., transformer_layers=None,
                                       attention_type='divided_space_time', norm_cfg=dict(type='LN', eps=1e-6)),
    'timesformer_jointST_released': dict(type='TimeSformer', num_frames=8, img_size=224, patch_size=16,
                                         embed_dims=768, in_channels=3, dropout_ratio=0., transformer_layers=None,
                                         attention_type='joint_space_time', norm_cfg=dict(type='LN', eps=1e-6)),
    'videomae_vit_base_released': dict(type='VisionTransformer', img_size=224, patch_size=16, embed_dims=768,
                                       depth=12, num_heads=12, mlp_ratio=4, qkv_bias=True, num_frames=16,
                                       norm_cfg=dict(type='LN', eps=1e-6)),
    'uniformerv2_base_released': dict(type='UniFormerV2', input_resolution=224, patch_size=16, width=768, layers=12,
                                      heads=12, t_size=8, dw_reduction=1.5, backbone_drop_path_rate=0.,
                                      temporal_downsample=False, no_lmhra=True, double_lmhra=True,
                                      return_list=[8, 9, 10, 11], n_layers=4, n_dim=768, n_head=12, mlp_factor=4.,
                                      drop_path_rate=0., mlp_dropout=[0.5, 0.5, 0.5, 0.5], clip_pretrained=False),
    'mvit_base_released': dict(type='MViT', arch='base', drop_path_rate=0.3, temporal_size=32),
    'swin_base_released': dict(type='SwinTransformer3D', arch='base', pretrained2d=False, patch_size=(2, 4, 4),
                               window_size=(8, 7, 7), mlp_ratio=4., qkv_bias=True, qk_scale=None, drop_rate=0.,
                               attn_drop_rate=0., drop_path_rate=0.3, patch_norm=True),
    'uniformer_base_released': dict(type='UniFormer', depth=[5, 8, 20, 7], embed_dim=[64, 128, 320, 512],
                                    head_dim=64, drop_path_rate=0.3),
}
CASES += [dict(name=name, slow=True, inputs=[], run=None, cfg=cfg) for name, cfg in _RELEASED.items()]
