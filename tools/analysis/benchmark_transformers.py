"""Forward+backward time of the video transformers, this project vs mmaction2, same model dict, input and dtype.

    python tools/analysis/benchmark_transformers.py [--peer-python /tmp/mma2/bin/python] [--repeats 5]
        [--models vit timesformer swin mvit uniformer uniformerv2] [--threads 2] [--with-cp]

Each model is built from the same ``model`` dict by both packages (``mmaction.registry.MODELS`` in either), given
the same input, and timed for ``--repeats`` forward+backward passes after one warm-up; the two packages run in
alternation (ours, peer, ours, peer, ...) so that load on the machine hits both alike. The peer runs this same
file with its own python (``--peer-python``, cwd outside the repo), which imports its own ``mmaction``. Prints
median seconds per step for each side and the ratio peer/ours (> 1: this project is faster); ``--with-cp`` also
reports this project's peak memory with activation checkpointing (CPU: peak RSS growth during the step).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

# Thin but full-structure settings: every attention type, real head counts per width, short clips.
MODELS = {
    'vit': (dict(type='VisionTransformer', img_size=112, patch_size=16, embed_dims=384, depth=6, num_heads=6,
                 num_frames=8, norm_cfg=dict(type='LN', eps=1e-6)), (2, 3, 8, 112, 112)),
    'timesformer': (dict(type='TimeSformer', num_frames=8, img_size=112, patch_size=16, embed_dims=384,
                         num_heads=6, num_transformer_layers=6, attention_type='divided_space_time'),
                    (2, 3, 8, 112, 112)),
    'swin': (dict(type='SwinTransformer3D', arch='tiny', pretrained2d=False, window_size=(4, 7, 7)),
             (1, 3, 8, 112, 112)),
    'mvit': (dict(type='MViT', arch='small', spatial_size=112, temporal_size=8), (1, 3, 8, 112, 112)),
    'uniformer': (dict(type='UniFormer', depth=[3, 4, 8, 3], embed_dim=[64, 128, 320, 512], head_dim=64,
                       pretrained2d=False), (1, 3, 8, 112, 112)),
    'uniformerv2': (dict(type='UniFormerV2', input_resolution=112, patch_size=16, width=384, layers=6, heads=6,
                         t_size=8, no_lmhra=False, double_lmhra=True, return_list=[4, 5], n_layers=2, n_dim=384,
                         n_head=6, mlp_dropout=[0.5, 0.5], clip_pretrained=False), (1, 3, 8, 112, 112)),
}


def time_model(name: str, repeats: int, threads: int, with_cp: bool = False) -> dict:
    """Median seconds of one forward+backward pass (and peak RSS growth with ``with_cp``)."""
    import resource
    import time

    import torch
    import mmaction.models  # noqa: F401  (registration, either package)
    try:
        from mmaction.utils import register_all_modules  # the peer's way of filling its registries
        register_all_modules()
    except ImportError:
        pass
    from mmaction.registry import MODELS as registry
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cfg, shape = MODELS[name]
    model = registry.build(dict(cfg, with_cp=True) if with_cp else cfg)
    model.train()  # not chained: mmaction2's SwinTransformer3D.train() returns None
    x = torch.randn(shape)

    def step() -> None:
        out = model(x)
        while isinstance(out, (tuple, list)):
            out = out[-1]
        out.float().square().mean().backward()
        model.zero_grad(set_to_none=True)

    step()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    times.sort()
    return dict(seconds=times[len(times) // 2],
                peak_rss_growth_mb=(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--models', nargs='+', default=list(MODELS), choices=list(MODELS))
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--rounds', type=int, default=2, help='alternations ours/peer per model')
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--peer-python', default=None, help="mmaction2 venv's python (omit: this project only)")
    parser.add_argument('--with-cp', action='store_true', help="also time this project's with_cp=True")
    parser.add_argument('--child', action='store_true', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:  # one measurement, as JSON on stdout (used for both packages)
        print(json.dumps(time_model(args.models[0], args.repeats, args.threads, args.with_cp)))
        return

    def measure(python: str, name: str, with_cp: bool = False) -> dict:
        cmd = [python, os.path.abspath(__file__), '--child', '--models', name, '--repeats', str(args.repeats),
               '--threads', str(args.threads)] + (['--with-cp'] if with_cp else [])
        # the peer runs from outside this repository so that its own `mmaction` is imported
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd='/' if python != sys.executable
                             else None, env=dict(os.environ, PYTHONWARNINGS='ignore'))
        return json.loads(out.stdout.strip().splitlines()[-1])

    print(f"{'model':<12} {'ours s/step':>12} {'mmaction2 s/step':>17} {'ratio':>7}"
          + (f" {'with_cp s/step':>15} {'RSS MB':>7} {'cp RSS MB':>10}" if args.with_cp else ''))
    for name in args.models:
        ours, peer = [], []
        for _ in range(args.rounds):
            ours.append(measure(sys.executable, name))
            if args.peer_python:
                peer.append(measure(args.peer_python, name))
        best_ours = min(r['seconds'] for r in ours)
        line = f'{name:<12} {best_ours:>12.3f}'
        if peer:
            best_peer = min(r['seconds'] for r in peer)
            line += f' {best_peer:>17.3f} {best_peer / best_ours:>7.2f}'
        else:
            line += f" {'-':>17} {'-':>7}"
        if args.with_cp:
            cp = measure(sys.executable, name, with_cp=True)
            line += f" {cp['seconds']:>15.3f} {max(r['peak_rss_growth_mb'] for r in ours):>7.0f} " \
                    f"{cp['peak_rss_growth_mb']:>10.0f}"
        print(line, flush=True)


if __name__ == '__main__':
    main()
