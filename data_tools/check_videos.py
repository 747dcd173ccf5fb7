#!/usr/bin/env python
"""Decode every video in parallel and report the broken ones before training trips over them.

    python data_tools/check_videos.py SRC [--level 2] [--ext mp4] [--decoder decord|pyav|opencv]
        [--num-workers N] [--report report.tsv] [--remove-list bad.txt] [--tolerance 0.05]

Problems reported (one line per video: ``path<TAB>problem<TAB>detail``):

- ``unreadable``: the container cannot be opened or decoding fails at once;
- ``zero-frames``: it opens but yields no frame;
- ``truncated``: decoding stops with an error, or yields fewer frames than the container declares;
- ``count-mismatch``: the decoded count differs from the declared frame count or from duration x fps by
  more than ``--tolerance`` (relative): datasets that trust metadata would sample missing frames.

``--remove-list`` writes the bad paths (one per line) for review or ``xargs rm``; nothing is deleted here.
"""
from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

from data_tools.build_rawframes import find_inputs
from data_tools.media import DECODERS, iter_video_frames, write_lines
from mmaction.utils.progress import ProgressBar


@dataclass
class Check:
    video: str
    problem: str = ''   # '' when fine
    detail: str = ''
    frames: int = 0
    declared: int | None = None
    fps: float | None = None


def container_info(path: str) -> tuple[int | None, float | None, float | None]:
    """(declared frame count, fps, duration in s) from the container via PyAV; None where unknown."""
    try:
        import av
    except ImportError:
        import cv2
        cap = cv2.VideoCapture(path)
        n, fps = cap.get(cv2.CAP_PROP_FRAME_COUNT), cap.get(cv2.CAP_PROP_FPS)
        cap.release()
        return (int(n) or None), (fps or None), (n / fps if n and fps else None)
    with av.open(path) as c:
        s = c.streams.video[0]
        fps = float(s.average_rate) if s.average_rate else None
        if s.duration is not None and s.time_base is not None:
            dur = float(s.duration * s.time_base)
        else:
            dur = c.duration / 1e6 if c.duration else None
        return (s.frames or None), fps, dur


def check_video(path: str, rel: str, decoder: str = 'pyav', tolerance: float = 0.05) -> Check:
    """Decode ``path`` completely and classify it (see the module docstring); never raises."""
    try:
        declared, fps, duration = container_info(path)
    except Exception as e:
        return Check(rel, 'unreadable', f'{type(e).__name__}: {e}')
    n, error = 0, None
    try:
        for _ in iter_video_frames(path, decoder):
            n += 1
    except Exception as e:
        error = f'{type(e).__name__}: {e}'
    res = Check(rel, frames=n, declared=declared, fps=fps)
    if error is not None:
        res.problem, res.detail = ('unreadable' if n == 0 else 'truncated'), f'after {n} frames: {error}'
    elif n == 0:
        res.problem, res.detail = 'zero-frames', 'no frame decoded'
    elif declared and n < declared * (1 - tolerance):
        res.problem, res.detail = 'truncated', f'decoded {n} of {declared} declared frames'
    elif declared and abs(n - declared) > tolerance * declared:
        res.problem, res.detail = 'count-mismatch', f'decoded {n} frames, container declares {declared}'
    elif fps and duration and abs(n - fps * duration) > max(1.0, tolerance * fps * duration):
        res.problem, res.detail = 'count-mismatch', (f'decoded {n} frames but duration {duration:.2f}s x '
                                                     f'{fps:.3f} fps = {fps * duration:.1f}')
    return res


def check_videos(src: str, level: int = 2, ext: str = 'mp4', decoder: str = 'pyav', num_workers: int = 1,
                 tolerance: float = 0.05, progress: bool = True) -> list[Check]:
    """Check every ``SRC/[class/]*.ext``; returns one :class:`Check` per video, sorted by path."""
    if decoder not in DECODERS:
        raise ValueError(f'--decoder must be one of {DECODERS}, got {decoder!r}')
    videos = find_inputs(src, level, ext, use_frames=False)
    if not videos:
        raise FileNotFoundError(f'no *.{ext} videos found in {src} at --level {level}')
    bar = ProgressBar(len(videos), 'checking', enabled=progress)
    out = []
    if num_workers <= 1:
        for rel in videos:
            out.append(check_video(os.path.join(src, rel), rel, decoder, tolerance))
            bar.update()
    else:
        with ProcessPoolExecutor(num_workers) as pool:
            futs = [pool.submit(check_video, os.path.join(src, rel), rel, decoder, tolerance) for rel in videos]
            for f in as_completed(futs):
                out.append(f.result())
                bar.update()
    return sorted(out, key=lambda c: c.video)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description='Decode every video and report unreadable/truncated/mismatched ones.')
    p.add_argument('src')
    p.add_argument('--level', type=int, default=2, choices=[1, 2])
    p.add_argument('--ext', default='mp4')
    p.add_argument('--decoder', default='pyav', choices=DECODERS,
                   help='the backend your training config uses (pyav reports decode errors most precisely)')
    p.add_argument('--num-workers', type=int, default=max(1, (os.cpu_count() or 2) // 2))
    p.add_argument('--tolerance', type=float, default=0.05, help='relative frame-count tolerance')
    p.add_argument('--report', default=None, help='write all problems as TSV (path, problem, detail)')
    p.add_argument('--remove-list', default=None, help='write the paths (under SRC) of bad videos, one per line')
    p.add_argument('--quiet', action='store_true')
    a = p.parse_args(argv)
    results = check_videos(a.src, a.level, a.ext, a.decoder, a.num_workers, a.tolerance, progress=not a.quiet)
    bad = [r for r in results if r.problem]
    for r in bad:
        print(f'{r.video}\t{r.problem}\t{r.detail}')
    print(f'{len(results)} videos checked, {len(bad)} with problems, '
          f'{sum(r.frames for r in results)} frames decoded')
    if a.report:
        write_lines(a.report, [f'{r.video}\t{r.problem}\t{r.detail}' for r in bad])
    if a.remove_list:
        write_lines(a.remove_list, [os.path.join(a.src, r.video) for r in bad])
    return 1 if bad else 0


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    sys.exit(run_tool(main))
