"""Using a trained spatio-temporal action detector (AVA FastRCNN) from Python.

    from mmaction.apis import init_detector, inference_detector
    model = init_detector('configs/ava/toy/fast_rcnn_i3d_r18_thin_toy_ava.py', 'work_dirs/.../latest.pth')
    inference_detector(model, 'toy_val_0000.mp4', 'toy_ava_proposals_val.pkl', timestamps=[1, 2],
                       label_map='toy_ava_action_list.pbtxt', topk=3)
    # -> [[(array([x1, y1, x2, y2]), [('wave', 0.91), ('walk', 0.12), ('jump', 0.05)]), ...],   # timestamp 1
    #     [...]]                                                                               # timestamp 2

One entry per key-frame, each a list with one ``(box, [(label, score), ...])`` per person box: the box in video
pixels ``(x1, y1, x2, y2)``, the actions best first (sigmoid scores, multi-label: they do not sum to 1), as
``inference_recognizer`` returns ``[(label, probability), ...]``.

Key-frames are whole seconds: timestamp ``ts`` is frame ``round((ts - timestamp_start) * fps)`` (0-based), as in
``AVADataset``; the clip around it follows the config's ``data.test`` (``new_length``, ``new_step``,
``img_scale``, normalisation, ``size_divisor``). Person boxes (proposals) come from

* an AVA proposal pickle path: ``{"<video_id>,%04d": (n, 4|5) normalised boxes}`` (``video_id`` = the video's
  file name without extension, or the frame folder's name);
* a dict ``{timestamp: (n, 4|5) pixel boxes}``;
* a callable ``detector(frame_rgb) -> (n, 4|5) pixel boxes`` run on each key-frame (any person detector).

A fifth column is the person score, filtered by ``test_cfg.person_det_score_thr`` like in testing.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Iterator, Mapping, Sequence

import cv2
import numpy as np
import torch
import torch.nn as nn


BoxesOf = Callable[[int, int], Any]  # (frame_index, timestamp) -> (n, 4|5) pixel boxes or None
Detection = tuple[int, np.ndarray, np.ndarray]  # (frame_index, boxes (n, 4) pixels, scores (n, num_classes - 1))


def init_detector(config: Any, checkpoint: str | None = None, device: str | torch.device = 'cpu',
                  trust_checkpoint: bool = False, strict: bool = True) -> nn.Module:
    """Build the FastRCNN of ``config`` (path or ``Config``), load ``checkpoint``, move it to ``device``, eval mode
    (:func:`mmaction.apis.model_loading.load_model`). The config is kept as ``model.cfg`` for
    :func:`inference_detector`."""
    from mmaction.apis.model_loading import load_model
    return load_model(config, checkpoint, device, strict=strict, trust_checkpoint=trust_checkpoint, kind='detector')


def preprocess(frames: np.ndarray, boxes: np.ndarray, test_cfg: Mapping) -> tuple[torch.Tensor, dict, torch.Tensor]:
    """Clip ``(T, H, W, 3)`` RGB uint8 and pixel ``boxes (n, 4|5)`` -> network input ``(1, 3, T, H', W')``,
    ``img_meta`` and proposals in network pixels, with the test dataset's resize/normalise/pad settings."""
    from mmaction.datasets.ava_dataset import view_item
    from mmaction.datasets.flag_pipeline import translate_dataset_cfg
    from mmaction.datasets.pipelines.compose import Compose
    # The test dataset's own pipeline (its first view: first scale, not flipped), in the 3D layout of the model.
    cfg = translate_dataset_cfg(dict(test_cfg, type='AVADataset', test_mode=True, input_format='NCTHW'))
    t, h, w = frames.shape[:3]
    results = Compose(cfg['pipeline'])(dict(imgs=np.asarray(frames), channel_order='rgb', modality='RGB', clip_len=t,
                                            num_clips=1, img_shape=(h, w), proposals=np.asarray(boxes, np.float32)))
    view = results['views'][0] if 'views' in results else results
    tensor, meta = view_item(view, (h, w))
    return tensor, meta, torch.from_numpy(view['proposals'])


