"""``RawFramesDataset``: frame folders listed as ``<frame_dir> <num_frames> <label>`` (original §5.2)."""
from __future__ import annotations

import os.path as osp
from typing import Any, Sequence

import numpy as np

from mmaction.registry import DATASETS, ConfigError

from .annotations import load_rawframes_list, load_scale_file
from .base import BaseRecognitionDataset
from .flag_pipeline import flags_to_pipeline


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def load_mean_volume(path: str) -> np.ndarray:
    """``pre_mean_npy`` as ``(L, H, W, C)`` float32. The file holds ``(C, L, H, W)`` (Caffe's C3D
    ``c3d_train01_16_128_171_mean.npy`` is ``(3, 16, 128, 171)``, BGR); the original transposed it with
    ``(1, 2, 3, 0)`` and subtracted frame ``i % L`` from the i-th resized frame before cropping."""
    vol = np.load(path, allow_pickle=False)
    if vol.ndim != 4:
        raise ConfigError(f"pre_mean_npy {path}: expected a (C, L, H, W) array, got shape {vol.shape} "
                          f"(config key 'pre_mean_npy')")
    return np.ascontiguousarray(vol.transpose(1, 2, 3, 0), dtype=np.float32)


@DATASETS.register_module()
class RawFramesDataset(BaseRecognitionDataset):
    """Original constructor keys and defaults; frames are 1-based (``img_00001.jpg``).

    Either the original flags (translated by :func:`flags_to_pipeline`) or ``pipeline=[...]``
    (mmaction2-style transforms; then ``filename_tmpl``/``start_index`` describe the frames) may be given.
    ``size_divisor``, ``proposal_file``, ``num_max_proposals`` and ``resize_ratio`` are accepted and unused,
    as in the original.
    """

    def __init__(self, ann_file: str, img_prefix: str = '', img_norm_cfg: dict | None = None,
                 pre_mean_npy: str | None = None, num_segments: int = 3, new_length: int = 1, new_step: int = 1,
                 random_shift: bool = True, temporal_jitter: bool = False, modality: str | Sequence[str] = 'RGB',
                 image_tmpl: str | Sequence[str] = 'img_{}.jpg', img_scale: Any = 256,
                 img_scale_file: str | None = None, input_size: Any = 224, div_255: bool = False,
                 size_divisor: Any = None, proposal_file: Any = None, num_max_proposals: int = 1000,
                 flip_ratio: float = 0.5, resize_keep_ratio: bool = True,
                 resize_ratio: Sequence[float] = (1, 0.875, 0.75, 0.66), test_mode: bool = False,
                 oversample: str | None = None, random_crop: bool = False, more_fix_crop: bool = False,
                 multiscale_crop: bool = False, resize_crop: bool = False, rescale_crop: bool = False,
                 scales: Sequence[float] | None = None, max_distort: int = 1, input_format: str = 'NCHW',
                 pipeline: list[dict] | None = None, filename_tmpl: str | None = None, start_index: int = 1,
                 with_offset: bool = False, multi_class: bool = False, num_classes: int | None = None,
                 skip_bad_samples: bool = False,
                 flow_invert_x: bool = True, decoding_backend: str = 'auto'):
        self.img_prefix = img_prefix or ''
        self.with_offset = with_offset
        self.start_index = start_index
        modalities = _as_list(modality)
        tmpls = _as_list(filename_tmpl if (pipeline is not None and filename_tmpl) else image_tmpl)
        if len(tmpls) != len(modalities):
            raise ConfigError(f"dataset config: 'image_tmpl' has {len(tmpls)} entries but 'modality' has "
                              f'{len(modalities)}: {tmpls} vs {modalities}')
        self.image_tmpls = tmpls
        self.num_segments, self.new_length, self.new_step = num_segments, new_length, new_step
        self.input_format = input_format
        self.img_scale_dict = load_scale_file(img_scale_file) if img_scale_file else None
        if pipeline is not None:
            pipelines = [pipeline] * len(modalities)
        else:
            mean_volume = None
            if pre_mean_npy is not None:
                if not osp.isfile(pre_mean_npy):
                    raise FileNotFoundError(f"pre_mean_npy file not found: {pre_mean_npy} (config key 'pre_mean_npy')")
                mean_volume = load_mean_volume(pre_mean_npy)
            pipelines = [flags_to_pipeline(
                source='rawframes', modality=mod, image_tmpl=tmpl, num_segments=num_segments,
                new_length=new_length, new_step=new_step, random_shift=random_shift,
                temporal_jitter=temporal_jitter, test_mode=test_mode, img_norm_cfg=img_norm_cfg,
                img_scale=img_scale, input_size=input_size, div_255=div_255, flip_ratio=flip_ratio,
                resize_keep_ratio=resize_keep_ratio, oversample=oversample, random_crop=random_crop,
                more_fix_crop=more_fix_crop, multiscale_crop=multiscale_crop, resize_crop=resize_crop,
                rescale_crop=rescale_crop, scales=scales, max_distort=max_distort, input_format=input_format,
                pre_mean_volume=mean_volume, flow_invert_x=flow_invert_x, decoding_backend=decoding_backend)
                for mod, tmpl in zip(modalities, tmpls)]
        super().__init__(ann_file, pipelines, modalities, test_mode, num_classes=num_classes,
                         multi_class=multi_class, skip_bad_samples=skip_bad_samples)

    def load_annotations(self) -> list[dict]:
        infos = load_rawframes_list(self.ann_file, multi_class=self.multi_class, with_offset=self.with_offset)
        for info in infos:
            info['path'] = info['frame_dir']
            info['num_frames'] = info['total_frames']
        return infos

    def get_ann_info(self, idx: int) -> dict:
        info = self.video_infos[idx]
        return {'path': info['path'], 'num_frames': info['num_frames'], 'label': info['label']}

    def sample_results(self, idx: int, modality_index: int) -> dict:
        info = self.video_infos[idx]
        results = dict(frame_dir=osp.join(self.img_prefix, info['frame_dir']), total_frames=info['total_frames'],
                       label=info['label'], start_index=self.start_index, offset=info.get('offset', 0),
                       modality=self.modalities[modality_index], filename_tmpl=self.image_tmpls[modality_index])
        if self.img_scale_dict is not None and info['frame_dir'] in self.img_scale_dict:
            results['scale_override'] = self.img_scale_dict[info['frame_dir']]
        return results
