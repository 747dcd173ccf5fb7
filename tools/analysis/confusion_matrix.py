"""Plot the row-normalised confusion matrix of a result pickle, with class names from the label map.

    python tools/analysis/confusion_matrix.py CONFIG RESULT.pkl --out cm.png [--label-map data/toy/label_map.txt]

Rows are the true class, columns the predicted class; each row is divided by the number of videos of that
class (so the diagonal is the per-class accuracy). The label map defaults to ``label_map.txt`` (or
``classInd.txt``) next to ``data.test.ann_file``. Also prints per-class accuracy and the most frequent confusions.
"""
from __future__ import annotations

import argparse
import os

import numpy as np


def normalized_confusion(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Counts ``cm[i, j]`` (true i, predicted j) and the row-normalised matrix (rows without videos stay 0)."""
    from mmaction.evaluation.accuracy import confusion_matrix
    cm = confusion_matrix(np.argmax(scores, axis=1), labels, scores.shape[1])
    rows = cm.sum(axis=1, keepdims=True)
    return cm, np.divide(cm, rows, out=np.zeros(cm.shape, dtype=np.float64), where=rows > 0)


def plot_confusion(norm: np.ndarray, names: list[str], out: str, title: str = 'Confusion matrix') -> str:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    from mmaction.utils.io import atomic_open
    n = norm.shape[0]
    side = min(24.0, max(4.5, 0.45 * n + 2))
    fig, ax = plt.subplots(figsize=(side, side * 0.9))
    image = ax.imshow(norm, cmap='Blues', vmin=0.0, vmax=1.0)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    if n <= 40:  # beyond that, names and numbers are unreadable: keep the picture only
        ax.set_xticks(range(n), names, rotation=45, ha='right', fontsize=8)
        ax.set_yticks(range(n), names, fontsize=8)
        for i in range(n):
            for j in range(n):
                if norm[i, j] > 0:
                    ax.text(j, i, f'{norm[i, j]:.2f}', ha='center', va='center', fontsize=7,
                            color='white' if norm[i, j] > 0.5 else 'black')
    ax.set_xlabel('predicted')
    ax.set_ylabel('true')
    ax.set_title(title)
    fig.tight_layout()
    fmt = os.path.splitext(out)[1].lstrip('.') or 'png'
    with atomic_open(out, 'wb') as f:
        fig.savefig(f, format=fmt, dpi=120)
    plt.close(fig)
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Confusion matrix of a recognition result pickle')
    parser.add_argument('config', help='test config (data.test.ann_file gives the labels)')
    parser.add_argument('results', help='pickle written by tools/test_recognizer.py --out')
    parser.add_argument('--out', default='confusion_matrix.png', help='output image')
    parser.add_argument('--label-map', default=None, help='class names, one per line (or classInd.txt)')
    parser.add_argument('--ann-file', default=None, help='override data.test.ann_file')
    parser.add_argument('--top-confusions', type=int, default=5, help='print this many largest off-diagonal cells')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> np.ndarray:
    args = parse_args(argv)
    from mmaction.utils.config import load_config
    from mmaction.utils.results import find_label_map, load_scores, read_label_map, read_labels
    cfg = load_config(args.config)
    ann_file = args.ann_file or cfg.data.test.ann_file
    labels = read_labels(ann_file)
    scores = load_scores(args.results)
    if scores.shape[0] != labels.shape[0]:
        raise ValueError(f'{args.results}: {scores.shape[0]} videos but {ann_file} has {labels.shape[0]}')
    num_classes = scores.shape[1]
    label_map = find_label_map(cfg, args.label_map)
    names = read_label_map(label_map) if label_map else [str(i) for i in range(num_classes)]
    if len(names) != num_classes:
        raise ValueError(f'{label_map}: {len(names)} class names but the scores have {num_classes} classes')
    cm, norm = normalized_confusion(scores, labels)
    plot_confusion(norm, names, args.out)
    print(f'saved {args.out} ({num_classes} classes, {labels.shape[0]} videos'
          + (f', names from {label_map})' if label_map else ')'))
    width = max(len(n) for n in names)
    for i, name in enumerate(names):
        if cm[i].sum():
            print(f'  {name:<{width}}  acc {100 * norm[i, i]:6.2f}%  ({cm[i, i]}/{cm[i].sum()})')
    off = [(cm[i, j], i, j) for i in range(num_classes) for j in range(num_classes) if i != j and cm[i, j]]
    for count, i, j in sorted(off, reverse=True)[:args.top_confusions]:
        print(f'  confused: {names[i]} -> {names[j]}: {count}')
    return norm


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
