# ir-CSN on the built-in toy dataset (data_tools/toy/build_toy_dataset.py): a VMZ bottleneck ResNet-26 (two
# bottlenecks per stage, VMZ's shallow widths) whose 3x3x3 convs are depthwise ('3d-sep', the interaction-reduced
# channel-separated network of the released ir-CSN-152), at a quarter of the width
# (channel_multiplier=0.25, stem included), trained from scratch on one 8-frame clip (step 3) of 56x56 crops,
# NCTHW. The clip is short, so the stages keep its length (temporal_strides all 1) where the Kinetics ir-CSN halves
# it in stages 2-4; BN trains (the released configs freeze it because they fine-tune converted weights).
_base_ = ['../../_base_/toy_3d_rgb_8x3.py']
model = dict(
    backbone=dict(
        type='ResNet_R3D',
        pretrained=None,
        depth=26,
        block_type='3d-sep',
        channel_multiplier=0.25,
        temporal_strides=(1, 1, 1, 1),
        use_pool1=True,
        bn_eval=False,
        bn_frozen=False),
    # (N, 128, 8, 2, 2) from an 8x56x56 training clip, (N, 128, 8, 2, 2) too from the 64x64 test crops:
    cls_head=dict(in_channels=128))
work_dir = './work_dirs/ircsn_r26_toy_8x3'
