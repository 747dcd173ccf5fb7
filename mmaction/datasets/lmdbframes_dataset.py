"""``LMDBFramesDataset``: RawFrames lists whose frames live in per-video LMDBs (original §5.6; ``lmdb`` extra)."""
from __future__ import annotations

import os.path as osp
from typing import Any, Sequence

from mmaction.registry import DATASETS, ConfigError

from .rawframes_dataset import RawFramesDataset, _as_list


@DATASETS.register_module()
class LMDBFramesDataset(RawFramesDataset):
    """Like :class:`RawFramesDataset` but frame ``i`` of record ``path`` is key ``key_tmpl.format(i)`` of the
    LMDB ``lmdb_prefix/lmdb_tmpl.format(path)``. As in the original there is no ``pre_mean_npy``,
    ``temporal_jitter``, ``img_scale_file``, ``resize_crop`` or ``rescale_crop``."""

    def __init__(self, ann_file: str, lmdb_prefix: str, img_norm_cfg: dict | None = None,
                 lmdb_tmpl: str = '{}_img_lmdb', key_tmpl: str | Sequence[str] = 'img_{:05d}',
                 modality: str | Sequence[str] = 'RGB', oversample: str | None = None, **kwargs: Any):
        for key in ('pre_mean_npy', 'temporal_jitter', 'img_scale_file', 'resize_crop', 'rescale_crop'):
            if kwargs.get(key):
                raise ConfigError(f"LMDBFramesDataset does not support config key '{key}' (as the original)")
        self.lmdb_prefix = lmdb_prefix
        self.lmdb_tmpl = lmdb_tmpl
        self.key_tmpls = _as_list(key_tmpl)
        if len(self.key_tmpls) != len(_as_list(modality)):
            raise ConfigError(f"LMDBFramesDataset: 'key_tmpl' has {len(self.key_tmpls)} entries but 'modality' has "
                              f'{len(_as_list(modality))}')
        super().__init__(ann_file, '', img_norm_cfg, modality=modality, image_tmpl=self.key_tmpls,
                         oversample=oversample or None, **kwargs)
        for m, pipeline in enumerate(self.pipelines):
            for i, t in enumerate(pipeline.transforms):
                if type(t).__name__ == 'RawFrameDecode':
                    from .pipelines.loading import LMDBFrameDecode
                    pipeline.transforms[i] = LMDBFrameDecode(t.modality, self.key_tmpls[m], t.channel_order,
                                                             t.decoding_backend)

    def sample_results(self, idx: int, modality_index: int) -> dict:
        results = super().sample_results(idx, modality_index)
        results['lmdb_path'] = osp.join(self.lmdb_prefix, self.lmdb_tmpl.format(self.video_infos[idx]['frame_dir']))
        results['key_tmpl'] = self.key_tmpls[modality_index]
        return results
