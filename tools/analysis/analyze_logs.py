"""Plot training curves and summarise iteration times from JSON-lines training logs.

    python tools/analysis/analyze_logs.py plot_curve work_dirs/x/20240101_120000.log.json \
        --keys loss top1_acc --out curves.png
    python tools/analysis/analyze_logs.py cal_train_time work_dirs/x/*.log.json

The log (written by the trainer) holds one JSON object per line: ``{"mode": "train", "epoch": 1, "iter": 20,
"lr": ..., "time": ..., "data_time": ..., "loss": ...}`` and ``{"mode": "val", "epoch": 1, "top1 acc": ...}``.
Key names may be given with ``_`` or spaces (``top1_acc`` matches ``top1 acc``).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections import OrderedDict, defaultdict

import numpy as np


def normalize_key(key: str) -> str:
    return key.strip().lower().replace(' ', '_').replace('-', '_')


def load_json_log(path: str) -> 'OrderedDict[int, dict[str, dict[str, list]]]':
    """Parse a log into ``{epoch: {mode: {key: [values...]}}}`` in file order.

    Lines without ``mode``/``epoch`` (an environment header) are skipped; a line that is not JSON
    raises with its line number (a log cut by a crash has at most a partial last line, which is skipped).
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f'log file not found: {path}')
    with open(path, encoding='utf-8') as f:
        lines = f.read().split('\n')
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    out: OrderedDict[int, dict] = OrderedDict()
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as err:
            if lineno - 1 == last:  # a crash while writing the last line: ignore that line only
                continue
            raise ValueError(f'{path}:{lineno}: not a JSON object ({err.msg}): {line[:80]!r}') from err
        if not isinstance(entry, dict) or 'mode' not in entry or 'epoch' not in entry:
            continue
        per_mode = out.setdefault(int(entry['epoch']), {}).setdefault(entry['mode'], defaultdict(list))
        for key, value in entry.items():
            if key in ('mode', 'epoch'):
                continue
            per_mode[normalize_key(key)].append(value)
    if not out:
        raise ValueError(f'{path}: no training log entries (lines with "mode" and "epoch") found')
    return out


def iters_per_epoch(log: dict) -> int:
    """The largest logged ``iter`` of any train epoch (the loop logs every ``interval`` iterations)."""
    best = 0
    for modes in log.values():
        if 'train' in modes and modes['train'].get('iter'):
            best = max(best, max(int(i) for i in modes['train']['iter']))
    return best


def curve(log: dict, key: str) -> tuple[str, np.ndarray, np.ndarray]:
    """Return ``(mode, x, y)`` for ``key``: train keys against global iteration, val keys against epoch."""
    key = normalize_key(key)
    for mode in ('train', 'val'):
        if any(key in modes.get(mode, {}) for modes in log.values()):
            break
    else:
        found = sorted({k for modes in log.values() for m in modes.values() for k in m})
        raise KeyError(f"key '{key}' is not in the log; keys found: {', '.join(found)}")
    xs, ys = [], []
    per_epoch = iters_per_epoch(log)
    for epoch, modes in log.items():
        values = modes.get(mode, {}).get(key, [])
        if mode == 'train':
            iters = modes['train'].get('iter', list(range(1, len(values) + 1)))
            xs += [(epoch - 1) * per_epoch + int(i) for i in iters[:len(values)]]
        else:
            xs += [epoch] * len(values)
        ys += [float(v) for v in values]
    return mode, np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)


