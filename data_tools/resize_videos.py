#!/usr/bin/env python
"""Re-encode videos to a smaller short side (e.g. 256 or 320) as H.264 with PyAV, keeping the frame rate.

    python data_tools/resize_videos.py SRC OUT [--level 2] [--ext mp4] [--short-side 256] [--gop 0]
        [--crf 23] [--num-workers N] [--resume]

``--gop N`` re-encodes with a keyframe every N frames: sparse random access (video training samples a few
frames per clip) then decodes at most N-1 extra frames per seek instead of a whole long GOP. Videos whose
short side is already <= the target are re-encoded without resizing (never upscaled). Audio is dropped (no model here uses it). Output is written atomically as
``OUT/[class/]name.mp4``; ``--resume`` skips existing outputs.
"""
from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed

from data_tools.build_rawframes import find_inputs
from data_tools.check_videos import container_info
from data_tools.media import iter_video_frames, resize_frame, write_h264
from mmaction.utils.io import remove_stale_temps
from mmaction.utils.progress import ProgressBar


def target_size(w: int, h: int, short_side: int) -> tuple[int, int]:
    """Keep the aspect ratio, short side = ``short_side`` (never upscale), both sides even (yuv420p)."""
    s = min(1.0, short_side / min(w, h)) if short_side else 1.0
    return max(2, int(round(w * s / 2)) * 2), max(2, int(round(h * s / 2)) * 2)


def resize_one(src_path: str, dst_path: str, short_side: int, gop: int, crf: int, preset: str) -> tuple[int, str]:
    """Re-encode one video; returns (frames, '') or (0, reason). Never raises."""
    import cv2
    cv2.setNumThreads(1)
    try:
        _, fps, _ = container_info(src_path)

        def frames():
            for f in iter_video_frames(src_path, 'pyav'):
                h, w = f.shape[:2]
                tw, th = target_size(w, h, short_side)
                yield f if (tw, th) == (w, h) else resize_frame(f, new_width=tw, new_height=th)

        n = write_h264(dst_path, frames(), fps=fps or 30.0, crf=crf, gop=gop if gop > 0 else 250, preset=preset)
        return n, ''
    except Exception as e:
        return 0, f'{type(e).__name__}: {e}'


def resize_videos(src: str, out: str, level: int = 2, ext: str = 'mp4', short_side: int = 256, gop: int = 0,
                  crf: int = 23, preset: str = 'veryfast', num_workers: int = 1, resume: bool = False,
                  progress: bool = True) -> dict[str, tuple[int, str]]:
    """Library entry point; returns {relative video path: (frames written, failure reason or '')}."""
    videos = find_inputs(src, level, ext, use_frames=False)
    if not videos:
        raise FileNotFoundError(f'no *.{ext} videos found in {src} at --level {level}')
    os.makedirs(out, exist_ok=True)
    remove_stale_temps(out)
    jobs = {rel: os.path.join(out, os.path.splitext(rel)[0] + '.mp4') for rel in videos}
    results = {rel: (0, 'skipped') for rel, dst in jobs.items() if resume and os.path.isfile(dst)}
    todo = [rel for rel in videos if rel not in results]
    bar = ProgressBar(len(todo), 'resizing', enabled=progress)
    with ProcessPoolExecutor(max(1, num_workers)) as pool:
        futs = {pool.submit(resize_one, os.path.join(src, rel), jobs[rel], short_side, gop, crf, preset): rel
                for rel in todo}
        for f in as_completed(futs):
            results[futs[f]] = f.result()
            bar.update()
    return dict(sorted(results.items()))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description='Resize videos (short side) and optionally shorten the GOP (H.264).')
    p.add_argument('src')
    p.add_argument('out')
    p.add_argument('--level', type=int, default=2, choices=[1, 2])
    p.add_argument('--ext', default='mp4')
    p.add_argument('--short-side', type=int, default=256, help='target short side (0: keep size)')
    p.add_argument('--gop', type=int, default=0, help='keyframe interval in frames (0: encoder default 250)')
    p.add_argument('--crf', type=int, default=23)
    p.add_argument('--preset', default='veryfast')
    p.add_argument('--num-workers', type=int, default=max(1, (os.cpu_count() or 2) // 2))
    p.add_argument('--resume', action='store_true')
    p.add_argument('--quiet', action='store_true')
    a = p.parse_args(argv)
    res = resize_videos(a.src, a.out, a.level, a.ext, a.short_side, a.gop, a.crf, a.preset, a.num_workers,
                        a.resume, progress=not a.quiet)
    failed = {k: v for k, v in res.items() if v[1] and v[1] != 'skipped'}
    print(f'{len(res) - len(failed)} videos ok ({sum(v[1] == "skipped" for v in res.values())} skipped), '
          f'{len(failed)} failed')
    for k, (_, why) in failed.items():
        print(f'  {k}\t{why}')
    return 1 if failed else 0


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    sys.exit(run_tool(main))
