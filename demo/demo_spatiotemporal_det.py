"""Spatio-temporal action detection demo: run an AVA FastRCNN on key-frames of a video and draw each person box
with its top actions on every frame of the output video.

    python demo/demo_spatiotemporal_det.py VIDEO --config CFG --checkpoint CKPT --proposals FILE \
        [--label-map PBTXT] [--out-file out.mp4] [--action-score-thr 0.4] [--timestamp-start 0]

Boxes come from ``--proposals``: an AVA proposal pickle ``{"<video_id>,%04d": (n, 4|5) normalised boxes}``
(``video_id`` = the video's file name without extension), or, in the Python API, a ``detector(frame_rgb)``
callback returning ``(n, 4|5)`` pixel boxes (``mmaction.apis.inference_detector``, which this demo uses). Key-frames are one per second (``fps * (ts - timestamp_start)``,
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
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

if TYPE_CHECKING:  # the model side lives in the API (mmaction.apis.inference_detector), imported after parsing
    from mmaction.apis.inference_detector import Detection


def _label(names: Mapping[int, str] | Sequence[Any], column: int) -> Any:
    """Name of score column ``column`` (class ``column + 1``): ``{class_id: name}`` or one name per column."""
    if isinstance(names, Mapping):
        return names.get(column + 1, column + 1)
    return names[column] if column < len(names) else column + 1


def render(frames: Sequence[np.ndarray], detections: list[Detection],
           names: Mapping[int, str] | Sequence[Any], score_thr: float = 0.4, topk: int = 3) -> list[np.ndarray]:
    """Copies of ``frames`` with each key-frame's boxes and top actions held until the next key-frame."""
    import cv2
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
                    text = f'{_label(names, int(j))}: {s[j]:.2f}'
                    y = y1 + int((row + 1) * 12 * max(scale, 0.4))
                    cv2.putText(img, text, (x1 + 2, y), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * max(scale, 0.5),
                                (255, 255, 0), 1, cv2.LINE_AA)
        out.append(img)
    return out


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
    from mmaction.apis.inference_detector import (action_names, detect_keyframes, init_detector, proposals_lookup,
                                                  read_frames)
    from mmaction.utils.visualization import write_video
    model = init_detector(args.config, args.checkpoint, args.device, args.trust_checkpoint)
    frames, fps = read_frames(args.video)
    h, w = frames[0].shape[:2]
    video_id = os.path.splitext(os.path.basename(args.video))[0]
    dets = detect_keyframes(model, frames, fps, proposals_lookup(args.proposals, video_id, w, h),
                            args.timestamp_start)
    names = action_names(model, args.label_map)
    for center, boxes, scores in dets:
        for box, s in zip(boxes, scores):
            j = int(np.argmax(s))
            print(f'frame {center}: box {np.round(box[:4], 1).tolist()} -> {_label(names, j)} {s[j]:.3f}')
    count = write_video(render(frames, dets, names, args.action_score_thr, args.topk), args.out_file, fps)
    print(f'wrote {args.out_file} ({count} frames, {len(dets)} key-frames)')
    return dets


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
