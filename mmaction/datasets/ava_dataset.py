"""AVA spatio-temporal detection dataset (original MMAction ``AVADataset`` keys, v0 reference §4.4/§5.8,
plus the mmaction2 variant's ``custom_classes``, ``person_det_score_thr``, ``fps``, ``timestamp_start``,
``data_prefix``/``filename_tmpl`` and video input).

One sample is one key-frame: a clip of ``new_length`` frames every ``new_step`` frames centred on frame
``fps * (timestamp - timestamp_start) + 1`` (rawframes are 1-based and start at ``timestamp_start``), the
ground-truth person boxes with their action lists, and the person proposals. The pipeline's box-aware
transforms move the boxes with the images through resize, crop and flip (the original flags translate to
``Flip(inclusive_boxes=True)``, mmdet-v1's pixel convention: flipped ``x1' = W - x2 - 1``).

Item (train)::

    img_group_0: (1, C, T, H, W) for NCTHW or (T, C, H, W) for NCHW   float32
    img_meta:    dict(img_key, video_id, timestamp, ori_shape, img_shape, pad_shape, scale_factor, flip,
                      crop_quadruple=(x, y, w, h) of the crop in resized pixels, width, height)
    proposals:   (n, 5) [x1, y1, x2, y2, score] in network-input pixels (n, 4 when the pickle has no score)
    gt_bboxes:   (k, 4) network-input pixels;  gt_labels: (k, num_classes) action ids padded with -1
    num_modalities: LongTensor([1])

Test items of a multi-view pipeline (``MultiScaleFlipAug``: one view per scale, and per flip when the original
``flip_ratio > 0``) hold lists for ``img_group_0``, ``img_meta`` and ``proposals``; ``gt_bboxes`` then stay in
frame pixels.
"""
from __future__ import annotations

import csv
import os
from collections import OrderedDict
from typing import Any, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from mmaction.utils.ava_files import make_image_key, read_exclusions, read_labelmap
from mmaction.registry import DATASETS
from mmaction.utils.io import load_pickle, open_text

from .pipelines.compose import Compose


def load_video_stats(path: str) -> dict[str, tuple[int, int]]:
    """``<video_id> <W>x<H>`` lines -> ``{video_id: (W, H)}``."""
    stats = {}
    with open_text(path) as f:
        for lineno, line in enumerate(f, 1):
            parts = line.replace(',', ' ').split()
            if not parts:
                continue
            try:
                w, h = (int(v) for v in parts[1].lower().split('x'))
            except (IndexError, ValueError):
                raise ValueError(f'{path}:{lineno}: expected "<video_id> <W>x<H>", got {line.strip()!r}') from None
            stats[parts[0]] = (w, h)
    return stats


def load_ava_csv(path: str, num_classes: int = 81, class_map: dict[int, int] | None = None) -> dict[str, dict]:
    """Group AVA CSV rows by key-frame; rows with identical boxes merge into one box with an action list.

    Returns ``{img_key: dict(video_id, timestamp, bboxes (k, 4) normalised, labels (k, num_classes) padded
    with -1, pids (k,))}`` in file order. ``class_map`` maps action ids (others dropped) for custom classes.
    """
    frames: dict[str, dict] = OrderedDict()
    with open_text(path) as f:
        for lineno, row in enumerate(csv.reader(f), 1):
            if not row:
                continue
            if len(row) not in (7, 8):
                raise ValueError(f'{path}:{lineno}: expected video_id,timestamp,x1,y1,x2,y2,action_id,entity_id, '
                                 f'got {row!r}')
            try:
                key = make_image_key(row[0], row[1])
                box = tuple(round(float(v), 6) for v in row[2:6])
                action = int(row[6])
                pid = int(row[7]) if len(row) == 8 else -1
            except ValueError as err:
                raise ValueError(f'{path}:{lineno}: malformed row {row!r}: {err}') from None
            if class_map is not None:
                if action not in class_map:
                    continue
                action = class_map[action]
            if not 0 < action < num_classes:
                raise ValueError(f'{path}:{lineno}: action id {action} outside 1..{num_classes - 1} '
                                 f'(num_classes={num_classes})')
            rec = frames.setdefault(key, dict(video_id=row[0], timestamp=int(float(row[1])), boxes=OrderedDict()))
            actions, _ = rec['boxes'].setdefault(box, ([], pid))
            if action not in actions:
                actions.append(action)
    out = OrderedDict()
    for key, rec in frames.items():
        boxes = list(rec['boxes'])
        labels = np.full((len(boxes), num_classes), -1, dtype=np.int64)
        for i, box in enumerate(boxes):
            acts = rec['boxes'][box][0]
            labels[i, :len(acts)] = acts
        out[key] = dict(video_id=rec['video_id'], timestamp=rec['timestamp'],
                        bboxes=np.asarray(boxes, dtype=np.float32).reshape(-1, 4), labels=labels,
                        pids=np.asarray([rec['boxes'][b][1] for b in boxes], dtype=np.int64))
    return out


