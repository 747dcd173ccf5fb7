"""Data-loading benchmark: samples/s, frames/s, decode vs augmentation time, worker utilisation.

    python tools/analysis/benchmark_data.py CONFIG [--split train|val|test] [--num-samples N]
                                            [--workers W] [--cfg-options k=v ...]

Decode time is the time spent in the decoding transforms (``*Init``/``*Decode``/``RawFrameDecode``/
``LMDBFrameDecode``), augmentation time the rest of the pipeline (sampling is counted separately). The
single-process pass measures the pipeline itself; the optional DataLoader pass (``--workers W > 0``)
reports throughput and the fraction of wall time the workers spent producing samples.
"""
from __future__ import annotations

import argparse
import time
from collections import defaultdict

from mmaction.apis.cli import DictAction
from mmaction.utils.progress import ProgressBar

DECODE = {'VideoInit', 'VideoDecode', 'DecordInit', 'OpenCVInit', 'PyAVInit', 'RawFrameDecode', 'LMDBFrameDecode'}
SAMPLING = {'TSNSampleFrames', 'SampleFrames', 'UniformSample', 'DenseSampleFrames', 'UntrimmedSampleFrames'}


class _Timed:
    """Wraps one transform and adds its run time to ``totals[category]``."""

    def __init__(self, transform, totals):
        self.transform = transform
        name = type(transform).__name__
        self.category = 'decode' if name in DECODE else 'sampling' if name in SAMPLING else 'augment'
        self.totals = totals

    def __call__(self, results):
        t0 = time.perf_counter()
        out = self.transform(results)
        self.totals[self.category] += time.perf_counter() - t0
        return out


class _TimedDataset:
    """Returns each sample with the seconds its ``__getitem__`` took (measured inside the worker)."""

    def __init__(self, dataset):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, idx):
        t0 = time.perf_counter()
        data = self.dataset[idx]
        import torch
        data['load_seconds'] = torch.tensor([time.perf_counter() - t0])
        return data


def single_process(dataset, num_samples: int) -> dict:
    totals: dict[str, float] = defaultdict(float)
    for pipeline in dataset.pipelines:
        pipeline.transforms = [_Timed(t, totals) for t in pipeline.transforms]
    frames = 0
    t0 = time.perf_counter()
    with ProgressBar(num_samples, 'single process') as bar:
        for i in range(num_samples):
            outs = dataset.run_pipelines(i % len(dataset))
            frames += sum(len(o['frame_inds']) for o in outs)
            bar.update()
    wall = time.perf_counter() - t0
    for pipeline in dataset.pipelines:
        pipeline.transforms = [t.transform for t in pipeline.transforms]
    return dict(wall=wall, frames=frames, **totals)


def with_workers(dataset, num_samples: int, workers: int, batch: int) -> dict:
    from mmaction.datasets import build_dataloader
    loader = build_dataloader(_TimedDataset(dataset), batch, workers, shuffle=False, persistent_workers=False)
    busy, seen = 0.0, 0
    t0 = time.perf_counter()
    with ProgressBar(num_samples, f'{workers} workers') as bar:
        for data in loader:
            busy += float(data['load_seconds'].sum())
            batch_size = data['load_seconds'].shape[0]
            bar.update(min(batch_size, num_samples - seen))
            seen += batch_size
            if seen >= num_samples:
                break
    wall = time.perf_counter() - t0
    return dict(wall=wall, samples=seen, utilisation=busy / (max(workers, 1) * wall))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--split', default='train', choices=['train', 'val', 'test'])
    parser.add_argument('--num-samples', type=int, default=50)
    parser.add_argument('--workers', type=int, default=0, help='also run a DataLoader with this many workers')
    parser.add_argument('--batch', type=int, default=1, help='batch size of the DataLoader pass')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default=None)
    args = parser.parse_args(argv)

    from mmaction.datasets import build_dataset
    from mmaction.utils.config import load_config
    cfg = load_config(args.config, args.cfg_options)
    if args.split not in cfg.data:
        raise SystemExit(f"{args.config}: config has no 'data.{args.split}'")
    import numpy as np
    np.random.seed(args.seed)
    dataset = build_dataset(cfg.data[args.split], where=f'data.{args.split}')
    r = single_process(dataset, args.num_samples)
    n = args.num_samples
    print(f'config: {args.config}  split: {args.split}  samples: {n}  dataset size: {len(dataset)}')
    print(f'single process: {n / r["wall"]:.2f} samples/s, {r["frames"] / r["wall"]:.1f} frames/s')
    total = r['decode'] + r['augment'] + r['sampling']
    for key in ('decode', 'augment', 'sampling'):
        print(f'  {key:9s} {1000 * r[key] / n:8.2f} ms/sample  ({100 * r[key] / max(total, 1e-12):5.1f} %)')
    if args.workers > 0:
        w = with_workers(dataset, n, args.workers, args.batch)
        print(f'DataLoader ({args.workers} workers, batch {args.batch}): {w["samples"] / w["wall"]:.2f} samples/s, '
              f'worker utilisation {100 * w["utilisation"]:.0f} %')


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
