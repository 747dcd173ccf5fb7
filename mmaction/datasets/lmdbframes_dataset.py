"""``LMDBFramesDataset``: RawFrames lists whose frames live in per-video LMDBs (original §5.6; ``lmdb`` extra)."""
from __future__ import annotations

import os.path as osp
from typing import Any, Sequence

from mmaction.registry import DATASETS

from .rawframes_dataset import RawFramesDataset


@DATASETS.register_module()
class LMDBFramesDataset(RawFramesDataset):
    """Like :class:`RawFramesDataset` but frame ``i`` of record ``path`` is key ``filename_tmpl.format(i)``
    (the original's ``key_tmpl``) of the LMDB ``lmdb_prefix/lmdb_tmpl.format(path)``; the pipeline decodes with
    ``LMDBFrameDecode``. As in the original there is no ``pre_mean_npy``, ``temporal_jitter``,
    ``img_scale_file``, ``resize_crop`` or ``rescale_crop`` (refused when the flag config is translated)."""

    def __init__(self, ann_file: str, pipeline: list, lmdb_prefix: str, lmdb_tmpl: str = '{}_img_lmdb',
                 filename_tmpl: str | Sequence[str] = 'img_{:05d}', **kwargs: Any):
        self.lmdb_prefix = lmdb_prefix
        self.lmdb_tmpl = lmdb_tmpl
        super().__init__(ann_file, pipeline, filename_tmpl=filename_tmpl, **kwargs)

    def sample_results(self, idx: int, modality_index: int) -> dict:
        results = super().sample_results(idx, modality_index)
        results['lmdb_path'] = osp.join(self.lmdb_prefix, self.lmdb_tmpl.format(self.video_infos[idx]['frame_dir']))
        results['key_tmpl'] = self.image_tmpls[modality_index]
        return results

