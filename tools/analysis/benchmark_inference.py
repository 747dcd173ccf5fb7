"""Inference benchmark: the config's test pipeline + the recognizer in eval mode, videos/s and data vs model time.

    python tools/analysis/benchmark_inference.py CONFIG [--checkpoint C] [--num-videos N] [--batch-size B]
        [--workers W] [--warmup K] [--amp] [--channels-last] [--compile] [--cfg-options k=v ...]

Each video goes through ``data.test`` exactly as ``tools/test_recognizer.py`` would feed it (all clips x crops),
so "videos/s" is the end-to-end test throughput. Data time is the wait for the next batch from the loader
(with ``--workers 0`` the whole decode + augmentation runs in this process); model time covers the copy to the
device and the forward pass under ``torch.inference_mode`` (CUDA is synchronised before the clock stops).
The first ``--warmup`` batches are run but not timed (allocator warm-up, ``--compile`` tracing).

``--amp`` autocasts to float16 on CUDA and bfloat16 on CPU; ``--channels-last`` converts the weights to
``channels_last`` (2D) / ``channels_last_3d`` (3D convolutions); ``--compile`` wraps the backbone in
``torch.compile``. Without ``--checkpoint`` the weights are the config's initialisation (speed does not
depend on them).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import time
from typing import TYPE_CHECKING

from mmaction.apis.cli import DictAction

if TYPE_CHECKING:  # torch and the models are imported after argument parsing (fast --help)
    import torch
    import torch.nn as nn


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Benchmark recognizer inference (test pipeline + model).')
    parser.add_argument('config', help='config file (its data.test and model are used)')
    parser.add_argument('--checkpoint', default=None, help='optional weights to load')
    parser.add_argument('--num-videos', type=int, default=50, help='videos to time (first N of data.test)')
    parser.add_argument('--batch-size', type=int, default=1, help='videos per forward pass')
    parser.add_argument('--workers', type=int, default=0, help='DataLoader workers (0: decode in this process)')
    parser.add_argument('--warmup', type=int, default=2, help='untimed batches before timing')
    parser.add_argument('--amp', action='store_true', help='autocast (fp16 on CUDA, bf16 on CPU)')
    parser.add_argument('--channels-last', action='store_true', help='channels_last(_3d) weights')
    parser.add_argument('--compile', action='store_true', help='torch.compile the backbone')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default=None,
                        help='override config keys, e.g. data.test.ann_file=x.txt')
    args = parser.parse_args(argv)
    for name in ('num_videos', 'batch_size'):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.workers < 0 or args.warmup < 0:
        parser.error('--workers and --warmup must be >= 0')
    return args


def memory_format_for(model: nn.Module) -> torch.memory_format:
    """``channels_last_3d`` when the model has 3D convolutions, else ``channels_last``."""
    import torch
    import torch.nn as nn
    has_3d = any(isinstance(m, nn.Conv3d) for m in model.modules())
    return torch.channels_last_3d if has_3d else torch.channels_last


def build_model(cfg, checkpoint: str | None, device: torch.device, channels_last: bool,
                compile_backbone: bool) -> nn.Module:
    import torch

    from mmaction.apis.model_loading import load_model
    # Speed does not depend on the weights: a partly matching checkpoint is fine here.
    model = load_model(cfg, checkpoint, device, strict=False, kind='recognizer')
    if channels_last:
        # Module.to(memory_format=...) converts only the parameters of matching rank (4-D for channels_last,
        # 5-D for channels_last_3d); convolutions then keep their outputs in that layout.
        model.to(memory_format=memory_format_for(model))
    if compile_backbone:
        # Only the backbone: the recognizer's forward takes img_meta lists and returns numpy, which would
        # break the graph anyway.
        model.backbone = torch.compile(model.backbone)
    return model


def benchmark(cfg, checkpoint: str | None = None, num_videos: int = 50, batch_size: int = 1, workers: int = 0,
              warmup: int = 2, amp: bool = False, channels_last: bool = False, compile_backbone: bool = False,
              device: torch.device | None = None) -> dict:
    """Time ``num_videos`` test videos; returns counts, seconds and rates (see :func:`format_report`)."""
    import torch

    from mmaction.apis.test import apply_three_crop_override
    from mmaction.datasets import build_dataloader, build_dataset
    from mmaction.engine.dist_utils import get_device
    from mmaction.utils.device import to_device
    device = device or get_device()
    cfg.data.test.test_mode = True
    apply_three_crop_override(cfg)  # the same pooling fix test_recognizer.py applies to 3-crop tests
    model = build_model(cfg, checkpoint, device, channels_last, compile_backbone)
    dataset = build_dataset(cfg.data.test, where='data.test')
    total = min(len(dataset), warmup * batch_size + num_videos)
    if total <= warmup * batch_size:
        raise ValueError(f'data.test has {len(dataset)} videos: not enough for {warmup} warm-up batches of '
                         f'{batch_size} plus timed videos')
    subset = torch.utils.data.Subset(dataset, range(total))
    loader = build_dataloader(subset, batch_size, workers, num_gpus=1, dist=False, shuffle=False)
    amp_dtype = torch.float16 if device.type == 'cuda' else torch.bfloat16
    autocast = torch.autocast(device.type, dtype=amp_dtype) if amp else contextlib.nullcontext()

    def sync() -> None:
        if device.type == 'cuda':
            torch.cuda.synchronize(device)

    data_s = model_s = 0.0
    timed_videos = 0
    batches = iter(loader)
    index = 0
    with torch.inference_mode(), autocast:
        while True:
            t0 = time.perf_counter()
            try:
                data = next(batches)
            except StopIteration:
                break
            t1 = time.perf_counter()
            data = to_device(data, device)
            model(return_loss=False, **data)
            sync()
            t2 = time.perf_counter()
            clip_shape = tuple(data['img_group_0'].shape[1:])  # one video's input, read off the batch
            if index >= warmup:
                data_s += t1 - t0
                model_s += t2 - t1
                timed_videos += int(data['img_group_0'].shape[0])
            index += 1
    wall = data_s + model_s
    return {'videos': timed_videos, 'device': str(device), 'input_shape': clip_shape,
            'data_s': data_s, 'model_s': model_s, 'videos_per_s': timed_videos / wall if wall else float('inf'),
            'model_videos_per_s': timed_videos / model_s if model_s else float('inf'),
            'data_ms_per_video': 1e3 * data_s / timed_videos, 'model_ms_per_video': 1e3 * model_s / timed_videos}


def format_report(r: dict) -> str:
    return (f"{r['videos']} videos on {r['device']}, input per video {r['input_shape']}\n"
            f"videos/s: {r['videos_per_s']:.2f} (model only: {r['model_videos_per_s']:.2f})\n"
            f"data: {r['data_ms_per_video']:.1f} ms/video ({100 * r['data_s'] / (r['data_s'] + r['model_s']):.0f}%), "
            f"model: {r['model_ms_per_video']:.1f} ms/video")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from mmaction.utils.config import load_config
    cfg = load_config(args.config, args.cfg_options)
    result = benchmark(cfg, args.checkpoint, args.num_videos, args.batch_size, args.workers, args.warmup,
                       args.amp, args.channels_last, args.compile)
    flags = [name for name in ('amp', 'channels_last', 'compile') if getattr(args, name)]
    print(f"{os.path.basename(args.config)} batch {args.batch_size}, workers {args.workers}"
          f"{', ' + ', '.join(flags) if flags else ''}")
    print(format_report(result))


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
