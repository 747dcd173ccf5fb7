"""Spatio-temporal action detection demo: run an AVA FastRCNN on key-frames of a video and draw each person box
with its top actions on every frame of the output video.

    python demo/demo_spatiotemporal_det.py VIDEO --config CFG --checkpoint CKPT --proposals FILE \
        [--label-map PBTXT] [--out-file out.mp4] [--action-score-thr 0.4] [--timestamp-start 0]

Boxes come from ``--proposals``: an AVA proposal pickle ``{"<video_id>,%04d": (n, 4|5) normalised boxes}``
(``video_id`` = the video's file name without extension), or, in the Python API, a ``detector(frame_rgb)``
callback returning ``(n, 4|5)`` pixel boxes. Key-frames are one per second (``fps * (ts - timestamp_start)``,
0-based) as in ``AVADataset``; the clip around each follows the config's ``data.test`` (``new_length``,
``new_step``, ``img_scale``, normalisation, ``size_divisor``). Nothing is downloaded.

Example with the toy model (data_tools/toy/build_toy_ava.py --mp4, configs/ava/toy):
    python demo/demo_spatiotemporal_det.py data/toy_ava/videos/toy_val_0000.mp4 \
        --config configs/ava/toy/fast_rcnn_i3d_r18_thin_toy_ava.py \
        --checkpoint work_dirs/fast_rcnn_i3d_r18_thin_toy_ava/latest.pth \
        --proposals data/toy_ava/annotations/toy_ava_proposals_val.pkl \
        --label-map data/toy_ava/annotations/toy_ava_action_list.pbtxt --out-file toy_ava_demo.mp4
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Callable, Sequence

import cv2
import numpy as np

Detector = Callable[[np.ndarray], np.ndarray]


def init_detector(config: Any, checkpoint: str | None = None, device: str = 'cpu', trust: bool = False) -> Any:
    """Build the FastRCNN of ``config`` (path or Config), load ``checkpoint``, eval mode on ``device``."""
    import copy

    import torch

    from mmaction.models import build_detector
    from mmaction.utils.checkpoint import load_checkpoint
    from mmaction.utils.config import load_config
    cfg = load_config(config) if isinstance(config, (str, os.PathLike)) else copy.deepcopy(config)
    if checkpoint is not None:
        # The checkpoint overrides the backbone/head init: never fetch ``pretrained`` weights.
        for part in ('backbone', 'shared_head'):
            if isinstance(cfg.model.get(part), dict) and cfg.model[part].get('pretrained') is not None:
                cfg.model[part]['pretrained'] = None
    model = build_detector(cfg.model, train_cfg=None, test_cfg=cfg.get('test_cfg'))
    if checkpoint is not None:
        load_checkpoint(model, checkpoint, map_location='cpu', strict=False, trust=trust)
    model.cfg = cfg
    return model.to(torch.device(device)).eval()


def preprocess(frames: np.ndarray, boxes: np.ndarray, test_cfg: dict) -> tuple[Any, dict, Any]:
    """Clip ``(T, H, W, 3)`` RGB uint8 and pixel ``boxes (n, 4|5)`` -> network input ``(1, 3, T, H', W')``,
    ``img_meta`` and proposals in network pixels, with the test dataset's resize/normalise/pad settings."""
    import torch

    from mmaction.datasets.ava_dataset import _rescale_size
    t, h, w = frames.shape[:3]
    scale = test_cfg.get('img_scale', (340, 256))
    scale = tuple(scale[0]) if isinstance(scale, list) else tuple(scale)
    nw, nh, fx, fy = _rescale_size(w, h, scale, test_cfg.get('resize_keep_ratio', True))
    norm = test_cfg.get('img_norm_cfg') or {}
    imgs = np.stack([cv2.resize(f, (nw, nh), interpolation=cv2.INTER_LINEAR) for f in frames]).astype(np.float32)
    if not norm.get('to_rgb', True):
        imgs = imgs[..., ::-1]
    if test_cfg.get('div_255', False):
        imgs /= 255.0
    imgs = (imgs - np.asarray(norm.get('mean', [0, 0, 0]), np.float32)) / np.asarray(norm.get('std', [1, 1, 1]),
                                                                                      np.float32)
    div = test_cfg.get('size_divisor')
    ph, pw = (int(np.ceil(nh / div) * div), int(np.ceil(nw / div) * div)) if div else (nh, nw)
    padded = np.zeros((t, ph, pw, 3), np.float32)
    padded[:, :nh, :nw] = imgs
    factor = np.array([fx, fy, fx, fy], np.float32)
    props = np.asarray(boxes, np.float32).copy()
    props[:, :4] *= factor
    meta = dict(ori_shape=(h, w, 3), img_shape=(nh, nw, 3), pad_shape=(ph, pw, 3), scale_factor=factor, flip=False,
                crop_quadruple=np.array([0, 0, nw, nh], np.float32))
    tensor = torch.from_numpy(np.ascontiguousarray(padded.transpose(3, 0, 1, 2)))[None]  # (1, 3, T, H, W)
    return tensor, meta, torch.from_numpy(props)


