"""``VideoDataset``: videos listed as ``<path> <label>`` (original §5.5; mmaction2's list format too)."""
from __future__ import annotations

import os.path as osp

from mmaction.registry import DATASETS, ConfigError

from .annotations import load_video_list
from .base import BaseRecognitionDataset
from .rawframes_dataset import data_root


@DATASETS.register_module()
class VideoDataset(BaseRecognitionDataset):
    """Videos ``data_prefix/<path>.<video_ext>``; a list path that already ends with ``.<video_ext>`` is not
    extended again, and ``video_ext=''`` takes the paths as they are (mmaction2 lists).

    The pipeline opens the file (``VideoInit``/``DecordInit``/..., from ``results['filename']``). Flag-form
    configs are translated by ``build_dataset``: frames are decoded by a registered decoder
    (``decoder='auto'|'decord'|'opencv'|'pyav'``; ``use_decord=True`` forces decord, ``False`` OpenCV as in
    the original), every backend returns RGB and normalisation follows ``img_norm_cfg.to_rgb``, so a video
    and its extracted rawframes give the same tensor (the original fed decord's RGB frames through a BGR->RGB
    swap, v0 reference §5.5; deliberately fixed). Frame ``p`` of the original's 1-based sampling is video
    frame ``p - 1``.
    """

    def __init__(self, ann_file: str, pipeline: list, data_prefix: str | dict | None = None,
                 video_ext: str = 'mp4', modality: str = 'RGB', start_index: int = 0, multi_class: bool = False,
                 num_classes: int | None = None, skip_bad_samples: bool = False, test_mode: bool = False):
        if isinstance(modality, (list, tuple)):
            if len(modality) != 1:
                raise ConfigError(f"VideoDataset supports a single modality, got {modality!r}")
            modality = modality[0]
        if modality == 'Flow':
            raise ConfigError("VideoDataset: modality 'Flow' is not supported for videos (as in the original); "
                              'use RawFramesDataset with extracted flow frames')
        self.img_prefix = data_root(data_prefix, 'video')
        self.video_ext = video_ext
        self.start_index = start_index
        super().__init__(ann_file, [pipeline], [modality], test_mode, num_classes=num_classes,
                         multi_class=multi_class, skip_bad_samples=skip_bad_samples)

    def load_annotations(self) -> list[dict]:
        return load_video_list(self.ann_file, multi_class=self.multi_class)

    def video_path(self, idx: int) -> str:
        path = self.video_infos[idx]['path']
        ext = f'.{self.video_ext}' if self.video_ext else ''
        if ext and not path.endswith(ext):
            path = path + ext
        return osp.join(self.img_prefix, path)

    def get_ann_info(self, idx: int) -> dict:
        info = self.video_infos[idx]
        return {'path': info['path'], 'label': info['label']}

    def sample_results(self, idx: int, modality_index: int) -> dict:
        info = self.video_infos[idx]
        return dict(filename=self.video_path(idx), label=info['label'], start_index=self.start_index,
                    modality=self.modalities[0], video_key=info['path'])
