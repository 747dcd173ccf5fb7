#!/usr/bin/env python
"""Extract RGB frames and/or optical flow from a folder of videos, with plain pip packages only.

    python data_tools/build_rawframes.py SRC OUT [--level 1|2] [--ext mp4] [--task rgb|flow|both]
        [--flow-type auto|tvl1|dis|farneback] [--flow-preset ultrafast|fast|medium]
        [--new-short 256 | --new-width W --new-height H]
        [--num-workers N] [--resume] [--use-frames]

For each video ``SRC/[class/]name.ext`` it writes ``OUT/[class/]name/``:

- ``img_00001.jpg`` ... one JPEG per decoded frame (all N frames, 1-based);
- ``flow_x_00001.jpg`` / ``flow_y_00001.jpg`` ... N-1 flow images between consecutive frames, quantised
  like dense_flow (``bound=20``); ``--flow-naming x`` writes ``x_00001.jpg`` / ``y_00001.jpg`` instead
  (the ``{}_{:05d}.jpg`` template of I3D/mmaction2 flow configs).

Flow is TV-L1 when ``cv2.optflow`` is installed (opencv-contrib-python), otherwise DIS (or Farneback);
the choice is printed. ``--flow-preset`` picks the DIS speed/quality preset (default medium; the measured
throughput of each is in data_tools/README.md). Each video is written to a temp dir and renamed when complete,
so ``--resume`` skips finished videos and redoes anything partial. Failures are listed (video, reason) at the end and the exit
status is 1 if any video failed.
"""
from __future__ import annotations

import argparse
import glob
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass

import cv2

from data_tools.flow import DIS_PRESETS, make_flow_fn, quantize_flow, resolve_flow_type
from data_tools.media import DECODERS, iter_video_frames, resize_frame, write_jpeg, write_lines
from mmaction.utils.io import atomic_dir, remove_stale_temps
from mmaction.utils.progress import ProgressBar

RGB_TMPL = 'img_{:05d}.jpg'
FLOW_NAMINGS = {'flow_x': ('flow_x_{:05d}.jpg', 'flow_y_{:05d}.jpg'), 'x': ('x_{:05d}.jpg', 'y_{:05d}.jpg')}


@dataclass(frozen=True)
class Options:
    task: str = 'rgb'                 # rgb | flow | both
    flow_type: str = 'dis'            # already resolved (never 'auto' here)
    flow_naming: str = 'flow_x'
    bound: float = 20.0
    new_short: int = 0
    new_width: int = 0
    new_height: int = 0
    decoder: str = 'decord'
    quality: int = 95
    use_frames: bool = False
    resume: bool = False
    flow_preset: str = 'medium'       # DIS only


@dataclass
class Result:
    video: str
    status: str  # done | skipped | failed
    frames: int = 0
    flows: int = 0
    reason: str = ''


def find_inputs(src: str, level: int, ext: str, use_frames: bool) -> list[str]:
    """Relative paths (with extension for videos) of the inputs at ``level`` (1: flat, 2: class/video)."""
    if level not in (1, 2):
        raise ValueError(f'--level must be 1 or 2, got {level}')
    if not os.path.isdir(src):
        raise FileNotFoundError(f'source folder not found: {src}')
    pattern = os.path.join(src, *(['*'] * level))
    if use_frames:
        found = [p for p in glob.glob(pattern) if os.path.isdir(p) and glob.glob(os.path.join(p, 'img_*'))]
    else:
        found = [p for p in glob.glob(pattern + '.' + ext.lstrip('.')) if os.path.isfile(p)]
    return sorted(os.path.relpath(p, src) for p in found)


def count_prefix(folder: str, prefix: str) -> int:
    try:
        return sum(1 for f in os.listdir(folder) if f.startswith(prefix))
    except FileNotFoundError:
        return 0


def _flow_prefixes(opts: Options) -> tuple[str, str]:
    x_tmpl, y_tmpl = FLOW_NAMINGS[opts.flow_naming]
    return x_tmpl.split('{')[0], y_tmpl.split('{')[0]