def detect_keyframes(model: Any, frames: Sequence[np.ndarray], fps: float, boxes_of: Callable[[int, int], Any],
                     timestamp_start: int = 0) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Run ``model`` on every whole-second key-frame of ``frames``.

    ``boxes_of(frame_index, timestamp)`` gives the key-frame's ``(n, 4|5)`` pixel boxes (or None to skip).
    Returns ``[(frame_index, boxes (n, 4) pixels, scores (n, num_classes - 1))]``.
    """
    import torch

    from mmaction.models.detectors.bbox.transforms import bbox2roi
    test_cfg = dict(model.cfg.data.test)
    length, step = int(test_cfg.get('new_length', 1)), int(test_cfg.get('new_step', 1))
    thr = (model.cfg.get('test_cfg') or {}).get('person_det_score_thr')
    device = next(model.parameters()).device
    arr = np.asarray(frames)
    out = []
    for ts in range(0, int(len(arr) / fps) + 1):
        center = int(round(ts * fps))
        if center >= len(arr):
            break
        boxes = boxes_of(center, ts + timestamp_start)
        if boxes is None or len(boxes) == 0:
            continue
        idx = np.clip(center + (np.arange(length) - length // 2) * step, 0, len(arr) - 1)
        img, meta, props = preprocess(arr[idx], np.asarray(boxes), test_cfg)
        with torch.no_grad():
            props = model.filter_proposals(props.to(device), thr)
            x = model.extract_feat(img.to(device))
            rois = bbox2roi([props])
            pix, scores = model.bbox_head.get_det_bboxes(rois, model.roi_scores(x, rois), meta, True, cfg=None)
        out.append((center, pix.cpu().numpy(), scores[:, 1:].cpu().numpy()))
    return out


def render(frames: Sequence[np.ndarray], detections: list[tuple[int, np.ndarray, np.ndarray]],
           names: dict[int, str], score_thr: float = 0.4, topk: int = 3) -> list[np.ndarray]:
    """Copies of ``frames`` with each key-frame's boxes and top actions held until the next key-frame."""
    out = []
    starts = [d[0] for d in detections]
    for i, frame in enumerate(frames):
        img = np.ascontiguousarray(frame).copy()
        k = int(np.searchsorted(starts, i, side='right')) - 1
        if k >= 0:
            _, boxes, scores = detections[k]
            scale = max(img.shape[0], img.shape[1]) / 400.0
            for box, s in zip(boxes, scores):
                x1, y1, x2, y2 = (int(round(v)) for v in box[:4])
                cv2.rectangle(img, (x1, y1), (x2, y2), (0, 255, 0), max(1, int(round(2 * scale))))
                top = [j for j in np.argsort(-s)[:topk] if s[j] >= score_thr]
                for row, j in enumerate(top):
                    text = f'{names.get(int(j) + 1, str(int(j) + 1))}: {s[j]:.2f}'
                    y = y1 + int((row + 1) * 12 * max(scale, 0.4))
                    cv2.putText(img, text, (x1 + 2, y), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * max(scale, 0.5),
                                (255, 255, 0), 1, cv2.LINE_AA)
        out.append(img)
    return out


