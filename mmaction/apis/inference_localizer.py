"""Temporal localization from Python: features (or a raw video) -> timestamped segments.

    from mmaction.apis.inference import init_recognizer
    from mmaction.apis.inference_localizer import init_localizer, inference_localizer, detect_actions
    loc = init_localizer('configs/localization/bmn/bmn_toy_feature.py', 'work_dirs/bmn_toy/latest.pth')
    inference_localizer(loc, 'feats/video.npy')     # uses the sidecar feats/video.json for timing
    # -> [{'start_s': 3.1, 'end_s': 7.9, 'score': 0.82}, ...]   best first
    rec = init_recognizer('configs/TSN/toy/tsn_r18_toy.py', 'work_dirs/tsn_r18_toy/latest.pth')
    detect_actions(rec, loc, 'long.mp4', window=4, stride=4, label_map='data/toy/label_map.txt')
    # -> [{'start_s', 'end_s', 'score', 'label', 'label_score'}, ...]

Timing: the localizer works on the feature sequence rescaled to its ``temporal_dim`` steps and returns segments
as fractions ``x`` of that sequence. Feature ``t`` is centred at frame ``t * stride + window / 2``, so the
sequence spans frames ``[(window - stride) / 2, T * stride + (window - stride) / 2]`` and ``x`` maps to
``((window - stride) / 2 + x * T * stride) / fps`` seconds, clipped to ``[0, num_frames / fps]``.

Labels: the proposal generators (BMN/BSN) are class-agnostic; :func:`detect_actions` labels each segment
with the recognizer's own classifier applied to the mean backbone feature of the windows centred inside it.
The one-stage detectors (ActionFormer, TriDet) classify segments themselves; their labels are kept.
"""
from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn as nn

from mmaction.utils.io import read_json_object


def init_localizer(config: Any, checkpoint: str | None = None, device: str | torch.device = 'cpu',
                   trust_checkpoint: bool = False, strict: bool = True) -> nn.Module:
    """Build the localizer of ``config`` (path or ``Config``), load ``checkpoint`` (strictly unless ``strict=False``),
    eval mode on ``device`` (:func:`mmaction.apis.model_loading.load_model`)."""
    from mmaction.apis.model_loading import load_model
    return load_model(config, checkpoint, device, strict=strict, trust_checkpoint=trust_checkpoint, kind='localizer')


def localizer_feat_dim(model: nn.Module) -> int | None:
    """Input channels the localizer expects (its first ``Conv1d``), ``None`` if it has none."""
    conv = next((m for m in model.modules() if isinstance(m, nn.Conv1d)), None)
    return conv.in_channels if conv is not None else None


def load_features(features: str | np.ndarray) -> tuple[np.ndarray, dict | None]:
    """``(T, C)`` features and their sidecar info (``None`` when there is none).

    ``features``: an array, or a ``.npy``/``.csv`` path (or the path without extension) written by
    ``tools/extract_features.py`` — its ``<stem>.json`` sidecar gives the timing.
    """
    from mmaction.datasets.activitynet_dataset import load_feature
    if not isinstance(features, (str, os.PathLike)):
        feats = np.asarray(features, dtype=np.float32)
        if feats.ndim != 2 or feats.shape[0] < 1:
            raise ValueError(f'features must be (T, C) with T >= 1, got shape {feats.shape}')
        return feats, None
    base = os.fspath(features)
    if base.endswith(('.npy', '.csv')):
        base = base[:-4]
    feats = load_feature(base)
    info = None
    if os.path.isfile(base + '.json'):
        info = read_json_object(base + '.json', 'feature info file')
    return feats, info


def segment_times(norm: np.ndarray, info: dict | None, num_steps: int, duration: float | None) -> np.ndarray:
    """Normalised segments ``(P, 2)`` -> seconds (see module doc); without ``info``, ``x * duration``."""
    norm = np.asarray(norm, dtype=np.float64).reshape(-1, 2).clip(0.0, 1.0)
    if info is None:
        if duration is None:
            raise ValueError('features without a sidecar JSON need duration= (seconds the features span)')
        return norm * float(duration)
    fps, stride, window = float(info['fps']), float(info['stride']), float(info['window'])
    if num_steps == 1 or info['num_frames'] <= window:  # one window over the whole (short) video
        span, offset = float(info['num_frames']), 0.0
    else:
        span, offset = num_steps * stride, (window - stride) / 2.0
    seconds = (offset + norm * span) / fps
    return seconds.clip(0.0, float(info['num_frames']) / fps)


