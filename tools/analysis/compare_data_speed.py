"""Data-pipeline speed: ours vs mmaction2 1.2.0 (when installed in its own venv) vs the bare decoder.

    python tools/analysis/compare_data_speed.py [--num-samples 30] [--peer-python /path/to/venv/bin/python]
                                                [--videos a.mp4 b.mp4] [--backend auto] [--threads N]
                                                [--repeats 3]

Two train pipelines, written once in mmaction2 syntax and run by both libraries on the same videos
(default ``demo/demo.mp4`` and ``tests/data/test.mp4`` of ../shared/data/mmaction2_samples):
TSN 1x1x8 (SampleFrames 1x1x8, Resize short 256, MultiScaleCrop 13 fixed crops, Resize 224, Flip,
FormatShape NCHW) and SlowOnly 8x8x1 (SampleFrames 8x8x1, Resize short 256, RandomResizedCrop,
Resize 224, Flip, FormatShape NCTHW). Neither normalises (mmaction2 does that on the device); our
figure with ``Normalize`` in the dataset is printed too. Printed ratios:
``clips/s ours / clips/s mmaction2`` and ``decode time ours / bare decord get_batch`` of the same indices.
The peer is skipped when ``--peer-python`` is not given or cannot import mmaction2.

Each side runs with its defaults in one process: ours replaces the peer's ``DecordInit`` by our
``VideoInit`` (``--backend auto``: GOP-aware PyAV when installed; ``--threads`` unset: decoder threads on
all cores of this process), the peer keeps ``DecordInit`` (decord, ``num_threads=1``) with
``DecordDecode`` (``get_batch``). The bare decoder is ``decord.VideoReader(path, num_threads=1)
.get_batch(indices)`` on exactly the indices our pipeline read, i.e. the peer's decoder with nothing
around it; pass ``--backend decord --threads 1`` to run our pipeline on that same decoder.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
SAMPLES = os.path.join(ROOT, '..', 'shared', 'data', 'mmaction2_samples')

PIPELINES = {
    'tsn_1x1x8': [
        dict(type='DecordInit'), dict(type='SampleFrames', clip_len=1, frame_interval=1, num_clips=8),
        dict(type='DecordDecode'), dict(type='Resize', scale=(-1, 256)),
        dict(type='MultiScaleCrop', input_size=224, scales=(1, 0.875, 0.75, 0.66), random_crop=False,
             max_wh_scale_gap=1, num_fixed_crops=13),
        dict(type='Resize', scale=(224, 224), keep_ratio=False), dict(type='Flip', flip_ratio=0.5),
        dict(type='FormatShape', input_format='NCHW')],
    'slowonly_8x8x1': [
        dict(type='DecordInit'), dict(type='SampleFrames', clip_len=8, frame_interval=8, num_clips=1),
        dict(type='DecordDecode'), dict(type='Resize', scale=(-1, 256)), dict(type='RandomResizedCrop'),
        dict(type='Resize', scale=(224, 224), keep_ratio=False), dict(type='Flip', flip_ratio=0.5),
        dict(type='FormatShape', input_format='NCTHW')],
}
NORM = dict(type='Normalize', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375])

PEER_SCRIPT = r'''
import json, sys, time
import numpy as np
from mmaction.utils import register_all_modules
register_all_modules()
from mmengine.dataset import Compose
cfg = json.loads(sys.argv[1])
# JSON turned tuples into lists; mmaction2 wants tuples for scale/scales
pipeline = [{k: tuple(v) if isinstance(v, list) else v for k, v in t.items()} for t in cfg['pipeline']]
pipeline += [dict(type='PackActionInputs')]
pipe = Compose(pipeline)
np.random.seed(cfg['seed'])
videos, n = cfg['videos'], cfg['num_samples']
pipe(dict(filename=videos[0], label=0, start_index=0, modality='RGB'))  # warm-up (imports, first open)
t0, c0 = time.perf_counter(), time.process_time()
for i in range(n):
    out = pipe(dict(filename=videos[i % len(videos)], label=0, start_index=0, modality='RGB'))
    assert out['inputs'].ndim >= 4
print(json.dumps(dict(seconds=time.perf_counter() - t0, cpu=time.process_time() - c0,
                      shape=list(out['inputs'].shape))))
'''


def run_peer(python: str, pipeline: list, videos: list, n: int, seed: int) -> dict | None:
    cfg = json.dumps(dict(pipeline=pipeline, videos=videos, num_samples=n, seed=seed))
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    with tempfile.TemporaryDirectory() as tmp:  # a cwd where our package does not shadow the peer's
        proc = subprocess.run([python, '-c', PEER_SCRIPT, cfg], cwd=tmp, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        print(f'  peer failed ({python}): {proc.stderr.strip().splitlines()[-1] if proc.stderr else "?"}')
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_ours(pipeline: list, videos: list, n: int, seed: int, backend: str, threads: int | None) -> dict:
    import decord

    from mmaction.datasets import VideoDataset
    from mmaction.datasets.pipelines.loading import VideoDecode, VideoInit

    pipeline = [dict(type='VideoInit', backend=backend, num_threads=threads) if p['type'] == 'DecordInit' else p
                for p in pipeline]
    with tempfile.NamedTemporaryFile('w', suffix='.txt', delete=False) as f:
        f.write(''.join(f'{v} 0\n' for v in videos))
    ds = VideoDataset(f.name, pipeline, video_ext='')
    decode = [0.0]
    seen = []

    def timed(fn):
        def call(results):
            if 'frame_inds' in results:  # the decode step: remember what it read for the bare decoder
                seen.append((results['filename'], np.asarray(results['frame_inds']).copy()))
            t0 = time.perf_counter()
            out = fn(results)
            decode[0] += time.perf_counter() - t0
            return out
        return call

    trans = ds.pipelines[0].transforms
    for i, t in enumerate(trans):
        if isinstance(t, (VideoInit, VideoDecode)):
            trans[i] = timed(t)
    ds[0]  # warm-up
    np.random.seed(seed)
    total = bare = cpu = decode[0] = 0.0
    for i in range(n):
        seen.clear()
        t0, c0 = time.perf_counter(), time.process_time()
        out = ds[i % len(ds)]
        total += time.perf_counter() - t0
        cpu += time.process_time() - c0
        # Bare decoder on exactly the same frames, right after (same machine load): open + one get_batch.
        path, inds = seen[-1]
        t0 = time.perf_counter()
        decord.VideoReader(path, num_threads=1).get_batch(inds.tolist()).asnumpy()
        bare += time.perf_counter() - t0
    shape = tuple(out['img_group_0'].shape)
    os.unlink(f.name)
    return dict(seconds=total, cpu=cpu, decode=decode[0], bare=bare, shape=shape)


def _rates(rounds: list, n: int) -> str:
    return ', '.join(f'{n / r["seconds"]:.2f}' for r in rounds)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num-samples', type=int, default=30)
    parser.add_argument('--peer-python', default=os.environ.get('MMACTION2_PYTHON'))
    parser.add_argument('--videos', nargs='+', default=[os.path.join(SAMPLES, 'demo', 'demo.mp4'),
                                                       os.path.join(SAMPLES, 'tests', 'data', 'test.mp4')])
    parser.add_argument('--backend', default='auto', help="our decoder backend (default 'auto')")
    parser.add_argument('--threads', type=int, default=None,
                        help='our decoder threads (default: all cores of this process; the peer uses 1)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--repeats', type=int, default=3, help='alternating rounds per side; the best is kept')
    args = parser.parse_args(argv)
    videos = [os.path.abspath(v) for v in args.videos]
    n = args.num_samples
    for name, pipeline in PIPELINES.items():
        print(f'== {name}: {n} clips from {", ".join(os.path.basename(v) for v in videos)}, '
              f'{args.repeats} alternating rounds (best round of each side; the machine is shared)')
        rounds, peers = [], []
        for _ in range(args.repeats):  # alternate so both sides see the same background load
            rounds.append(run_ours(pipeline, videos, n, args.seed, args.backend, args.threads))
            if args.peer_python:
                peers.append(run_peer(args.peer_python, pipeline, videos, n, args.seed))
        ours = min(rounds, key=lambda r: r['seconds'])
        ours_norm = run_ours(pipeline[:-1] + [NORM, pipeline[-1]], videos, n, args.seed, args.backend, args.threads)
        decode, bare = sum(r['decode'] for r in rounds), sum(r['bare'] for r in rounds)  # measured interleaved
        print(f'  ours            {n / ours["seconds"]:7.2f} clips/s  output {ours["shape"]} uint8  '
              f'(rounds: {_rates(rounds, n)})')
        print(f'  ours+Normalize  {n / ours_norm["seconds"]:7.2f} clips/s  (float32, normalised in the dataset)')
        print(f'  decode: ours {1000 * decode / (n * len(rounds)):.1f} ms/clip, bare decord (1 thread) get_batch '
              f'{1000 * bare / (n * len(rounds)):.1f} ms/clip -> ratio {decode / bare:.2f} (target <= 1.3)')
        peers = [p for p in peers if p is not None]
        if not peers:
            print('  mmaction2: skipped (pass --peer-python PATH to a venv with mmaction2 1.2.0)')
        else:
            peer = min(peers, key=lambda r: r['seconds'])
            print(f'  mmaction2       {n / peer["seconds"]:7.2f} clips/s  output {tuple(peer["shape"])}  '
                  f'(rounds: {_rates(peers, n)})')
            print(f'  speed ratio ours/mmaction2 = {peer["seconds"] / ours["seconds"]:.2f} (target >= 1.5); '
                  f'CPU seconds per clip (all threads, less sensitive to other load): ours '
                  f'{1000 * ours["cpu"] / n:.1f} ms, mmaction2 {1000 * peer["cpu"] / n:.1f} ms '
                  f'-> {peer["cpu"] / ours["cpu"]:.2f}')

if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