def view_item(results: dict, ori_shape: tuple[int, int], extra_meta: dict | None = None) -> tuple[torch.Tensor, dict]:
    """The network input and ``img_meta`` (the original's keys) of one AVA pipeline output."""
    ih, iw = results['img_shape'][:2]
    ph, pw = results.get('pad_shape', (ih, iw))[:2]
    scale = np.broadcast_to(np.asarray(results.get('scale_factor', 1.0), dtype=np.float32), (4,)).copy()
    crop = results.get('crop_quadruple')
    meta = dict(ori_shape=tuple(ori_shape) + (3,), img_shape=(ih, iw, 3), pad_shape=(ph, pw, 3),
                scale_factor=scale, flip=bool(results.get('flip', False)),
                crop_quadruple=np.array([0, 0, iw, ih], np.float32) if crop is None else crop, **(extra_meta or {}))
    imgs = results.get('inputs')  # mmaction2's PackActionInputs
    if imgs is None:
        imgs = torch.from_numpy(np.ascontiguousarray(results['imgs']))
    return imgs, meta


@DATASETS.register_module()
class AVADataset(Dataset):
    """AVA key-frame dataset; see the module docstring for the item layout.

    The dataset parses the annotations, samples and reads the clip and gives the pipeline
    ``results = dict(imgs (T, H, W, 3) uint8 RGB, proposals (n, 4|5), gt_bboxes (k, 4), ...)`` in pixels of
    the frames; box-aware transforms (``Resize``, ``CenterCrop``/``RandomCrop``, ``Flip``) move the boxes with
    the frames. Test pipelines that produce several views (``MultiScaleFlipAug``) give list items. Original
    flag-form configs (``img_norm_cfg``, ``img_scale``, ``input_size``, ``flip_ratio``, ``size_divisor``, ...)
    are translated into that pipeline by ``build_dataset``.
    """

    def __init__(self, ann_file: str, pipeline: list[dict], data_prefix: str | dict | None = None,
                 filename_tmpl: str = 'img_{:05d}.jpg', exclude_file: str | None = None,
                 label_file: str | None = None, video_stat_file: str | None = None, new_length: int = 1,
                 new_step: int = 1, random_shift: bool = True, modality: str = 'RGB',
                 proposal_file: str | None = None, num_max_proposals: int = 1000, with_label: bool = False,
                 test_mode: bool = False, fps: int = 30, timestamp_start: int = 840, shot_end: int | None = None,
                 num_classes: int = 81, custom_classes: Sequence[int] | None = None,
                 person_det_score_thr: float | None = None, use_frames: bool = True, video_ext: str = '.mp4',
                 decoder: str = 'decord'):
        from .rawframes_dataset import data_root
        if modality != 'RGB':
            raise ValueError(f"AVADataset: modality must be 'RGB', got {modality!r}")
        self.ann_file = ann_file
        self.img_prefix = data_root(data_prefix, 'img')
        self.image_tmpl = filename_tmpl
        self.new_length, self.new_step = int(new_length), int(new_step)
        self.random_shift = random_shift
        self.num_max_proposals = num_max_proposals
        self.with_label = with_label
        self.test_mode = test_mode
        self.fps, self.timestamp_start = int(fps), int(timestamp_start)
        # Trimmed AVA videos span 14:00-31:00 -> (1860 - 840) * 30 frames; a clip never reads past it.
        self.shot_end = shot_end if shot_end is not None else (1860 - self.timestamp_start) * self.fps
        self.person_det_score_thr = person_det_score_thr
        self.use_frames = use_frames
        self.video_ext = video_ext
        self.decoder = decoder
        self.custom_classes = list(custom_classes) if custom_classes is not None else None
        class_map = None
        if self.custom_classes is not None:
            class_map = {c: i + 1 for i, c in enumerate(self.custom_classes)}
            num_classes = len(self.custom_classes) + 1
        self.num_classes = num_classes
        self.label_file = label_file
        self.exclude_file = exclude_file
        self.excluded = read_exclusions(exclude_file) if exclude_file else set()
        self.video_stats = load_video_stats(video_stat_file) if video_stat_file else {}
        if not os.path.isfile(ann_file):
            raise FileNotFoundError(f"AVADataset: ann_file not found: {ann_file} (config key 'ann_file')")
        self.annotations = load_ava_csv(ann_file, num_classes, class_map)
        self.proposals = load_pickle(proposal_file) if proposal_file else None
        if self.proposals is not None and not isinstance(self.proposals, dict):
            raise ValueError(f'{proposal_file}: expected a dict "video_id,timestamp" -> (n, 4|5) array, '
                             f'got {type(self.proposals).__name__}')
        self.video_infos = self._build_infos()
        self.pipeline = Compose(pipeline, where=f'AVADataset({ann_file}).pipeline')
        self.flag = np.ones(len(self), dtype=np.uint8)

    # -- annotations ---------------------------------------------------------------------------------
    def _build_infos(self) -> list[dict]:
        infos = []
        for key, ann in self.annotations.items():
            if not self.test_mode:
                # Training skips excluded key-frames and those without proposals (the original resampled them).
                if key in self.excluded:
                    continue
                if self.proposals is not None and len(self.proposals.get(key, ())) == 0:
                    continue
            infos.append(dict(img_key=key, video_id=ann['video_id'], timestamp=ann['timestamp'], ann=ann))
        return infos

    def __len__(self) -> int:
        return len(self.video_infos)

    def keyframe_keys(self) -> list[tuple[str, int, int, int]]:
        """``(video_id, timestamp, width, height)`` per item, for ``results2csv``."""
        out = []
        for info in self.video_infos:
            w, h = self.video_stats.get(info['video_id'], (0, 0))
            if not w:
                h, w = self._frame_shape(info)
            out.append((info['video_id'], info['timestamp'], w, h))
        return out

    def get_proposals(self, key: str) -> np.ndarray:
        """Normalised proposals of a key-frame (score-filtered and truncated); full frame when missing."""
        props = None if self.proposals is None else self.proposals.get(key)
        if props is None or len(props) == 0:
            return np.array([[0, 0, 1, 1, 1]], dtype=np.float32)
        props = np.asarray(props, dtype=np.float32)
        if props.ndim != 2 or props.shape[1] not in (4, 5):
            raise ValueError(f'proposal file: entry {key!r} must be (n, 4) or (n, 5), got {props.shape}')
        if self.person_det_score_thr is not None and props.shape[1] == 5:
            thr = min(self.person_det_score_thr, float(props[:, 4].max()))
            props = props[props[:, 4] >= thr]
        return props[:self.num_max_proposals]

    # -- frames --------------------------------------------------------------------------------------
    def frame_indices(self, timestamp: int) -> np.ndarray:
        """1-based frame indices of the clip centred on the key-frame of ``timestamp``."""
        center = self.fps * (timestamp - self.timestamp_start) + 1
        offsets = (np.arange(self.new_length) - self.new_length // 2) * self.new_step
        if self.random_shift and not self.test_mode:
            offsets = offsets + np.random.randint(self.new_step, size=self.new_length)
        # The original drew random offsets even at test time; a fixed clip keeps tests reproducible.
        return np.clip(center + offsets, 1, self.shot_end)

    def _frame_path(self, video_id: str, idx: int) -> str:
        return os.path.join(self.img_prefix, video_id, self.image_tmpl.format(int(idx)))

    def _frame_shape(self, info: dict) -> tuple[int, int]:
        frames = self.load_frames(info['video_id'], np.array([self.fps * (info['timestamp'] -
                                                                          self.timestamp_start) + 1]))
        return frames.shape[1:3]

    def load_frames(self, video_id: str, indices: np.ndarray) -> np.ndarray:
        """``(T, H, W, 3)`` uint8 RGB (``Normalize`` puts the channels in the order the model wants)."""
        if self.use_frames:
            from mmaction.datasets.decoders.frames import read_images
            paths = []
            for idx in indices:
                path = self._frame_path(video_id, idx)
                if not os.path.isfile(path):
                    # Clips near the end of a short video repeat its last frame.
                    n = idx
                    while n > 1 and not os.path.isfile(self._frame_path(video_id, n)):
                        n -= 1
                    path = self._frame_path(video_id, n)
                paths.append(path)
            return read_images(paths, channel_order='rgb')
        from mmaction.datasets.decoders.base import build_decoder
        path = os.path.join(self.img_prefix, video_id + self.video_ext)
        with build_decoder(self.decoder, path) as dec:
            idx = np.clip(np.asarray(indices) - 1, 0, dec.num_frames - 1)
            return dec.get_frames(idx)  # RGB

    # -- items ---------------------------------------------------------------------------------------
    def __getitem__(self, idx: int) -> dict[str, Any]:
        info = self.video_infos[idx]
        key = info['img_key']
        try:
            frames = self.load_frames(info['video_id'], self.frame_indices(info['timestamp']))
        except (FileNotFoundError, OSError) as err:
            raise FileNotFoundError(f'AVADataset ({self.ann_file}, key-frame {key}): {err}') from err
        h, w = frames.shape[1:3]
        vw, vh = self.video_stats.get(info['video_id'], (w, h))
        pixel = np.array([w, h, w, h], dtype=np.float32)
        props = self.get_proposals(key).copy()
        props[:, :4] *= pixel
        gt_boxes = info['ann']['bboxes'] * pixel
        base_meta = dict(img_key=key, video_id=info['video_id'], timestamp=info['timestamp'], width=vw, height=vh)
        results = dict(imgs=frames, channel_order='rgb', modality='RGB', clip_len=len(frames), num_clips=1,
                       img_shape=(h, w), original_shape=(h, w), proposals=props, img_key=key,
                       video_id=info['video_id'], timestamp=info['timestamp'])
        if not self.test_mode:
            results['gt_bboxes'] = gt_boxes  # training moves the GT with the frames
        try:
            results = self.pipeline(results)
        except Exception as err:
            raise RuntimeError(f'AVADataset ({self.ann_file}, key-frame {key}): {type(err).__name__}: {err}') from err
        views = results.get('views')
        if views is None:
            imgs, meta = view_item(results, (h, w), base_meta)
            data = dict(img_group_0=imgs, img_meta=meta, proposals=torch.from_numpy(results['proposals']),
                        num_modalities=torch.LongTensor([1]))
            gt_boxes = results.get('gt_bboxes', gt_boxes)
        else:
            packed = [view_item(v, (h, w), base_meta) for v in views]
            data = dict(img_group_0=[p[0] for p in packed], img_meta=[p[1] for p in packed],
                        proposals=[torch.from_numpy(v['proposals']) for v in views],
                        num_modalities=torch.LongTensor([1]))
        if self.with_label:
            data['gt_bboxes'] = torch.from_numpy(np.asarray(gt_boxes, dtype=np.float32))
            data['gt_labels'] = torch.from_numpy(info['ann']['labels'])
        return data


def label_names(label_file: str) -> dict[int, str]:
    """``{action_id: name}`` of an AVA label map."""
    labelmap, _ = read_labelmap(label_file)
    return {e['id']: e['name'] for e in labelmap}