def is_complete(out_dir: str, opts: Options, expected_frames: int | None) -> bool:
    """Whether ``out_dir`` already holds everything ``opts.task`` would write (for ``--resume``).

    ``expected_frames`` (the decoder's frame count, when known) catches folders left half-written by
    other tools; our own outputs are atomic.
    """
    if not os.path.isdir(out_dir):
        return False
    n_img = count_prefix(out_dir, 'img_')
    if opts.task in ('rgb', 'both'):
        if n_img == 0 or (expected_frames is not None and n_img != expected_frames):
            return False
    if opts.task in ('flow', 'both'):
        px, py = _flow_prefixes(opts)
        nx, ny = count_prefix(out_dir, px), count_prefix(out_dir, py)
        want = (expected_frames - 1) if expected_frames is not None else (n_img - 1 if n_img else None)
        if nx == 0 or nx != ny or (want is not None and nx != want):
            return False
    return True


def expected_frame_count(path: str, decoder: str, use_frames: bool) -> int | None:
    """The number of frames the input will give, when it can be known without decoding everything."""
    if use_frames:
        return count_prefix(path, 'img_')
    if decoder == 'decord':
        try:
            import decord
            return len(decord.VideoReader(path, num_threads=1))
        except Exception:
            return None
    return None


def _iter_input(path: str, opts: Options):
    if opts.use_frames:
        n = count_prefix(path, 'img_')
        for i in range(1, n + 1):
            img = cv2.imread(os.path.join(path, RGB_TMPL.format(i)))
            if img is None:
                raise OSError(f'cannot read frame {RGB_TMPL.format(i)} in {path} (expected {n} frames)')
            yield cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    else:
        yield from iter_video_frames(path, opts.decoder)


def extract(path: str, out_dir: str, opts: Options) -> tuple[int, int]:
    """Write frames/flow of one input into ``out_dir`` (a fresh dir); returns (num_frames, num_flows)."""
    flow_fn = make_flow_fn(opts.flow_type, opts.flow_preset) if opts.task in ('flow', 'both') else None
    x_tmpl, y_tmpl = FLOW_NAMINGS[opts.flow_naming]
    prev_gray = None
    n = nflow = 0
    for frame in _iter_input(path, opts):
        n += 1
        frame = resize_frame(frame, opts.new_short, opts.new_width, opts.new_height)
        if opts.task in ('rgb', 'both'):
            write_jpeg(os.path.join(out_dir, RGB_TMPL.format(n)), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                       opts.quality)
        if flow_fn is not None:
            gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
            if prev_gray is not None:
                nflow += 1
                fx, fy = quantize_flow(flow_fn(prev_gray, gray), opts.bound)
                write_jpeg(os.path.join(out_dir, x_tmpl.format(nflow)), fx, opts.quality)
                write_jpeg(os.path.join(out_dir, y_tmpl.format(nflow)), fy, opts.quality)
            prev_gray = gray
    if n == 0:
        raise ValueError('no frames decoded (empty or unreadable video)')
    if flow_fn is not None and nflow == 0:
        raise ValueError('only 1 frame: optical flow needs at least 2')
    return n, nflow


