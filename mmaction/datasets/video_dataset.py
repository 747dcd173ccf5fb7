"""``VideoDataset``: videos listed as ``<path_without_ext> <label>`` with ``video_ext`` (original §5.5)."""
from __future__ import annotations

import os.path as osp
from typing import Any, Sequence

from mmaction.registry import DATASETS, ConfigError

from .annotations import load_scale_file, load_video_list
from .base import BaseRecognitionDataset
from .flag_pipeline import flags_to_pipeline, video_backend


@DATASETS.register_module()
class VideoDataset(BaseRecognitionDataset):
    """Original constructor keys (RawFrames' minus ``pre_mean_npy``, plus ``use_decord``, ``video_ext``).

    Frames are decoded by a registered decoder (``decoder='auto'|'decord'|'opencv'|'pyav'``; default
    ``'auto'``: GOP-aware PyAV when installed, else decord; ``use_decord=True`` forces decord and
    ``use_decord=False`` selects OpenCV as in the original). Every backend returns RGB and the flag form
    normalises to the order ``img_norm_cfg.to_rgb`` asks for, so a video and its extracted rawframes give
    the same tensor — the original fed decord's RGB frames through a BGR->RGB swap (v0 reference §5.5);
    this is deliberately fixed. Frame ``p`` of the original's 1-based sampling is video frame ``p - 1``.
    A list path that already ends with ``.<video_ext>`` (mmaction2 lists) is not extended again.
    """

    def __init__(self, ann_file: str, img_prefix: str = '', img_norm_cfg: dict | None = None,
                 num_segments: int = 3, new_length: int = 1, new_step: int = 1, random_shift: bool = True,
                 temporal_jitter: bool = False, modality: str = 'RGB', image_tmpl: str = 'img_{}.jpg',
                 img_scale: Any = 256, img_scale_file: str | None = None, input_size: Any = 224,
                 div_255: bool = False, size_divisor: Any = None, proposal_file: Any = None,
                 num_max_proposals: int = 1000, flip_ratio: float = 0.5, resize_keep_ratio: bool = True,
                 resize_ratio: Sequence[float] = (1, 0.875, 0.75, 0.66), test_mode: bool = False,
                 oversample: str | None = None, random_crop: bool = False, more_fix_crop: bool = False,
                 multiscale_crop: bool = False, resize_crop: bool = False, rescale_crop: bool = False,
                 scales: Sequence[float] | None = None, max_distort: int = 1, input_format: str = 'NCHW',
                 use_decord: bool | None = None, video_ext: str = 'mp4', pipeline: list[dict] | None = None,
                 decoder: str | None = None, start_index: int = 0, multi_class: bool = False,
                 num_classes: int | None = None, skip_bad_samples: bool = False):
        if isinstance(modality, (list, tuple)):
            if len(modality) != 1:
                raise ConfigError(f"VideoDataset supports a single modality, got {modality!r}")
            modality = modality[0]
        self.img_prefix = img_prefix or ''
        self.video_ext = video_ext
        self.start_index = start_index
        self.num_segments, self.new_length, self.new_step = num_segments, new_length, new_step
        self.input_format = input_format
        self.backend = video_backend(use_decord, decoder)
        self.img_scale_dict = load_scale_file(img_scale_file) if img_scale_file else None
        if pipeline is None:
            pipeline = flags_to_pipeline(
                source='video', modality=modality, num_segments=num_segments, new_length=new_length,
                new_step=new_step, random_shift=random_shift, temporal_jitter=temporal_jitter, test_mode=test_mode,
                img_norm_cfg=img_norm_cfg, img_scale=img_scale, input_size=input_size, div_255=div_255,
                flip_ratio=flip_ratio, resize_keep_ratio=resize_keep_ratio, oversample=oversample,
                random_crop=random_crop, more_fix_crop=more_fix_crop, multiscale_crop=multiscale_crop,
                resize_crop=resize_crop, rescale_crop=rescale_crop, scales=scales, max_distort=max_distort,
                input_format=input_format, backend=self.backend)
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
        results = dict(filename=self.video_path(idx), label=info['label'], start_index=self.start_index,
                       modality=self.modalities[0])
        if self.img_scale_dict is not None and info['path'] in self.img_scale_dict:
            results['scale_override'] = self.img_scale_dict[info['path']]
        return results