@torch.no_grad()
def localize_normalised(model: nn.Module, feats: np.ndarray, video_name: str = 'video') -> list[dict]:
    """Run the localizer on ``(T, C)`` features; ``[{'score', 'segment': [x0, x1]}]`` in fractions of the sequence."""
    from mmaction.apis.inference import run_samples
    from mmaction.apis.localization import feature_localizer_step
    from mmaction.datasets.activitynet_dataset import rescale_feature
    expect = localizer_feat_dim(model)
    if expect is not None and feats.shape[1] != expect:
        raise ValueError(f'the features have {feats.shape[1]} channels but the localizer expects {expect} '
                         f"(model.feat_dim of its config); extract them with a matching recognizer")
    tscale = getattr(model, 'tscale', None)
    if tscale:
        feats = rescale_feature(feats, tscale)
    sample = dict(raw_feature=torch.from_numpy(np.ascontiguousarray(feats.T)),
                  # duration_second=1 keeps the localizer's segments normalised; timing is applied by segment_times.
                  img_meta=dict(video_name=video_name, duration_second=1.0))
    out = run_samples(model, [sample], step=feature_localizer_step)
    return out[0]['proposal_list']


def inference_localizer(model: nn.Module, features: str | np.ndarray, info: dict | None = None,
                        duration: float | None = None, top_k: int | None = None) -> list[dict]:
    """Timestamped segments ``[{'start_s', 'end_s', 'score'}]`` sorted by score (best first).

    ``features``: ``(T, C)`` array or a feature file (its sidecar JSON, if any, is used unless ``info`` is given);
    ``duration``: seconds the features span, needed only without sidecar/``info``.
    """
    feats, side = load_features(features)
    info = info if info is not None else side
    proposals = localize_normalised(model, feats)
    if not proposals:
        return []
    times = segment_times(np.array([p['segment'] for p in proposals]), info, feats.shape[0], duration)
    # One-stage detectors (ActionFormer, TriDet) label their segments; their score is the class score.
    segments = [dict(start_s=float(s), end_s=float(e), score=float(p['score']),
                     **({'label': p['label'], 'label_score': float(p['score'])} if 'label' in p else {}))
                for (s, e), p in zip(times, proposals) if e > s]
    segments.sort(key=lambda d: -d['score'])
    return segments[:top_k] if top_k else segments


def window_centres(info: dict) -> np.ndarray:
    """Time (s) at the centre of each feature window."""
    t = np.arange(int(info['num_windows']))
    end = np.minimum(t * info['stride'] + info['window'], info['num_frames'])
    return (t * info['stride'] + end) / 2.0 / float(info['fps'])


@torch.no_grad()
def label_segments(recognizer: nn.Module, feats: np.ndarray, info: dict, segments: list[dict],
                   names: Sequence[Any]) -> list[dict]:
    """Add ``label``/``label_score``: the recognizer's ``fc_cls`` on the mean feature of the windows centred
    inside each segment (the nearest window when none is), softmaxed."""
    fc = getattr(getattr(recognizer, 'cls_head', None), 'fc_cls', None)
    if fc is None or fc.in_features != feats.shape[1]:
        raise ValueError(f'labelling needs the recognizer cls_head.fc_cls over {feats.shape[1]}-d features')
    centres = window_centres(info)
    device = fc.weight.device
    out = []
    for seg in segments:
        inside = np.nonzero((centres >= seg['start_s']) & (centres <= seg['end_s']))[0]
        if inside.size == 0:
            inside = np.array([int(np.argmin(np.abs(centres - (seg['start_s'] + seg['end_s']) / 2)))])
        mean = torch.from_numpy(feats[inside].mean(axis=0, keepdims=True)).to(device)
        probs = torch.softmax(fc(mean), dim=1)[0].cpu().numpy()
        k = int(np.argmax(probs))
        out.append(dict(seg, label=names[k], label_score=float(probs[k])))
    return out


def detect_actions(recognizer: nn.Module, localizer: nn.Module, video: str, window: int, stride: int,
                   fps: float | None = None, label_map: str | Sequence[str] | None = None, top_k: int | None = 100,
                   batch_size: int = 8) -> tuple[list[dict], dict]:
    """Raw video -> ``(segments, info)``: backbone features (``extract_video_features``), the localizer,
    timestamps in seconds, and labels when ``label_map`` is given or the recognizer carries ``CLASSES``."""
    from mmaction.apis.feature_extraction import extract_video_features
    from mmaction.apis.inference import class_names
    feats, info = extract_video_features(recognizer, video, window, stride, fps, batch_size=batch_size)
    segments = inference_localizer(localizer, feats, info, top_k=top_k)
    detector_labels = any('label' in seg for seg in segments)
    if not detector_labels and (label_map is not None or getattr(recognizer, 'CLASSES', None)):
        names = class_names(recognizer, label_map, recognizer.cls_head.fc_cls.out_features)
        segments = label_segments(recognizer, feats, info, segments, names)
    return segments, info