def process_one(src: str, out: str, rel: str, opts: Options) -> Result:
    """Extract one input (a video, or a frame folder with ``use_frames``) atomically; never raises."""
    cv2.setNumThreads(1)  # parallelism comes from the worker processes
    path = os.path.join(src, rel)
    out_rel = rel if opts.use_frames else os.path.splitext(rel)[0]
    out_dir = os.path.join(out, out_rel)
    try:
        if opts.resume:
            expected = expected_frame_count(path, opts.decoder, opts.use_frames)
            if is_complete(out_dir, opts, expected):
                return Result(rel, 'skipped', count_prefix(out_dir, 'img_'))
        if opts.use_frames and os.path.isdir(out_dir):
            # adding flow next to existing frames (OUT may be SRC): build the flow files aside, then move them in
            with atomic_dir(out_dir + '.flow') as tmp:
                n, nflow = extract(path, tmp, opts)
                for f in sorted(os.listdir(tmp)):
                    os.replace(os.path.join(tmp, f), os.path.join(out_dir, f))
            shutil.rmtree(out_dir + '.flow', ignore_errors=True)
        else:
            with atomic_dir(out_dir) as tmp:
                n, nflow = extract(path, tmp, opts)
        return Result(rel, 'done', n, nflow)
    except Exception as e:  # report every failure at the end instead of stopping the whole run
        return Result(rel, 'failed', reason=f'{type(e).__name__}: {e}')


def build_rawframes(src: str, out: str, level: int = 2, ext: str = 'mp4', task: str = 'rgb',
                    flow_type: str = 'auto', flow_naming: str = 'flow_x', bound: float = 20.0, new_short: int = 0,
                    new_width: int = 0, new_height: int = 0, num_workers: int = 1, resume: bool = False,
                    use_frames: bool = False, decoder: str = 'decord', quality: int = 95,
                    progress: bool = True, flow_preset: str = 'medium') -> list[Result]:
    """Library entry point of the CLI (see the module docstring); returns one :class:`Result` per input."""
    if task not in ('rgb', 'flow', 'both'):
        raise ValueError(f'--task must be rgb, flow or both, got {task!r}')
    if use_frames and task != 'flow':
        raise ValueError('--use-frames computes optical flow from existing img_*.jpg folders: use --task flow')
    if flow_naming not in FLOW_NAMINGS:
        raise ValueError(f'--flow-naming must be one of {sorted(FLOW_NAMINGS)}, got {flow_naming!r}')
    if decoder not in DECODERS:
        raise ValueError(f'--decoder must be one of {DECODERS}, got {decoder!r}')
    if new_short and (new_width or new_height):
        raise ValueError('give either --new-short or --new-width/--new-height, not both')
    if flow_preset not in DIS_PRESETS:
        raise ValueError(f'--flow-preset must be one of {tuple(DIS_PRESETS)}, got {flow_preset!r}')
    resolved = resolve_flow_type(flow_type) if task != 'rgb' else 'dis'
    opts = Options(task, resolved, flow_naming, bound, new_short, new_width, new_height, decoder, quality,
                   use_frames, resume, flow_preset)
    inputs = find_inputs(src, level, ext, use_frames)
    if not inputs:
        kind = 'frame folders (img_*.jpg)' if use_frames else f'*.{ext} videos'
        raise FileNotFoundError(f'no {kind} found in {src} at --level {level}')
    os.makedirs(out, exist_ok=True)
    remove_stale_temps(out)  # partial outputs of an interrupted run
    bar = ProgressBar(len(inputs), 'frames' if task == 'rgb' else f'{task} ({flow_label(resolved, flow_preset)})',
                   enabled=progress)
    results = []
    if num_workers <= 1:
        for rel in inputs:
            results.append(process_one(src, out, rel, opts))
            bar.update()
    else:
        with ProcessPoolExecutor(num_workers) as pool:
            futures = [pool.submit(process_one, src, out, rel, opts) for rel in inputs]
            for fut in as_completed(futures):
                results.append(fut.result())
                bar.update()
    results.sort(key=lambda r: r.video)
    return results


def flow_label(flow_type: str, preset: str) -> str:
    """``dis-fast`` etc.: the preset only means something for DIS."""
    return f'{flow_type}-{preset}' if flow_type == 'dis' else flow_type