def plot_curve(log_paths: list[str], keys: list[str], out: str | None, title: str | None = None,
               legend: list[str] | None = None) -> str | None:
    """One subplot per key, one line per log; saved to ``out`` (PNG/PDF/SVG) or shown."""
    import matplotlib
    if out:
        matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from mmaction.utils.io import atomic_open
    logs = [load_json_log(p) for p in log_paths]
    legend = legend or [os.path.basename(p) for p in log_paths]
    if len(legend) != len(logs):
        raise ValueError(f'--legend has {len(legend)} names for {len(logs)} logs')
    fig, axes = plt.subplots(1, len(keys), figsize=(5 * len(keys), 3.6), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for log, name in zip(logs, legend):
            mode, x, y = curve(log, key)
            ax.plot(x, y, marker='o' if mode == 'val' else None, markersize=3, linewidth=1.2, label=name)
            ax.set_xlabel('iteration' if mode == 'train' else 'epoch')
        ax.set_title(key)
        ax.grid(alpha=0.3)
        if len(logs) > 1:
            ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if out:
        fmt = os.path.splitext(out)[1].lstrip('.') or 'png'
        with atomic_open(out, 'wb') as f:
            fig.savefig(f, format=fmt, dpi=120)
        plt.close(fig)
        return out
    plt.show()
    return None


def cal_train_time(log_path: str, include_outliers: bool = False) -> dict:
    """Per-epoch mean iteration time; the first logged entry of an epoch (worker start-up) is dropped
    unless ``include_outliers``. Also reports the share of data loading in the iteration time."""
    log = load_json_log(log_path)
    epoch_times, data_times, iter_times = {}, [], []
    for epoch, modes in log.items():
        train = modes.get('train', {})
        times = [float(t) for t in train.get('time', [])]
        dtimes = [float(t) for t in train.get('data_time', [])]
        if not include_outliers and len(times) > 1:
            times, dtimes = times[1:], dtimes[1:]
        if times:
            epoch_times[epoch] = float(np.mean(times))
            iter_times += times
            data_times += dtimes
    if not epoch_times:
        raise ValueError(f'{log_path}: no train entries with a "time" field')
    slowest = max(epoch_times, key=epoch_times.get)
    fastest = min(epoch_times, key=epoch_times.get)
    mean_time = float(np.mean(iter_times))
    return dict(slowest_epoch=slowest, slowest_time=epoch_times[slowest], fastest_epoch=fastest,
                fastest_time=epoch_times[fastest], std_over_epochs=float(np.std(list(epoch_times.values()))),
                mean_iter_time=mean_time,
                mean_data_time=float(np.mean(data_times)) if data_times else None,
                data_fraction=float(np.mean(data_times)) / mean_time if data_times and mean_time > 0 else None)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Analyze JSON-lines training logs')
    sub = parser.add_subparsers(dest='task', required=True)
    plot = sub.add_parser('plot_curve', help='plot curves of logged keys')
    plot.add_argument('json_logs', nargs='+', help='path(s) of <timestamp>.log.json')
    plot.add_argument('--keys', nargs='+', default=['loss'], help='keys to plot, e.g. loss top1_acc')
    plot.add_argument('--title', default=None)
    plot.add_argument('--legend', nargs='+', default=None, help='one name per log')
    plot.add_argument('--out', default=None, help='output image (PNG/PDF/SVG); shown on screen if omitted')
    cal = sub.add_parser('cal_train_time', help='iteration time per epoch and the data-loading share')
    cal.add_argument('json_logs', nargs='+')
    cal.add_argument('--include-outliers', action='store_true',
                     help='keep the first logged iteration of each epoch (dataloader start-up)')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.task == 'plot_curve':
        out = plot_curve(args.json_logs, args.keys, args.out, args.title, args.legend)
        if out:
            print(f'saved {out}')
        return 0
    for path in args.json_logs:
        stats = cal_train_time(path, args.include_outliers)
        print(f'-----Analyze train time of {path}-----')
        print(f"slowest epoch {stats['slowest_epoch']}, average time is {stats['slowest_time']:.4f} s/iter")
        print(f"fastest epoch {stats['fastest_epoch']}, average time is {stats['fastest_time']:.4f} s/iter")
        print(f"time std over epochs is {stats['std_over_epochs']:.4f}")
        print(f"average iter time: {stats['mean_iter_time']:.4f} s/iter")
        if stats['data_fraction'] is not None:
            print(f"average data time: {stats['mean_data_time']:.4f} s/iter "
                  f"({100 * stats['data_fraction']:.1f}% of the iteration)")
    return 0


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    sys.exit(run_tool(main))
