"""Shared machinery of the recognition datasets: pipeline per modality, output packing, error context.

``dataset[i]`` returns (design.md, original §5.1)::

    dict(img_group_0=FloatTensor (M, C, H, W) or (M', C, T, H, W),
         gt_label=LongTensor([label]),
         img_meta=dict(ori_shape, img_shape, pad_shape, scale_factor, crop_quadruple, flip),
         num_modalities=LongTensor([n]))

with ``img_group_1``... for extra modalities, which replay the first modality's frames, crop and flip.
"""
from __future__ import annotations

from typing import Any

import logging

import numpy as np
import torch
from torch.utils.data import Dataset

from mmaction.registry import ConfigError

from .pipelines.compose import Compose

logger = logging.getLogger('mmaction')

# The original hard-codes ori_shape for recognition datasets (v0 reference §5.1).
ORI_SHAPE = (256, 340, 3)


class BadSampleError(RuntimeError):
    """Loading sample ``idx`` failed; the message names the dataset, index, annotation line and cause."""


class BaseRecognitionDataset(Dataset):
    """Records from an annotation list + one ``Compose`` per modality.

    Subclasses implement :meth:`load_annotations` and :meth:`sample_results` (the initial ``results`` dict of a
    record for one modality).
    """

    def __init__(self, ann_file: str, pipelines: list[list[dict]], modalities: list[str], test_mode: bool = False,
                 num_classes: int | None = None, multi_class: bool = False, skip_bad_samples: bool = False,
                 max_bad_retries: int = 10):
        self.ann_file = ann_file
        self.skip_bad_samples = skip_bad_samples
        self.max_bad_retries = max_bad_retries
        # Bad samples replaced in THIS process (each DataLoader worker has its own copy); every replaced
        # sample also carries img_meta['replaced_bad_sample'] so the trainer can count them per epoch.
        self.bad_samples: list[tuple[int, str]] = []
        self.test_mode = test_mode
        self.modalities = modalities
        self.multi_class = multi_class
        self.num_classes = num_classes
        if multi_class and not num_classes:
            raise ConfigError("dataset config: multi_class=True needs 'num_classes'")
        self.video_infos = self.load_annotations()
        if num_classes and not multi_class:
            self.check_labels(num_classes)
        self.pipelines = [Compose(p, where=f'{type(self).__name__}.pipeline' + (f'[modality {i}]' if i else ''))
                          for i, p in enumerate(pipelines)]
        # The original's group flag for its GroupSampler (every item in group 1).
        self.flag = np.ones(len(self), dtype=np.uint8)

    def check_labels(self, num_classes: int) -> None:
        """Raise :class:`AnnotationError` naming file:line of the labels a ``num_classes``-way head cannot take
        (without this, training fails inside ``cross_entropy`` with "Target 8 is out of bounds")."""
        from .annotations import AnnotationError, labels_out_of_range
        problems = labels_out_of_range(self.video_infos, num_classes, self.ann_file)
        if problems:
            more = f'\n  ... and {len(problems) - 5} more' if len(problems) > 5 else ''
            raise AnnotationError(f'{len(problems)} label(s) out of range for {num_classes} classes:\n  '
                                  + '\n  '.join(problems[:5]) + more)

    # -- to implement --------------------------------------------------------------------------------
    def load_annotations(self) -> list[dict]:
        raise NotImplementedError

    def sample_results(self, idx: int, modality_index: int) -> dict:
        raise NotImplementedError

    # -- dataset protocol --------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.video_infos)

    def get_ann_info(self, idx: int) -> dict:
        info = self.video_infos[idx]
        return {k: v for k, v in info.items() if k not in ('line', 'line_no')}

    def _where(self, idx: int) -> str:
        info = self.video_infos[idx]
        return f"{type(self).__name__}[{idx}] ({self.ann_file}:{info.get('line_no', '?')} {info.get('line', '')!r})"

    def run_pipelines(self, idx: int) -> list[dict]:
        """Results of every modality's pipeline for sample ``idx`` (later modalities replay the first)."""
        outs = []
        replay = None
        for m, pipeline in enumerate(self.pipelines):
            results = self.sample_results(idx, m)
            if replay is not None:
                results['replay'] = replay
            try:
                results = pipeline(results)
            except BadSampleError:
                raise
            except Exception as err:
                raise BadSampleError(f'{self._where(idx)}: {type(err).__name__}: {err}') from err
            if results is None:
                raise BadSampleError(f'{self._where(idx)}: the pipeline dropped the sample')
            replay = results.get('aug_params', {})
            outs.append(results)
        short = self._short_video(idx, outs[0])
        if short:
            outs[0]['short_video'] = short
        return outs

    def _short_video(self, idx: int, results: dict) -> str | None:
        """A message when a training clip repeats frames because the video is shorter than the sampled span
        (the sampler wraps around or clamps); the trainer counts these once per epoch."""
        inds = results.get('frame_inds')
        if self.test_mode or inds is None:
            return None
        flat = np.asarray(inds).reshape(-1)
        if len(np.unique(flat)) == len(flat):
            return None
        info = self.video_infos[idx]
        total = results.get('total_frames', info.get('total_frames', '?'))
        return (f"{info.get('path', info.get('frame_dir', idx))} ({self.ann_file}:{info.get('line_no', '?')}): "
                f"{total} frames, the clip samples {len(flat)}")

    def __getitem__(self, idx: int) -> dict[str, Any]:
        if idx < 0:
            idx += len(self)
        if not 0 <= idx < len(self):
            raise IndexError(f'{type(self).__name__}: index {idx} out of range for {len(self)} samples')
        if not self.skip_bad_samples:
            return self.pack(idx, self.run_pipelines(idx))
        tried = idx
        errors: list[str] = []  # this chain's causes travel in img_meta: workers' bad_samples stay in the workers
        for _ in range(self.max_bad_retries + 1):
            try:
                data = self.pack(tried, self.run_pipelines(tried))
            except BadSampleError as err:
                self.bad_samples.append((tried, str(err)))
                errors.append(str(err))
                logger.warning('skipping bad sample (skip_bad_samples=True): %s', err)
                tried = int(np.random.randint(len(self)))
                continue
            if errors:
                data['img_meta']['replaced_bad_sample'] = idx
                data['img_meta']['bad_sample_errors'] = errors
            return data
        raise BadSampleError(f'{type(self).__name__}: {self.max_bad_retries + 1} bad samples in a row starting at '
                             f'index {idx}; last error: {self.bad_samples[-1][1]}')

    def bad_sample_report(self) -> str:
        """One line per bad sample seen by this process (the trainer logs it at the end of an epoch)."""
        lines = [f'{len(self.bad_samples)} bad sample(s) replaced in {type(self).__name__} ({self.ann_file})']
        lines += [f'  [{i}] {msg}' for i, msg in self.bad_samples]
        return '\n'.join(lines)

    def label_tensor(self, label: Any) -> torch.Tensor:
        if self.multi_class:
            onehot = torch.zeros(self.num_classes, dtype=torch.float32)
            onehot[torch.as_tensor(label, dtype=torch.long)] = 1.0
            return onehot
        return torch.tensor([int(label)], dtype=torch.long)

    def pack(self, idx: int, outs: list[dict]) -> dict[str, Any]:
        first = outs[0]
        imgs = first['imgs']
        img_shape = tuple(first.get('img_shape', imgs.shape[-2:]))
        if first.get('channel_order') != 'flow':
            img_shape = img_shape + (3,)  # the original reports (h, w, 3) for colour frames, (h, w) for flow
        scale_factor = first.get('scale_factor')
        img_meta = dict(ori_shape=ORI_SHAPE, img_shape=img_shape, pad_shape=img_shape, scale_factor=scale_factor,
                        crop_quadruple=first.get('crop_quadruple'), flip=bool(first.get('flip', False)))
        if first.get('short_video'):
            img_meta['short_video'] = first['short_video']
        for key, value in first.get('pack_meta', {}).items():  # mmaction2's PackActionInputs meta_keys
            img_meta.setdefault(key, value)
        data = dict(num_modalities=torch.tensor([len(outs)], dtype=torch.long),
                    gt_label=self.label_tensor(self.video_infos[idx]['label']),
                    img_meta=img_meta)
        for m, results in enumerate(outs):
            packed = results.get('inputs')
            data[f'img_group_{m}'] = packed if packed is not None else torch.from_numpy(
                np.ascontiguousarray(results['imgs']))
        return data