def summarize(results: list[Result], seconds: float, task: str, flow_type: str) -> str:
    done = [r for r in results if r.status == 'done']
    failed = [r for r in results if r.status == 'failed']
    frames, flows = sum(r.frames for r in done), sum(r.flows for r in done)
    lines = [f'{len(done)} extracted, {sum(r.status == "skipped" for r in results)} skipped (already complete), '
             f'{len(failed)} failed in {seconds:.1f}s']
    if task in ('rgb', 'both'):
        lines.append(f'RGB: {frames} frames ({frames / max(seconds, 1e-9):.1f} frames/s)')
    if task in ('flow', 'both'):
        lines.append(f'flow ({flow_type}): {flows} pairs ({flows / max(seconds, 1e-9):.1f} pairs/s)')
    if failed:
        lines.append('failures (video, reason):')
        lines += [f'  {r.video}\t{r.reason}' for r in failed]
    return '\n'.join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='Extract RGB frames / optical flow from videos (no compiled tools).')
    p.add_argument('src', help='folder of videos (or of frame folders with --use-frames)')
    p.add_argument('out', help='output rawframes folder')
    p.add_argument('--level', type=int, default=2, choices=[1, 2], help='1: SRC/video.ext, 2: SRC/class/video.ext')
    p.add_argument('--ext', default='mp4', help='video extension (avi, mp4, webm, mkv...)')
    p.add_argument('--task', default='rgb', choices=['rgb', 'flow', 'both'])
    p.add_argument('--flow-type', default='auto', choices=['auto', 'tvl1', 'dis', 'farneback'],
                   help='auto: tvl1 if cv2.optflow exists, else dis')
    p.add_argument('--flow-preset', default='medium', choices=list(DIS_PRESETS),
                   help='DIS speed/quality preset (ignored by tvl1/farneback); see data_tools/README.md for speeds')
    p.add_argument('--flow-naming', default='flow_x', choices=sorted(FLOW_NAMINGS),
                   help="flow_x: flow_x_00001.jpg (TSN 'flow_{}_{:05d}.jpg'); x: x_00001.jpg ('{}_{:05d}.jpg')")
    p.add_argument('--bound', type=float, default=20.0, help='flow quantisation bound in pixels (dense_flow: 20)')
    p.add_argument('--new-short', type=int, default=0, help='resize so the short side is this (0: keep)')
    p.add_argument('--new-width', type=int, default=0)
    p.add_argument('--new-height', type=int, default=0)
    p.add_argument('--num-workers', type=int, default=max(1, (os.cpu_count() or 2) // 2))
    p.add_argument('--resume', action='store_true', help='skip videos whose output is already complete')
    p.add_argument('--use-frames', action='store_true', help='compute flow from existing img_*.jpg folders in SRC')
    p.add_argument('--decoder', default='decord', choices=DECODERS)
    p.add_argument('--quality', type=int, default=95, help='JPEG quality')
    p.add_argument('--failures', default=None, help='also write the failure list (video<TAB>reason) to this file')
    p.add_argument('--quiet', action='store_true')
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    flow_type = resolve_flow_type(a.flow_type) if a.task != 'rgb' else '-'
    if a.task != 'rgb':
        why = '' if a.flow_type != 'auto' else (' (cv2.optflow found)' if flow_type == 'tvl1' else
                                                 ' (cv2.optflow not installed: TV-L1 unavailable)')
        flow_type = flow_label(flow_type, a.flow_preset)
        print(f'optical flow: {flow_type}{why}, bound {a.bound}, naming {FLOW_NAMINGS[a.flow_naming][0]}')
    t0 = time.monotonic()
    results = build_rawframes(a.src, a.out, a.level, a.ext, a.task, a.flow_type, a.flow_naming, a.bound, a.new_short,
                              a.new_width, a.new_height, a.num_workers, a.resume, a.use_frames, a.decoder, a.quality,
                              progress=not a.quiet, flow_preset=a.flow_preset)
    print(summarize(results, time.monotonic() - t0, a.task, flow_type))
    failed = [r for r in results if r.status == 'failed']
    if a.failures:
        write_lines(a.failures, [f'{r.video}\t{r.reason}' for r in failed])
    return 1 if failed else 0


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    sys.exit(run_tool(main))
