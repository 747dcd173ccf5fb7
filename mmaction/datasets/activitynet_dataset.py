"""ActivityNetDataset: per-video snippet features + ActivityNet-style annotations (mmaction2 format).

Annotation JSON (mmaction2 §2.4)::

    {"v_name": {"duration_second": 1, "duration_frame": 30, "feature_frame": 30, "fps": 30.0, "rfps": 30,
                "annotations": [{"segment": [0.3, 0.6], "label": "Rock climbing"}]}, ...}

Features: ``<data_prefix>/<v_name>.csv`` with a header row (``f0,...,f399``) and one row per temporal step,
or ``<v_name>.npy`` holding ``(T, C)`` (what ``tools/extract_features.py`` writes). ``dataset[i]`` gives
``dict(raw_feature=(C, T) float32, gt_bbox=(G, 2) normalised to [0, 1], img_meta=dict(video_name, ...))``.
"""
from __future__ import annotations

import json
import os
from typing import Sequence

import numpy as np
import torch

from mmaction.registry import DATASETS
from mmaction.utils.io import atomic_open, read_json_object


def load_feature(path_base: str) -> np.ndarray:
    """Read ``(T, C)`` features from ``path_base + '.npy'`` or ``'.csv'`` (header row skipped)."""
    if os.path.isfile(path_base + '.npy'):
        feat = np.load(path_base + '.npy', allow_pickle=False)
    elif os.path.isfile(path_base + '.csv'):
        try:
            feat = np.loadtxt(path_base + '.csv', dtype=np.float32, delimiter=',', skiprows=1, ndmin=2)
        except ValueError as err:
            raise ValueError(f'{path_base}.csv: expected a header row and comma-separated numbers: {err}') from err
    else:
        raise FileNotFoundError(f'feature file not found: {path_base}.npy or {path_base}.csv')
    if feat.ndim != 2 or feat.shape[0] == 0:
        raise ValueError(f'{path_base}: features must be (T, C) with T >= 1, got shape {feat.shape}')
    return feat.astype(np.float32)


def rescale_feature(feat: np.ndarray, length: int) -> np.ndarray:
    """Linearly resample ``(T, C)`` features to ``(length, C)`` (BSN/BMN's fixed temporal scale).

    Step k of the output is centred at ``(k + 0.5) * T / length - 0.5`` in input steps.
    """
    t = feat.shape[0]
    if t == length:
        return feat
    pos = np.clip((np.arange(length) + 0.5) * t / length - 0.5, 0, t - 1)
    lo = np.floor(pos).astype(int)
    hi = np.minimum(lo + 1, t - 1)
    w = (pos - lo)[:, None]
    return ((1 - w) * feat[lo] + w * feat[hi]).astype(np.float32)


@DATASETS.register_module()
class ActivityNetDataset(torch.utils.data.Dataset):
    """Feature-based ActivityNet-style dataset for BMN / BSN.

    Args:
        ann_file: annotation JSON (see module doc).
        data_prefix: folder of the per-video feature files.
        temporal_scale: if set, features are resampled to this many steps (``None``: used as stored).
        test_mode: kept for the config interface; targets are returned in both modes (evaluation needs GT).
    """

    def __init__(self, ann_file: str, data_prefix: str, temporal_scale: int | None = None, test_mode: bool = False,
                 pipeline=None, **kwargs):
        self.ann_file = ann_file
        self.data_prefix = data_prefix
        self.temporal_scale = temporal_scale
        self.test_mode = test_mode
        self.video_infos = self.load_annotations()

    def load_annotations(self) -> list[dict]:
        data = read_json_object(self.ann_file, 'annotation file')
        infos = []
        for name, info in data.items():
            for key in ('duration_second', 'annotations'):
                if key not in info:
                    raise ValueError(f"{self.ann_file}: video '{name}' lacks key '{key}'")
            infos.append(dict(video_name=name, **info))
        return infos

    def __len__(self) -> int:
        return len(self.video_infos)

    def gt_bbox(self, info: dict) -> np.ndarray:
        """GT segments normalised by the duration the features cover, clipped to [0, 1].

        With ``feature_frame`` < ``duration_frame`` (features stop before the video does), the covered duration
        is ``feature_frame / duration_frame * duration_second``.
        """
        seconds = float(info['duration_second'])
        if info.get('feature_frame') and info.get('duration_frame'):
            seconds = float(info['feature_frame']) / float(info['duration_frame']) * seconds
        boxes = [[min(max(a['segment'][0] / seconds, 0.0), 1.0), min(max(a['segment'][1] / seconds, 0.0), 1.0)]
                 for a in info['annotations']]
        return np.array(boxes, dtype=np.float32).reshape(-1, 2)

    def __getitem__(self, idx: int) -> dict:
        info = self.video_infos[idx]
        feat = load_feature(os.path.join(self.data_prefix, info['video_name']))
        if self.temporal_scale:
            feat = rescale_feature(feat, self.temporal_scale)
        meta = {k: v for k, v in info.items() if k != 'annotations'}
        return dict(raw_feature=torch.from_numpy(np.ascontiguousarray(feat.T)),
                    gt_bbox=torch.from_numpy(self.gt_bbox(info)), img_meta=meta)

    # ----- evaluation (mmaction.evaluation.temporal.evaluate_localization reads these) -------------------------
    def ground_truth(self) -> dict[str, np.ndarray]:
        """``{video: (G, 2) segments in seconds}``."""
        return {info['video_name']: np.array([a['segment'] for a in info['annotations']],
                                             dtype=np.float64).reshape(-1, 2) for info in self.video_infos}

    @staticmethod
    def dump_results(results: Sequence[dict], out: str, label: str | None = None) -> None:
        """Write ``{"results": {video: [{label?, score, segment}]}}`` atomically (ActivityNet JSON format).

        ``video`` drops the ``v_`` prefix as the ActivityNet result format does; proposals get ``label`` when
        one is given (class-agnostic proposals have none).
        """
        body = {}
        for r in results:
            name = r['video_name'][2:] if r['video_name'].startswith('v_') else r['video_name']
            body[name] = [dict(({'label': label} if label else {}), score=float(p['score']),
                               segment=[float(p['segment'][0]), float(p['segment'][1])]) for p in r['proposal_list']]
        with atomic_open(out, 'w') as f:
            json.dump({'version': 'mmaction', 'results': body, 'external_data': {}}, f)
