"""TADFeatureDataset: per-snippet features + THUMOS14 / ActivityNet JSON annotations for one-stage detectors.

Annotation JSON, either layout:

* ActionFormer / ActivityNet original: ``{"database": {"video_validation_0000051": {"subset": "validation",
  "duration": 169.79, "fps": 30.0, "annotations": [{"label": "Billiards", "segment": [2.1, 5.4],
  "label_id": 2}]}}}``;
* mmaction2 (§2.4, the ``ActivityNetDataset`` layout): ``{"v_name": {"duration_second": 2.0, "fps": 30.0,
  ..., "annotations": [{"segment": [0.3, 0.6], "label": "Rock climbing"}]}}``.

Features: ``<data_prefix>/<video>.npy`` (``(T, C)``; ``.csv`` also read), feature ``t`` centred on frame
``t * feat_stride + num_frames / 2``. GT segments are converted to feature steps with that convention.

Training items (``test_mode=False``): sequences longer than ``max_seq_len`` are randomly cropped to
``max_seq_len`` steps, and with ``crop_ratio`` shorter ones to a random fraction of their length (see ``crop``);
every item is zero-padded to ``max_seq_len`` so batches stack, ``valid_len`` tells the real length.
``resize_len`` instead resamples every video to a fixed length (ActivityNet-1.3: 192 steps); a step then spans
``((T - 1) * feat_stride + num_frames) / resize_len`` frames of the ``T`` stored features (the span they cover),
as in ActionFormer. Test items hold the whole (resized) sequence.

``dataset[i]`` = ``dict(raw_feature=(C, L) float32, valid_len=LongTensor[], gt_segments=(G, 2) steps,
gt_labels=(G,) long, img_meta=dict(video_name, duration, fps, feat_stride, feat_num_frames, window_start))``.
"""
from __future__ import annotations

import json
import os
from typing import Sequence

import numpy as np
import torch

from mmaction.registry import DATASETS
from mmaction.utils.io import atomic_open, read_json_object, read_text

from .activitynet_dataset import load_feature, rescale_feature


