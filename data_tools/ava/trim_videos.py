#!/usr/bin/env python
"""AVA preprocessing with PyAV only: trim to [start, start + duration) s at a constant fps, and resolution stats.

    python data_tools/ava/trim_videos.py SRC OUT [--start 840] [--duration 1020] [--fps 30] [--height 480]
    python data_tools/ava/trim_videos.py --stats VIDEO_DIR OUT_CSV       # lines "<video_id> <W>x<H>"

Frames are resampled to ``--fps`` by time (output frame k shows the source frame at ``start + k / fps``), so the
key-frame of timestamp ``t`` is frame ``fps * (t - start) + 1`` as the AVA dataset assumes.
"""
from __future__ import annotations

import argparse
import glob
import os
import sys
from concurrent.futures import ProcessPoolExecutor

from data_tools.media import resize_frame, write_h264, write_lines


def _timed_frames(path: str, start: float, duration: float, fps: float, height: int):
    import av
    with av.open(path) as c:
        s = c.streams.video[0]
        if start > 0:
            c.seek(int(start / s.time_base), stream=s, backward=True)  # nearest keyframe before start
        src_step = 1.0 / float(s.average_rate) if s.average_rate else 1.0 / fps
        k, last, last_time = 0, None, 0.0
        end = start + duration
        for frame in c.decode(s):
            if frame.time is None:
                continue
            # emit, at the output rate, the latest source frame whose time <= the output tick
            while last is not None and start + k / fps < min(frame.time, end):
                yield last
                k += 1
            if frame.time >= end:
                break
            img = frame.to_ndarray(format='rgb24')
            if height:
                img = resize_frame(img, new_height=height)
                img = img[:img.shape[0] // 2 * 2, :img.shape[1] // 2 * 2]
            last, last_time = img, frame.time
        # the source ended before ``end``: its last frame covers one source frame interval, no more; padding to
        # ``end`` would invent frames and hide a truncated download from the key-frame check of build_file_list
        while last is not None and start + k / fps < min(end, last_time + src_step - 1e-6):
            yield last
            k += 1


def trim_video(src: str, dst: str, start: float = 840.0, duration: float = 1020.0, fps: float = 30.0,
               height: int = 480) -> int:
    """Write ``dst`` (H.264) with the ``[start, start + duration)`` part of ``src`` at ``fps``; returns frames."""
    return write_h264(dst, _timed_frames(src, start, duration, fps, height), fps=fps, crf=20, gop=30,
                      preset='veryfast')


def resolution_stats(video_dir: str, out_csv: str) -> int:
    import av
    lines = []
    for path in sorted(glob.glob(os.path.join(video_dir, '*.*'))):
        with av.open(path) as c:
            s = c.streams.video[0]
            lines.append(f'{os.path.splitext(os.path.basename(path))[0]} {s.width}x{s.height}')
    write_lines(out_csv, lines)
    return len(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description='Trim AVA videos / write the resolution stats file.')
    p.add_argument('src')
    p.add_argument('out')
    p.add_argument('--stats', action='store_true', help='write "<video_id> <W>x<H>" lines for SRC to OUT')
    p.add_argument('--start', type=float, default=840.0)
    p.add_argument('--duration', type=float, default=1020.0)
    p.add_argument('--fps', type=float, default=30.0)
    p.add_argument('--height', type=int, default=480, help='output height (0: keep)')
    p.add_argument('--num-workers', type=int, default=2)
    a = p.parse_args(argv)
    if a.stats:
        print(f'{resolution_stats(a.src, a.out)} videos -> {a.out}')
        return
    videos = sorted(v for v in glob.glob(os.path.join(a.src, '*.*')) if not os.path.basename(v).startswith('.'))
    jobs = [(v, os.path.join(a.out, os.path.splitext(os.path.basename(v))[0] + '.mp4')) for v in videos]
    jobs = [(v, d) for v, d in jobs if not os.path.exists(d)]  # resumable: outputs are atomic
    with ProcessPoolExecutor(max(1, a.num_workers)) as pool:
        futs = [pool.submit(trim_video, v, d, a.start, a.duration, a.fps, a.height) for v, d in jobs]
        for (v, _), f in zip(jobs, futs):
            try:
                print(f'{os.path.basename(v)}: {f.result()} frames')
            except Exception as e:
                print(f'FAILED {v}: {type(e).__name__}: {e}', file=sys.stderr)


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
