"""Real-time recognition from a camera or a stream: keeps the last ``--window`` frames, re-predicts every
``--stride`` frames, and shows (or writes) the frames with the current top-k drawn on them.

    python demo/webcam_demo.py CONFIG CHECKPOINT LABEL_MAP [--camera 0 | --camera rtsp://host/stream]
        [--window 32] [--stride 8] [--device cpu] [--out-file record.mp4] [--no-show] [--max-frames N]

Press q or Esc in the window to quit. Not exercised in CI (needs a camera); the same in-memory inference path
is tested through ``inference_recognizer_frames``.
"""
from __future__ import annotations

import argparse
import collections
import time


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='MMAction webcam / stream demo')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('label_map')
    parser.add_argument('--camera', default='0', help='camera index or stream URL / file')
    parser.add_argument('--window', type=int, default=32, help='frames per prediction')
    parser.add_argument('--stride', type=int, default=8, help='predict every N frames')
    parser.add_argument('--topk', type=int, default=3)
    parser.add_argument('--threshold', type=float, default=0.0, help='hide predictions below this score')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--out-file', default=None, help='also record the annotated stream (.mp4)')
    parser.add_argument('--no-show', action='store_true', help='do not open a display window')
    parser.add_argument('--max-frames', type=int, default=0, help='stop after N frames (0: until the stream ends)')
    parser.add_argument('--trust-checkpoint', action='store_true')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    import cv2
    import numpy as np

    from mmaction.apis.inference import (VideoClipRunner, _ArrayReader, class_names, init_recognizer,
                                         topk_labels)
    from mmaction.utils.visualization import draw_text_lines, write_video
    model = init_recognizer(args.config, args.checkpoint, device=args.device, trust_checkpoint=args.trust_checkpoint)
    source = int(args.camera) if args.camera.isdigit() else args.camera
    cap = cv2.VideoCapture(source)
    if not cap.isOpened():
        raise RuntimeError(f'cannot open camera/stream {args.camera!r}')
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    buffer: collections.deque = collections.deque(maxlen=args.window)
    lines: list[str] = ['collecting frames...']
    recorded = []
    names = None
    count = 0
    with VideoClipRunner(model) as runner:
        try:
            while True:
                ok, bgr = cap.read()
                if not ok:
                    break
                rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                buffer.append(rgb)
                count += 1
                if len(buffer) == args.window and count % args.stride == 0:
                    tick = time.time()
                    probs = runner.predict([_ArrayReader(np.stack(buffer), fps)])[0]
                    names = names or class_names(model, args.label_map, probs.shape[0])
                    top = [(n, s) for n, s in topk_labels(probs, names, args.topk) if s >= args.threshold]
                    lines = [f'{n}: {s:.2f}' for n, s in top] or ['(no confident action)']
                    lines.append(f'{1000 * (time.time() - tick):.0f} ms/prediction')
                shown = draw_text_lines(rgb, lines)
                if args.out_file:
                    recorded.append(shown)
                if not args.no_show:
                    cv2.imshow('mmaction webcam demo', cv2.cvtColor(shown, cv2.COLOR_RGB2BGR))
                    if cv2.waitKey(1) & 0xFF in (ord('q'), 27):
                        break
                if args.max_frames and count >= args.max_frames:
                    break
        finally:
            cap.release()
            if not args.no_show:
                cv2.destroyAllWindows()
    if args.out_file and recorded:
        write_video(recorded, args.out_file, fps)
        print(f'wrote {args.out_file} ({len(recorded)} frames)')


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