@DATASETS.register_module()
class TADFeatureDataset(torch.utils.data.Dataset):
    """Feature dataset for one-stage temporal action detection (ActionFormer, TriDet).

    Args:
        ann_file: annotation JSON (see module doc). data_prefix: folder of the feature files.
        feat_prefix: prepended to the video id to name its feature file (ActivityNet TSP features: ``'v_'``).
        classes: class names in label-index order, or a text file with one per line (default: the labels of all
            subsets in order of first appearance in ``ann_file``, or ``label_id`` order when every annotation
            has one).
        subset: keep only videos whose ``subset`` matches (case-insensitive; e.g. ``'validation'``).
        feat_stride / num_frames: frames between features and frames per feature window.
        default_fps: fps of videos whose annotation has none.
        max_seq_len: training window (steps). trunc_thresh / crop_ratio: random training windows, see ``crop``
            (``crop_ratio=(a, b)``: a video of ``T <= max_seq_len`` steps is cut to ``[a, b] * T`` steps).
        resize_len: resample every video to this many steps (ActivityNet); ``None`` keeps the stored length.
        downsample_rate: keep every n-th feature (the stride grows accordingly).
        external_scores: JSON ``{video: {class: score}}`` or ``{video: [score per class of `classes`]}``
            (optionally under ``"results"``, the layout of the CUHK ActivityNet-1.3 classifier scores) of a
            video-level classifier: class-agnostic detections are re-labelled with the ``topk_classes`` best
            classes, ``score = sqrt(detection score * class score)`` (the ActivityNet protocol of the papers).
        agnostic: train a class-agnostic detector: every segment is class 0 (``classes`` is then ``['action']``
            unless given); the ActivityNet detectors are trained so and labelled by ``external_scores``.
        test_mode: return whole sequences, no cropping.
    """

    def __init__(self, ann_file: str, data_prefix: str, feat_prefix: str = '',
                 classes: Sequence[str] | str | None = None,
                 subset: str | None = None, feat_stride: float = 4, num_frames: float = 16,
                 default_fps: float | None = None, max_seq_len: int = 2304, trunc_thresh: float = 0.5,
                 crop_ratio: Sequence[float] | None = None, resize_len: int | None = None,
                 downsample_rate: int = 1, external_scores: str | None = None, topk_classes: int = 2,
                 agnostic: bool = False, test_mode: bool = False, pipeline=None, **kwargs):
        self.ann_file = ann_file
        self.data_prefix = data_prefix
        self.feat_prefix = feat_prefix
        self.subset = subset
        self.feat_stride = float(feat_stride)
        self.num_frames = float(num_frames)
        self.default_fps = default_fps
        self.max_seq_len = int(max_seq_len)
        self.trunc_thresh = trunc_thresh
        self.crop_ratio = tuple(crop_ratio) if crop_ratio else None
        self.resize_len = resize_len
        self.downsample_rate = int(downsample_rate)
        self.test_mode = test_mode
        self.external_scores = external_scores
        self.topk_classes = topk_classes
        self.agnostic = agnostic
        self.video_infos, found = self.load_annotations()
        if isinstance(classes, str):
            classes = [c.strip() for c in read_text(classes).splitlines() if c.strip()]
        self.classes = list(classes) if classes is not None else (['action'] if agnostic else found)
        self.class_index = {c: i for i, c in enumerate(self.classes)}
        for info in ([] if agnostic else self.video_infos):
            for ann in info['annotations']:
                if ann['label'] not in self.class_index:
                    raise ValueError(f"{ann_file}: video '{info['video_name']}' has label {ann['label']!r} which "
                                     f'is not among the {len(self.classes)} classes')

    def load_annotations(self) -> tuple[list[dict], list[str]]:
        data = read_json_object(self.ann_file, 'annotation file')
        database = data.get('database', data)
        if not isinstance(database, dict):
            raise ValueError(f"{self.ann_file}: 'database' must map video ids to videos")
        infos, by_id, order = [], {}, []
        for name, video in database.items():
            if not isinstance(video, dict) or 'annotations' not in video:
                raise ValueError(f"{self.ann_file}: video '{name}' lacks key 'annotations'")
            in_subset = self.subset is None or str(video.get('subset', self.subset)).lower() == self.subset.lower()
            duration = video.get('duration', video.get('duration_second'))
            if duration is None:
                raise ValueError(f"{self.ann_file}: video '{name}' lacks key 'duration' (or 'duration_second')")
            fps = video.get('fps', self.default_fps)
            if fps is None:
                raise ValueError(f"{self.ann_file}: video '{name}' has no 'fps' and the dataset has no default_fps")
            anns = []
            for k, ann in enumerate(video['annotations']):
                try:
                    seg = [float(ann['segment'][0]), float(ann['segment'][1])]
                    label = ann['label']
                except (KeyError, IndexError, TypeError, ValueError) as err:
                    raise ValueError(f"{self.ann_file}: video '{name}' annotation {k} must have 'segment': "
                                     f"[start, end] and 'label', got {ann!r}") from err
                if label not in order:
                    order.append(label)
                if 'label_id' in ann:
                    by_id[label] = int(ann['label_id'])
                anns.append(dict(segment=seg, label=label))
            if in_subset:
                infos.append(dict(video_name=name, duration=float(duration), fps=float(fps), annotations=anns,
                                  subset=str(video.get('subset', 'all')).lower()))
        if order and len(by_id) == len(order):
            order = sorted(order, key=lambda c: by_id[c])
        return infos, order

    def __len__(self) -> int:
        return len(self.video_infos)

    def load_sequence(self, info: dict) -> tuple[np.ndarray, float, float]:
        """Features ``(T', C)`` as the model sees them and their ``(feat_stride, num_frames)`` in frames."""
        feat = load_feature(os.path.join(self.data_prefix, self.feat_prefix + info['video_name']))
        if self.resize_len:
            stride = ((feat.shape[0] - 1) * self.feat_stride + self.num_frames) / self.resize_len
            return rescale_feature(feat, self.resize_len), stride, stride
        if self.downsample_rate > 1:
            feat = feat[::self.downsample_rate]
        return feat, self.feat_stride * self.downsample_rate, self.num_frames

    def gt_steps(self, info: dict, stride: float, num_frames: float) -> tuple[np.ndarray, np.ndarray]:
        """GT segments in feature steps ``(G, 2)`` and their class indices ``(G,)``."""
        secs = np.array([a['segment'] for a in info['annotations']], dtype=np.float64).reshape(-1, 2)
        steps = (secs * info['fps'] - 0.5 * num_frames) / stride
        labels = np.array([0 if self.agnostic else self.class_index[a['label']] for a in info['annotations']],
                          dtype=np.int64)
        return steps, labels

    def crop(self, feat: np.ndarray, segs: np.ndarray, labels: np.ndarray, offset: float,
             rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        """A random training window (ActionFormer's truncation): ``max_seq_len`` steps of a longer sequence, or
        with ``crop_ratio=(a, b)`` a shorter one's ``[a, b]`` fraction. A GT segment is kept when at least
        ``trunc_thresh`` of it overlaps the window widened by ``offset`` (half a feature window, in steps) on each
        side, and is clipped to that; windows are redrawn (up to 200 times) until one keeps a segment."""
        t = feat.shape[0]
        length = self.max_seq_len
        if t <= length:
            if not self.crop_ratio:
                return feat, segs, labels, 0
            low, high = max(round(self.crop_ratio[0] * t), 1), min(round(self.crop_ratio[1] * t), t)
            length = int(rng.integers(low, high + 1))
            if length == t:
                return feat, segs, labels, 0
        lens = np.abs(segs[:, 1] - segs[:, 0])
        for _ in range(200):
            start = int(rng.integers(0, t - length + 1))
            left = np.maximum(start - offset, segs[:, 0])
            right = np.minimum(start + length + offset, segs[:, 1])
            with np.errstate(divide='ignore', invalid='ignore'):
                kept = np.clip(right - left, 0, None) / lens >= self.trunc_thresh
            if kept.any() or len(segs) == 0:
                break
        clipped = np.stack([left[kept], right[kept]], 1) - start
        return feat[start:start + length], clipped, labels[kept], start

    def __getitem__(self, idx: int) -> dict:
        info = self.video_infos[idx]
        feat, stride, num_frames = self.load_sequence(info)
        segs, labels = self.gt_steps(info, stride, num_frames)
        start = 0
        if not self.test_mode:
            feat, segs, labels, start = self.crop(feat, segs, labels, 0.5 * num_frames / stride,
                                                      # from the global state, which --seed and the workers seed
                                                      np.random.default_rng(np.random.randint(2 ** 31)))
        valid = feat.shape[0]
        if not self.test_mode and valid < self.max_seq_len:
            feat = np.concatenate([feat, np.zeros((self.max_seq_len - valid, feat.shape[1]), feat.dtype)])
        meta = dict(video_name=info['video_name'], duration=info['duration'], fps=info['fps'], feat_stride=stride,
                    feat_num_frames=num_frames, window_start=start)
        return dict(raw_feature=torch.from_numpy(np.ascontiguousarray(feat.T)), valid_len=torch.tensor(valid),
                    gt_segments=torch.from_numpy(segs.astype(np.float32)), gt_labels=torch.from_numpy(labels),
                    img_meta=meta)

    # ----- evaluation -----------------------------------------------------------------------------------------
    def ground_truth(self) -> dict[str, list]:
        """``{class: [(video, start s, end s)]}`` in class order."""
        gt: dict[str, list] = {c: [] for c in self.classes}
        for info in self.video_infos:
            for a in info['annotations']:
                gt[self.classes[0] if self.agnostic else a['label']].append((info['video_name'], *a['segment']))
        return {c: rows for c, rows in gt.items() if rows}

    def load_external_scores(self) -> dict[str, dict[str, float]]:
        data = read_json_object(self.external_scores, 'external_scores file')
        data = data.get('results', data)
        out = {}
        for vid, scores in data.items():
            if isinstance(scores, list):
                if len(scores) != len(self.classes):
                    raise ValueError(f"{self.external_scores}: video '{vid}' has {len(scores)} class scores but the "
                                     f'dataset has {len(self.classes)} classes')
                scores = dict(zip(self.classes, scores))
            if not isinstance(scores, dict):
                raise ValueError(f"{self.external_scores}: video '{vid}' must map to {{class: score}} or a list")
            out[str(vid)] = {str(c): float(s) for c, s in scores.items()}
        return out

    def label_detections(self, results: Sequence[dict]) -> dict[str, list]:
        """``{class: [(video, start, end, score)]}`` from ``[dict(video_name, proposal_list)]``; class-agnostic
        detections are combined with ``external_scores`` (see class doc)."""
        scores = self.load_external_scores() if self.external_scores else None
        dets: dict[str, list] = {}
        for r in results:
            vid = r['video_name']
            top = None
            if scores is not None:
                video_scores = scores.get(vid, scores.get(vid[2:] if vid.startswith('v_') else 'v_' + vid))
                if video_scores is None:
                    raise ValueError(f"{self.external_scores}: no class scores for video '{vid}'")
                top = sorted(video_scores.items(), key=lambda kv: -kv[1])[:self.topk_classes]
            for p in r['proposal_list']:
                s, e = p['segment']
                if top is not None:
                    for cls, cls_score in top:
                        dets.setdefault(cls, []).append((vid, s, e, float(np.sqrt(p['score'] * cls_score))))
                elif 'label' in p:
                    label = self.classes[p['label']] if isinstance(p['label'], int) else p['label']
                    dets.setdefault(label, []).append((vid, s, e, p['score']))
                else:
                    raise ValueError(f"results of '{vid}' have no labels: set external_scores on the dataset to "
                                     'label class-agnostic proposals')
        return dets

    def load_results(self, path: str) -> list[dict]:
        """Read an ActivityNet-format result JSON (this dataset's ``dump_results``, ``ActivityNetDataset``'s
        class-agnostic proposals, or another toolkit's) back into ``[dict(video_name, proposal_list)]`` in
        dataset order; result files may drop the ``v_`` prefix of the annotation's video ids."""
        data = read_json_object(path, 'result file')
        if not isinstance(data.get('results'), dict):
            raise ValueError(f"{path}: expected a top-level 'results' object of videos")
        body = data['results']
        out = []
        for info in self.video_infos:
            name = info['video_name']
            props = body.get(name, body.get(name[2:] if name.startswith('v_') else None, []))
            out.append(dict(video_name=name, proposal_list=props))
        return out

    def dump_results(self, results: Sequence[dict], out: str) -> None:
        """Write ``{"results": {video: [{label, score, segment}]}}`` atomically (ActivityNet JSON format)."""
        body = {}
        for r in results:
            body[r['video_name']] = [dict(label=(self.classes[p['label']] if isinstance(p.get('label'), int)
                                                 else p.get('label')), score=float(p['score']),
                                          segment=[float(p['segment'][0]), float(p['segment'][1])])
                                     for p in r['proposal_list']]
        with atomic_open(out, 'w') as f:
            json.dump({'version': 'mmaction', 'results': body, 'external_data': {}}, f)
