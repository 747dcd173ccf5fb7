#!/usr/bin/env python
"""Rescale per-video ActivityNet feature CSVs to a fixed number of temporal steps (100 for BMN).

    python data_tools/activitynet/rescale_features.py IN_DIR OUT_DIR [--steps 100]

Each input ``<video>.csv`` has a header row and one row of C features per snippet (T rows). The output has the
same header and ``--steps`` rows, linearly interpolated over time with the first and last snippets kept at the
ends (``np.interp`` per channel): the fixed-length input BMN's temporal grid expects.
"""
from __future__ import annotations

import argparse
import glob
import os

import numpy as np

from data_tools.media import write_lines


def rescale(features: np.ndarray, steps: int = 100) -> np.ndarray:
    """(T, C) -> (steps, C) by linear interpolation along time; T == 1 is repeated."""
    if features.ndim != 2 or len(features) == 0:
        raise ValueError(f'features must be a non-empty (T, C) array, got shape {features.shape}')
    t = len(features)
    if t == 1:
        return np.repeat(features, steps, 0)
    src = np.linspace(0.0, t - 1.0, steps)
    return np.stack([np.interp(src, np.arange(t), features[:, c]) for c in range(features.shape[1])], 1)


def rescale_csv(src: str, dst: str, steps: int = 100) -> tuple[int, int]:
    with open(src) as f:
        header = f.readline().rstrip('\n')
        try:
            data = np.loadtxt(f, delimiter=',', ndmin=2)
        except ValueError as e:
            raise ValueError(f'{src}: expected a header line then numeric comma-separated rows ({e})') from None
    out = rescale(data, steps)
    write_lines(dst, [header] + [','.join(f'{v:.6g}' for v in row) for row in out])
    return len(data), out.shape[1]


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description='Rescale feature CSVs to a fixed number of temporal steps.')
    p.add_argument('src')
    p.add_argument('out')
    p.add_argument('--steps', type=int, default=100)
    a = p.parse_args(argv)
    files = sorted(glob.glob(os.path.join(a.src, '*.csv')))
    if not files:
        raise FileNotFoundError(f'no *.csv feature files in {a.src}')
    for path in files:
        rescale_csv(path, os.path.join(a.out, os.path.basename(path)), a.steps)
    print(f'{len(files)} feature files rescaled to {a.steps} steps in {a.out}')


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
