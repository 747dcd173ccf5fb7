"""Sliding-window recognition over a long video: per-window top-k with timestamps (JSON and/or CSV) and an
optional annotated video where every frame shows the prediction of the window centred nearest to it.

    python demo/long_video_demo.py CONFIG CHECKPOINT VIDEO LABEL_MAP --window 32 --stride 16 \
        [--out-json windows.json] [--out-csv windows.csv] [--out-file annotated.mp4] [--threshold 0.0]

Each window is fed to the config's test pipeline as if it were a whole video (so a TSN config samples its
segments inside the window). Windows whose best score is below ``--threshold`` are labelled ``background``
in the annotated video (they are still written to JSON/CSV).
"""
from __future__ import annotations

import argparse
import csv
import io
import json


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Sliding-window recognition over a long video')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('video', help='video file')
    parser.add_argument('label_map', help='class names, one per line (or classInd.txt)')
    parser.add_argument('--window', type=int, default=32, help='window length in frames')
    parser.add_argument('--stride', type=int, default=16, help='frames between window starts')
    parser.add_argument('--topk', type=int, default=3)
    parser.add_argument('--batch-size', type=int, default=4, help='windows per forward pass')
    parser.add_argument('--threshold', type=float, default=0.0, help='below this top-1 score: "background"')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--out-json', default=None)
    parser.add_argument('--out-csv', default=None)
    parser.add_argument('--out-file', default=None, help='annotated video (.mp4/.gif)')
    parser.add_argument('--trust-checkpoint', action='store_true')
    return parser.parse_args(argv)


def window_records(windows: list[dict]) -> list[dict]:
    """JSON-ready records (no numpy arrays)."""
    return [dict(start_frame=w['start_frame'], end_frame=w['end_frame'], start_time=round(w['start_time'], 3),
                 end_time=round(w['end_time'], 3),
                 topk=[dict(label=str(label), score=round(score, 6)) for label, score in w['topk']])
            for w in windows]


def frame_labels(num_frames: int, windows: list[dict], threshold: float) -> list[list[str]]:
    """Text lines for each frame: the top-k of the window whose centre is nearest to the frame."""
    centres = [(w['start_frame'] + w['end_frame'] - 1) / 2.0 for w in windows]
    lines, j = [], 0
    for t in range(num_frames):
        while j + 1 < len(windows) and abs(centres[j + 1] - t) <= abs(centres[j] - t):
            j += 1
        w = windows[j]
        stamp = f"{w['start_time']:.1f}-{w['end_time']:.1f}s"
        if w['topk'][0][1] < threshold:
            lines.append([stamp, 'background'])
        else:
            lines.append([stamp] + [f'{label}: {score:.2f}' for label, score in w['topk']])
    return lines


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse_args(argv)
    from mmaction.apis.inference import inference_recognizer_windows, init_recognizer
    from mmaction.utils.io import atomic_open
    from mmaction.utils.visualization import draw_text_lines, read_video, write_video
    model = init_recognizer(args.config, args.checkpoint, device=args.device, trust_checkpoint=args.trust_checkpoint)
    windows = list(inference_recognizer_windows(model, args.video, args.window, args.stride, args.topk,
                                                args.label_map, batch_size=args.batch_size))
    records = window_records(windows)
    for r in records:
        best = r['topk'][0]
        print(f"[{r['start_time']:8.2f}s - {r['end_time']:8.2f}s] frames {r['start_frame']:>6}-{r['end_frame']:<6} "
              f"{best['label']}: {best['score']:.3f}")
    if args.out_json:
        with atomic_open(args.out_json, 'w') as f:
            json.dump(dict(video=args.video, window=args.window, stride=args.stride, windows=records), f, indent=1)
        print(f'wrote {args.out_json}')
    if args.out_csv:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(['start_frame', 'end_frame', 'start_time', 'end_time']
                        + [f'{kind}{i + 1}' for i in range(args.topk) for kind in ('label', 'score')])
        for r in records:
            writer.writerow([r['start_frame'], r['end_frame'], r['start_time'], r['end_time']]
                            + [v for item in r['topk'] for v in (item['label'], item['score'])])
        with atomic_open(args.out_csv, 'w') as f:
            f.write(buf.getvalue())
        print(f'wrote {args.out_csv}')
    if args.out_file:
        frames, fps = read_video(args.video)
        lines = frame_labels(len(frames), windows, args.threshold)
        count = write_video((draw_text_lines(f, text) for f, text in zip(frames, lines)), args.out_file, fps)
        print(f'wrote {args.out_file} ({count} frames)')
    return records


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