@torch.no_grad()
def detect_keyframe(model: nn.Module, frames: np.ndarray, center: int, boxes: np.ndarray) -> tuple[np.ndarray,
                                                                                                 np.ndarray]:
    """Score ``boxes (n, 4|5)`` (pixels) on the key-frame ``frames[center]`` of ``frames (T, H, W, 3)``.

    Returns the kept boxes ``(m, 4)`` in video pixels and their action scores ``(m, num_classes - 1)``
    (sigmoid; column ``j`` is the model's class ``j + 1``); ``m < n`` when the person-score filter drops some.
    """
    from mmaction.models.detectors.bbox.transforms import bbox2roi
    test_cfg = dict(model.cfg.data.test)
    length, step = int(test_cfg.get('new_length', 1)), int(test_cfg.get('new_step', 1))
    thr = (model.cfg.get('test_cfg') or {}).get('person_det_score_thr')
    # The clip the dataset samples around a key-frame, clamped to the video (short videos repeat edge frames).
    idx = np.clip(center + (np.arange(length) - length // 2) * step, 0, len(frames) - 1)
    img, meta, props = preprocess(frames[idx], np.asarray(boxes), test_cfg)
    device = next(model.parameters()).device
    props = model.filter_proposals(props.to(device), thr)
    x = model.extract_feat(img.to(device))
    rois = bbox2roi([props])
    pix, scores = model.bbox_head.get_det_bboxes(rois, model.roi_scores(x, rois), meta, True, cfg=None)
    return pix[:, :4].cpu().numpy(), scores[:, 1:].cpu().numpy()


def detect_keyframes(model: nn.Module, frames: Sequence[np.ndarray], fps: float, boxes_of: BoxesOf,
                     timestamp_start: int = 0, timestamps: Sequence[int] | None = None) -> list[Detection]:
    """Run ``model`` on key-frames of ``frames`` (every whole second, or the given ``timestamps``).

    ``boxes_of(frame_index, timestamp)`` gives the key-frame's ``(n, 4|5)`` pixel boxes (None or empty: skipped).
    Returns ``[(frame_index, boxes (n, 4) pixels, scores (n, num_classes - 1))]`` for the key-frames with boxes.
    """
    return [(center,) + found for center, found in _run_keyframes(model, np.asarray(frames), fps, boxes_of,
                                                                   timestamp_start, timestamps) if found]


def _run_keyframes(model: nn.Module, frames: np.ndarray, fps: float, boxes_of: BoxesOf, timestamp_start: int,
                   timestamps: Sequence[int] | None) -> Iterator[tuple[int, tuple[np.ndarray, np.ndarray] | None]]:
    """``(frame_index, (boxes, scores) or None)`` per key-frame; None when ``boxes_of`` gives no boxes."""
    for ts in _timestamps(len(frames), fps, timestamp_start, timestamps):
        center = keyframe_index(ts, fps, timestamp_start, len(frames))
        boxes = boxes_of(center, ts)
        if boxes is None or len(boxes) == 0:
            yield center, None
        else:
            yield center, detect_keyframe(model, frames, center, np.asarray(boxes, np.float32))


def keyframe_index(timestamp: int, fps: float, timestamp_start: int, num_frames: int) -> int:
    """0-based frame of key-frame ``timestamp``; a ValueError names it when it lies outside the video."""
    center = int(round((timestamp - timestamp_start) * fps))
    if not 0 <= center < num_frames:
        raise ValueError(f'key-frame timestamp {timestamp} is frame {center}, outside the video\'s {num_frames} '
                         f'frames (fps {fps:g}, timestamp_start {timestamp_start})')
    return center


def _timestamps(num_frames: int, fps: float, timestamp_start: int, timestamps: Sequence[int] | None) -> list[int]:
    if timestamps is not None:
        return [int(t) for t in timestamps]
    return [timestamp_start + s for s in range(int(np.ceil(num_frames / fps)) + 1) if round(s * fps) < num_frames]


def proposals_lookup(path: str, video_id: str, width: int, height: int) -> BoxesOf:
    """``boxes_of`` for :func:`detect_keyframes` from an AVA proposal pickle (normalised -> pixel boxes)."""
    from mmaction.evaluation.ava import make_image_key
    from mmaction.utils.io import load_pickle
    table = load_pickle(path)
    if not isinstance(table, dict):
        raise ValueError(f'{path}: expected a dict "video_id,timestamp" -> (n, 4|5) array')
    if not any(str(k).startswith(video_id + ',') for k in table):
        raise KeyError(f'{path}: no proposals for video id {video_id!r} (keys look like {next(iter(table), "")!r})')

    def boxes_of(_frame: int, ts: int) -> Any:
        props = table.get(make_image_key(video_id, ts))
        if props is None:
            return None
        props = np.asarray(props, np.float32).copy()
        props[:, :4] *= np.array([width, height, width, height], np.float32)
        return props
    return boxes_of


def detector_lookup(detector: Callable[[np.ndarray], Any], frames: Sequence[np.ndarray]) -> BoxesOf:
    """``boxes_of`` from a user detector ``detector(frame_rgb) -> (n, 4|5)`` pixel boxes."""
    return lambda frame, _ts: detector(frames[frame])


def _dict_lookup(table: Mapping[Any, Any]) -> BoxesOf:
    boxes = {int(k): v for k, v in table.items()}
    return lambda _frame, ts: boxes.get(int(ts))


def read_frames(source: str, fps: float | None = None, image_tmpl: str | None = None) -> tuple[np.ndarray, float]:
    """RGB frames ``(T, H, W, 3)`` and frame rate of a video file or a frame folder (folders: ``fps`` or 30,
    AVA's rawframe rate)."""
    from mmaction.apis.inference import _count_frames, _frame_template
    from mmaction.utils.visualization import read_video
    if os.path.isdir(source):
        tmpl = _frame_template(source, image_tmpl)
        frames = []
        for i in range(1, _count_frames(source, tmpl) + 1):
            path = os.path.join(source, tmpl.format(i))
            img = cv2.imread(path, cv2.IMREAD_COLOR)
            if img is None:
                raise ValueError(f'{path}: not a readable image')
            frames.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
        rate = float(fps or 30.0)
    elif os.path.isfile(source):
        frames, rate = read_video(source)
        rate = float(fps or rate)
    else:
        raise FileNotFoundError(f'input not found: {source} (expected a video file or a frame folder)')
    if not frames:
        raise ValueError(f'{source}: no frames decoded')
    return np.stack(frames), rate


def action_names(model: nn.Module, label_map: str | Mapping[int, str] | Sequence[str] | None) -> list[Any]:
    """Label of each score column (the model's classes ``1 .. num_classes - 1``).

    ``label_map``: an AVA pbtxt path or ``{action_id: name}`` (ids are those of the annotation files, mapped
    through ``data.test.custom_classes`` when set), or a list with one name per column; default
    ``data.test.label_file`` when it exists, else the action ids.
    """
    from mmaction.datasets.ava_dataset import label_names
    num = model.bbox_head.num_classes - 1
    test_cfg = model.cfg.data.test if 'data' in model.cfg and 'test' in model.cfg.data else {}
    custom = test_cfg.get('custom_classes')
    ids = [int(c) for c in custom] if custom else list(range(1, num + 1))
    if len(ids) != num:
        raise ValueError(f'data.test.custom_classes has {len(ids)} classes but the model predicts {num} actions')
    if label_map is None:
        default = test_cfg.get('label_file')
        label_map = default if default and os.path.isfile(default) else None
    if label_map is None:
        return ids
    if isinstance(label_map, (str, os.PathLike)):
        label_map = label_names(os.fspath(label_map))
    if isinstance(label_map, Mapping):
        return [label_map.get(i, i) for i in ids]
    names = list(label_map)
    if len(names) != num:
        raise ValueError(f'label_map lists {len(names)} names but the model predicts {num} actions')
    return names


def inference_detector(model: nn.Module, video: str, proposals: str | Mapping[int, Any] | Callable,
                       timestamps: Sequence[int] | None = None, label_map: Any = None, topk: int = 5,
                       score_thr: float = 0.0, fps: float | None = None, timestamp_start: int = 0,
                       return_scores: bool = False) -> Any:
    """Detect people's actions at the key-frames of ``video`` (a video file or a frame folder).

    Returns one list per key-frame (those of ``timestamps``, default every whole second of the video), each
    ``[(box_xyxy_pixels (4,), [(label, score), ...]), ...]`` with at most ``topk`` actions scoring at least
    ``score_thr``, best first; a key-frame without boxes gives ``[]``. With ``return_scores=True`` returns
    ``(results, detections)``, ``detections`` being :func:`detect_keyframes`'s ``(frame, boxes, scores)``.
    """
    if getattr(model, 'cfg', None) is None:
        raise ValueError('model has no .cfg: build it with init_detector(config, checkpoint, device)')
    frames, rate = read_frames(video, fps, model.cfg.data.test.get('image_tmpl'))
    h, w = frames.shape[1:3]
    if isinstance(proposals, (str, os.PathLike)):
        video_id = os.path.splitext(os.path.basename(os.path.normpath(video)))[0]
        boxes_of = proposals_lookup(os.fspath(proposals), video_id, w, h)
    elif isinstance(proposals, Mapping):
        boxes_of = _dict_lookup(proposals)
    elif callable(proposals):
        boxes_of = detector_lookup(proposals, frames)
    else:
        raise TypeError(f'proposals must be a proposal pickle path, a {{timestamp: boxes}} dict or a detector '
                        f'callable, got {type(proposals).__name__}')
    names = action_names(model, label_map)
    results, detections = [], []
    for center, found in _run_keyframes(model, frames, rate, boxes_of, timestamp_start, timestamps):
        if found is None:
            results.append([])
            continue
        pix, scores = found
        detections.append((center, pix, scores))
        per_box = []
        for box, s in zip(pix, scores):
            order = np.argsort(-s, kind='stable')[:max(0, topk)]
            per_box.append((box.astype(np.float32), [(names[j], float(s[j])) for j in order if s[j] >= score_thr]))
        results.append(per_box)
    return (results, detections) if return_scores else results
