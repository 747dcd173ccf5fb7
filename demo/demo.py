"""Recognise the action in one video (or frame folder); print the top-k and optionally write the video
with the predictions drawn on every frame.

    python demo/demo.py CONFIG CHECKPOINT VIDEO LABEL_MAP [--out-file out.mp4|out.gif] [--device cpu|cuda]

Example with the toy model:
    python demo/demo.py configs/TSN/toy/tsn_toy_rgb_r18.py work_dirs/tsn_toy/latest.pth \
        ../shared/data/mmaction2_samples/demo/demo.mp4 data/toy/label_map.txt --out-file demo_out.mp4
"""
from __future__ import annotations

import argparse
import os


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='MMAction video demo')
    parser.add_argument('config', help='test config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('video', help='video file or frame folder')
    parser.add_argument('label_map', help='class names, one per line (or classInd.txt), or a shipped map: kinetics400, '
                        'kinetics600, kinetics700, sthv2, ucf101, hmdb51')
    parser.add_argument('--device', default='cpu', help="'cpu', 'cuda' or 'cuda:N'")
    parser.add_argument('--topk', type=int, default=5, help='how many classes to print')
    parser.add_argument('--out-file', default=None, help='write the annotated video (.mp4/.avi/.gif)')
    parser.add_argument('--draw-topk', type=int, default=3, help='how many classes to draw on the frames')
    parser.add_argument('--fps', type=float, default=None, help='output frame rate (default: the input\'s)')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='allow arbitrary pickled objects in the checkpoint (only for files you trust)')
    return parser.parse_args(argv)


def frames_of(source: str) -> tuple[list, float]:
    """All RGB frames of a video file or a frame folder, with the frame rate (25 for folders)."""
    import cv2

    from mmaction.utils.visualization import read_video
    if os.path.isdir(source):
        names = sorted(n for n in os.listdir(source) if n.lower().endswith(('.jpg', '.jpeg', '.png')))
        if not names:
            raise FileNotFoundError(f'{source}: no .jpg/.png frames')
        return [cv2.cvtColor(cv2.imread(os.path.join(source, n)), cv2.COLOR_BGR2RGB) for n in names], 25.0
    return read_video(source)


def main(argv: list[str] | None = None) -> list:
    args = parse_args(argv)
    from mmaction.apis.inference import inference_recognizer, init_recognizer
    from mmaction.utils.visualization import draw_text_lines, format_predictions, write_video
    model = init_recognizer(args.config, args.checkpoint, device=args.device, trust_checkpoint=args.trust_checkpoint)
    results = inference_recognizer(model, args.video, topk=max(args.topk, args.draw_topk), label_map=args.label_map)
    print(f'The top-{min(args.topk, len(results))} labels with corresponding scores are:')
    for label, score in results[:args.topk]:
        print(f'{label}: {score:.4f}')
    if args.out_file:
        frames, fps = frames_of(args.video)
        lines = format_predictions(results, args.draw_topk)
        count = write_video((draw_text_lines(f, lines) for f in frames), args.out_file, args.fps or fps)
        print(f'wrote {args.out_file} ({count} frames)')
    return results[:args.topk]


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
