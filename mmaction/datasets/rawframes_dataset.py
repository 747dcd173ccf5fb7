"""``RawFramesDataset`` (alias mmaction2's ``RawframeDataset``): frame folders listed as
``<frame_dir> <num_frames> <label>`` (original §5.2)."""
from __future__ import annotations

import os.path as osp
from typing import Any, Sequence

from mmaction.registry import DATASETS, ConfigError

from .annotations import load_rawframes_list
from .base import BaseRecognitionDataset


def _as_list(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def data_root(data_prefix: str | dict | None, key: str) -> str:
    """The folder of an original ``img_prefix`` string or of mmaction2's ``data_prefix=dict(img=...)``."""
    if isinstance(data_prefix, dict):
        unknown = set(data_prefix) - {key}
        if unknown:
            raise ConfigError(f"dataset config 'data_prefix': expected dict({key}=...), got keys {sorted(data_prefix)}")
        return data_prefix.get(key) or ''
    return data_prefix or ''


def modality_pipelines(pipeline: list, modalities: list[str]) -> list[list[dict]]:
    """One transform list per modality: ``pipeline`` is one list shared by all, or a list of lists."""
    if not isinstance(pipeline, (list, tuple)):
        raise ConfigError(f"dataset config 'pipeline' must be a list of transform dicts, got {type(pipeline).__name__}")
    if pipeline and all(isinstance(p, (list, tuple)) for p in pipeline):
        if len(pipeline) != len(modalities):
            raise ConfigError(f"dataset config: 'pipeline' has {len(pipeline)} lists but 'modality' has "
                              f'{len(modalities)} entries: {modalities}')
        return [list(p) for p in pipeline]
    return [list(pipeline)] * len(modalities)


@DATASETS.register_module()
class RawFramesDataset(BaseRecognitionDataset):
    """Frame folders ``data_prefix/<frame_dir>/filename_tmpl.format(i)``, ``i`` from ``start_index`` (1: the
    original's ``img_00001.jpg``).

    ``modality`` and ``filename_tmpl`` may be lists (one per modality; extra modalities give ``img_group_1``...
    and replay the first one's crop and flip); ``pipeline`` is then one list for all or one list per modality.
    Original flag-form configs reach this class translated by ``build_dataset``.
    """

    def __init__(self, ann_file: str, pipeline: list, data_prefix: str | dict | None = None,
                 filename_tmpl: str | Sequence[str] = 'img_{:05d}.jpg', modality: str | Sequence[str] = 'RGB',
                 start_index: int = 1, with_offset: bool = False, multi_class: bool = False,
                 num_classes: int | None = None, skip_bad_samples: bool = False, test_mode: bool = False):
        self.img_prefix = data_root(data_prefix, 'img')
        self.with_offset = with_offset
        self.start_index = start_index
        modalities = _as_list(modality)
        tmpls = _as_list(filename_tmpl)
        if len(tmpls) == 1 and len(modalities) > 1:
            tmpls = tmpls * len(modalities)
        if len(tmpls) != len(modalities):
            raise ConfigError(f"dataset config: 'filename_tmpl' (original 'image_tmpl') has {len(tmpls)} entries "
                              f"but 'modality' has {len(modalities)}: {tmpls} vs {modalities}")
        self.image_tmpls = tmpls
        super().__init__(ann_file, modality_pipelines(pipeline, modalities), modalities, test_mode,
                         num_classes=num_classes, multi_class=multi_class, skip_bad_samples=skip_bad_samples)

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
        return dict(frame_dir=osp.join(self.img_prefix, info['frame_dir']), total_frames=info['total_frames'],
                    label=info['label'], start_index=self.start_index, offset=info.get('offset', 0),
                    modality=self.modalities[modality_index], filename_tmpl=self.image_tmpls[modality_index],
                    video_key=info['frame_dir'])


DATASETS.register_module(name='RawframeDataset', module=RawFramesDataset)
