"""Raw untrimmed video -> timestamped action segments: recognizer-backbone features + a temporal localizer.

    python demo/long_video_detection.py VIDEO \
        --recognizer-config configs/TSN/toy/tsn_r18_toy.py --recognizer-ckpt work_dirs/tsn_r18_toy/latest.pth \
        --localizer-config configs/localization/bmn/bmn_toy_feature.py --localizer-ckpt work_dirs/bmn_toy/latest.pth \
        [--clip-len 16 --stride 16 --fps 8] [--label-map data/toy/label_map.txt] [--top-k 10] \
        [--out-json detections.json] [--out-csv detections.csv]

Prints one line per segment (``start_s end_s score [label label_score]``, best score first). The JSON holds
``{"video", "feature_info": {fps, stride, window, ...}, "segments": [...]}``; the CSV one row per segment.
Labels come from the recognizer's classifier on the segment's mean feature (see
``mmaction/apis/inference_localizer.py``); without ``--label-map`` segments are class-agnostic proposals.
One-stage detectors (``--localizer-config configs/localization/actionformer/...`` or ``tridet/...``, trained on
features of the same recognizer) label the segments themselves: the detector's classes and class scores.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Temporal action detection on a raw untrimmed video')
    p.add_argument('video')
    p.add_argument('--recognizer-config', required=True, help='feature extractor (TSN2D/TSN3D) config')
    p.add_argument('--recognizer-ckpt', default=None, help='feature extractor checkpoint')
    p.add_argument('--localizer-config', required=True, help='BMN/BSN/ActionFormer/TriDet config')
    p.add_argument('--localizer-ckpt', default=None, help='localizer checkpoint')
    p.add_argument('--label-map', default=None, help='class names of the recognizer, one per line')
    p.add_argument('--clip-len', type=int, default=16, help='feature window in frames')
    p.add_argument('--stride', type=int, default=16, help='frames between feature windows')
    p.add_argument('--fps', type=float, default=None, help='resample the video to this frame rate first')
    p.add_argument('--top-k', type=int, default=10, help='segments kept (best scores)')
    p.add_argument('--batch-size', type=int, default=8)
    p.add_argument('--device', default='cpu')
    p.add_argument('--out-json', default=None)
    p.add_argument('--out-csv', default=None)
    p.add_argument('--trust-checkpoint', action='store_true')
    return p.parse_args(argv)


CSV_FIELDS = ['start_s', 'end_s', 'score', 'label', 'label_score']


def segments_csv(segments: list[dict]) -> str:
    fields = [k for k in CSV_FIELDS if not segments or k in segments[0]]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator='\n')
    writer.writeheader()
    for seg in segments:
        writer.writerow({k: (f'{seg[k]:.3f}' if k.endswith('_s') else f'{seg[k]:.6f}' if 'score' in k else seg[k])
                         for k in fields})
    return buf.getvalue()


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse_args(argv)
    from mmaction.apis.inference import init_recognizer
    from mmaction.apis.inference_localizer import detect_actions, init_localizer
    from mmaction.utils.io import atomic_open
    recognizer = init_recognizer(args.recognizer_config, args.recognizer_ckpt, device=args.device,
                                 trust_checkpoint=args.trust_checkpoint)
    localizer = init_localizer(args.localizer_config, args.localizer_ckpt, device=args.device,
                               trust_checkpoint=args.trust_checkpoint)
    segments, info = detect_actions(recognizer, localizer, args.video, args.clip_len, args.stride, args.fps,
                                    args.label_map, args.top_k, args.batch_size)
    print(f'{args.video}: {info["num_frames"]} frames at {info["fps"]:g} fps -> {info["num_windows"]} feature '
          f'windows -> {len(segments)} segments')
    for seg in segments:
        label = f"  {seg['label']} ({seg['label_score']:.3f})" if 'label' in seg else ''
        print(f"{seg['start_s']:8.2f}s - {seg['end_s']:8.2f}s  score {seg['score']:.4f}{label}")
    if args.out_json:
        with atomic_open(args.out_json, 'w') as f:
            json.dump(dict(video=os.path.abspath(args.video), feature_info=info, segments=segments), f, indent=1)
    if args.out_csv:
        with atomic_open(args.out_csv, 'w') as f:
            f.write(segments_csv(segments))
    return segments


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