def proposals_lookup(path: str, video_id: str, width: int, height: int) -> Callable[[int, int], Any]:
    """``boxes_of`` for :func:`detect_keyframes` from an AVA proposal pickle (normalised -> pixel boxes)."""
    from mmaction.evaluation.ava import make_image_key
    from mmaction.utils.io import load_pickle
    table = load_pickle(path)
    if not isinstance(table, dict):
        raise ValueError(f'{path}: expected a dict "video_id,timestamp" -> (n, 4|5) array')
    if not any(k.startswith(video_id + ',') for k in table):
        raise KeyError(f'{path}: no proposals for video id {video_id!r} (keys look like {next(iter(table), "")!r})')

    def boxes_of(_frame: int, ts: int) -> Any:
        props = table.get(make_image_key(video_id, ts))
        if props is None:
            return None
        props = np.asarray(props, np.float32).copy()
        props[:, :4] *= np.array([width, height, width, height], np.float32)
        return props
    return boxes_of


def detector_lookup(detector: Detector, frames: Sequence[np.ndarray]) -> Callable[[int, int], Any]:
    """``boxes_of`` from a user detector ``detector(frame_rgb) -> (n, 4|5)`` pixel boxes."""
    return lambda frame, _ts: detector(frames[frame])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='MMAction spatio-temporal detection demo')
    p.add_argument('video', help='input video file')
    p.add_argument('--config', required=True, help='AVA detector config')
    p.add_argument('--checkpoint', required=True, help='detector checkpoint')
    p.add_argument('--proposals', required=True, help='AVA proposal pickle with this video\'s key-frames')
    p.add_argument('--label-map', default=None, help='label-map pbtxt (default: data.test.label_file)')
    p.add_argument('--out-file', default='demo_spatiotemporal_det.mp4', help='annotated output video')
    p.add_argument('--action-score-thr', type=float, default=0.4, help='draw actions scoring at least this')
    p.add_argument('--topk', type=int, default=3, help='actions drawn per box')
    p.add_argument('--timestamp-start', type=int, default=0, help='timestamp of the first frame (AVA: 900)')
    p.add_argument('--device', default='cpu')
    p.add_argument('--trust-checkpoint', action='store_true', help='allow arbitrary pickled objects')
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> list:
    args = parse_args(argv)
    from mmaction.datasets.ava_dataset import label_names
    from mmaction.utils.visualization import read_video, write_video
    model = init_detector(args.config, args.checkpoint, args.device, args.trust_checkpoint)
    frames, fps = read_video(args.video)
    if not len(frames):
        raise ValueError(f'{args.video}: no frames decoded')
    h, w = frames[0].shape[:2]
    video_id = os.path.splitext(os.path.basename(args.video))[0]
    dets = detect_keyframes(model, frames, fps, proposals_lookup(args.proposals, video_id, w, h),
                            args.timestamp_start)
    label_file = args.label_map or model.cfg.data.test.get('label_file')
    names = label_names(label_file) if label_file else {}
    for center, boxes, scores in dets:
        for box, s in zip(boxes, scores):
            j = int(np.argmax(s))
            print(f'frame {center}: box {np.round(box[:4], 1).tolist()} -> {names.get(j + 1, j + 1)} {s[j]:.3f}')
    count = write_video(render(frames, dets, names, args.action_score_thr, args.topk), args.out_file, fps)
    print(f'wrote {args.out_file} ({count} frames, {len(dets)} key-frames)')
    return dets


if __name__ == '__main__':
    sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))
    main()
