"""Extract sliding-window snippet features of untrimmed videos with a recognizer backbone (TSN2D or TSN3D).

    python tools/extract_features.py CONFIG CHECKPOINT --video-list videos.txt --out-dir feats/ \
        [--video-root DIR] [--clip-len 16] [--stride 16] [--fps 8] [--format npy csv] [--batch-size 8]

``videos.txt``: one video path per line (relative to ``--video-root``; anything after the first space, e.g. a
label, is ignored; ``#`` starts a comment). For every video ``<stem>`` the tool writes under ``--out-dir``:
``<stem>.npy`` and/or ``<stem>.csv`` holding ``(T, C)`` float32 features (T = (N - clip_len) // stride + 1,
see ``mmaction/apis/feature_extraction.py``), and the sidecar ``<stem>.json`` with
``{fps, stride, window, num_frames, feature_frame, feature_dim, config, checkpoint, ...}``. It also writes
``video_info.json``: an ActivityNetDataset annotation file (empty annotations) over the extracted videos, so
``ActivityNetDataset(ann_file=out_dir/video_info.json, data_prefix=out_dir)`` reads the features directly.
"""
from __future__ import annotations

import argparse
import json
import os
import time


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Sliding-window backbone features of untrimmed videos')
    p.add_argument('config', help='recognizer config (its data.test pipeline prepares each window)')
    p.add_argument('checkpoint', help="recognizer checkpoint ('none' for random weights, e.g. smoke tests)")
    p.add_argument('--video-list', required=True, help='text file, one video path per line')
    p.add_argument('--video-root', default='', help='prefix of relative paths in --video-list')
    p.add_argument('--out-dir', required=True)
    p.add_argument('--clip-len', type=int, default=16, help='window length in frames (after --fps resampling)')
    p.add_argument('--stride', type=int, default=16, help='frames between window starts')
    p.add_argument('--fps', type=float, default=None, help='resample videos to this frame rate first')
    p.add_argument('--format', nargs='+', default=['npy'], choices=['npy', 'csv'], help='feature file format(s)')
    p.add_argument('--batch-size', type=int, default=8, help='windows per forward pass')
    p.add_argument('--device', default='cpu')
    p.add_argument('--trust-checkpoint', action='store_true', help='allow pickled objects in the checkpoint')
    return p.parse_args(argv)


def read_video_list(path: str, root: str = '') -> list[str]:
    """Video paths of a list file; a missing video fails naming the list's line."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f'--video-list not found: {path}')
    videos = []
    from mmaction.utils.io import open_text  # a non-UTF-8 list fails naming the file and byte offset
    with open_text(path) as f:
        for line_no, line in enumerate(f, 1):
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            video = os.path.join(root, line.split()[0])
            if not os.path.isfile(video):
                raise FileNotFoundError(f'{path}:{line_no}: video not found: {video}')
            videos.append(video)
    if not videos:
        raise ValueError(f'{path}: no videos listed (expected one path per line)')
    stems = [os.path.splitext(os.path.basename(v))[0] for v in videos]
    dup = sorted({s for s in stems if stems.count(s) > 1})
    if dup:
        raise ValueError(f'{path}: videos share the output name(s) {dup}; their feature files would collide')
    return videos


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    from mmaction.apis.feature_extraction import activitynet_entry, extract_video_features, write_features
    from mmaction.apis.inference import init_recognizer
    from mmaction.utils.io import atomic_open
    videos = read_video_list(args.video_list, args.video_root)
    ckpt = None if args.checkpoint.lower() == 'none' else args.checkpoint
    model = init_recognizer(args.config, ckpt, device=args.device, trust_checkpoint=args.trust_checkpoint)
    index = {}
    for k, video in enumerate(videos, 1):
        t0 = time.monotonic()
        feats, info = extract_video_features(model, video, args.clip_len, args.stride, args.fps,
                                             batch_size=args.batch_size)
        info.update(config=os.path.abspath(args.config), checkpoint=os.path.abspath(ckpt) if ckpt else None)
        name = os.path.splitext(os.path.basename(video))[0]
        write_features(args.out_dir, name, feats, info, args.format)
        index[name] = activitynet_entry(info)
        print(f'[{k}/{len(videos)}] {name}: {info["num_frames"]} frames -> features {feats.shape} '
              f'in {time.monotonic() - t0:.2f}s')
    with atomic_open(os.path.join(args.out_dir, 'video_info.json'), 'w') as f:
        json.dump(index, f, indent=1)
    return index


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
