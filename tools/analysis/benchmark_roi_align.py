"""Time the vectorised CPU RoIAlign against the loop restatement of the kernel (and torchvision when usable).

``python tools/analysis/benchmark_roi_align.py [--rois 100] [--channels 1024] [--size 16] [--out 16] [--frames 1]``
AVA shape: 1024-channel stride-16 map of a 256x256 clip (16x16), 16x16 output, sample_num 2.
"""
from __future__ import annotations

import argparse
import time


def _time(fn, repeat: int) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--rois', type=int, default=100)
    p.add_argument('--channels', type=int, default=1024)
    p.add_argument('--size', type=int, default=16)
    p.add_argument('--out', type=int, default=16)
    p.add_argument('--batch', type=int, default=2)
    p.add_argument('--repeat', type=int, default=5)
    p.add_argument('--threads', type=int, default=1)
    args = p.parse_args()
    import torch

    from mmaction.ops.roi_align import roi_align, roi_align_reference
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    feat = torch.randn(args.batch, args.channels, args.size, args.size, generator=g)
    img = args.size * 16
    xy = torch.rand(args.rois, 2, generator=g) * img * 0.7
    wh = torch.rand(args.rois, 2, generator=g) * img * 0.3 + 8
    rois = torch.cat([torch.randint(0, args.batch, (args.rois, 1), generator=g).float(), xy, xy + wh], 1)
    t_vec = _time(lambda: roi_align(feat, rois, args.out, 1 / 16, 2), args.repeat)
    print(f'vectorised roi_align: {args.rois} rois x {args.channels} ch, {args.size}x{args.size} map -> '
          f'{args.out}x{args.out}: {t_vec * 1e3:.2f} ms/call ({args.threads} thread(s))')
    few = rois[:4]
    t_ref = _time(lambda: roi_align_reference(feat[:, :8], few, args.out, 1 / 16, 2, False), 1)
    est = t_ref * (args.rois / 4) * (args.channels / 8) ** 0.0  # loop cost is per sample point, ~channel-free
    print(f'loop restatement: {t_ref * 1e3:.1f} ms for 4 rois (8 ch) -> ~{est * 1e3:.0f} ms for {args.rois} rois; '
          f'speed-up ~{est / t_vec:.0f}x')
    try:
        from torchvision.ops import roi_align as tv
        t_tv = _time(lambda: tv(feat, rois, args.out, 1 / 16, 2, aligned=True), args.repeat)
        print(f'torchvision roi_align (aligned): {t_tv * 1e3:.2f} ms/call')
    except Exception as err:  # torchvision absent or broken on this torch
        print(f'torchvision.ops unavailable ({type(err).__name__})')


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
