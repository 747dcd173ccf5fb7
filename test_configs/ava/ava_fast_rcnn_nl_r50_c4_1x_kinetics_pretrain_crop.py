# Test config of the original AVA Fast R-CNN: identical to the training config (its data.test section is used).
_base_ = ['../../configs/ava/ava_fast_rcnn_nl_r50_c4_1x_kinetics_pretrain_crop.py']
