"""Original flag-form dataset configs go through ``build_dataset`` (which translates the flags into a
pipeline once); these helpers keep the tests' positional call style of the original constructors."""
from mmaction.datasets import build_dataset


def flag_dataset(dataset_type, ann_file, img_prefix='', img_norm_cfg=None, **flags):
    cfg = dict(type=dataset_type, ann_file=ann_file, img_prefix=img_prefix, **flags)
    if img_norm_cfg is not None:
        cfg['img_norm_cfg'] = img_norm_cfg
    return build_dataset(cfg)


def raw_frames(ann_file, img_prefix='', img_norm_cfg=None, **flags):
    return flag_dataset('RawFramesDataset', ann_file, img_prefix, img_norm_cfg, **flags)


def videos(ann_file, img_prefix='', img_norm_cfg=None, **flags):
    return flag_dataset('VideoDataset', ann_file, img_prefix, img_norm_cfg, **flags)


def lmdb_frames(ann_file, lmdb_prefix, img_norm_cfg=None, **flags):
    cfg = dict(type='LMDBFramesDataset', ann_file=ann_file, lmdb_prefix=lmdb_prefix, **flags)
    if img_norm_cfg is not None:
        cfg['img_norm_cfg'] = img_norm_cfg
    return build_dataset(cfg)
