"""Reading what the test tools write and what the analysis tools need: score pickles, labels of an
annotation list and class names of a label map (metrics and score fusion: ``mmaction.evaluation.accuracy``).

Score pickle (``tools/test_recognizer.py --out``): a list with one float32 array of shape ``(1, num_classes)``
per video, in annotation-file order. ``(num_classes,)`` rows and a single ``(N, num_classes)`` array are
accepted too. The test tools also write ``<pickle>.meta.json`` (:func:`write_scores`): ``{"scores": "logits" |
"probabilities", ...}``, which the readers use when present (:func:`scores_kind`).
"""
from __future__ import annotations

import os
import re
from typing import Any, Sequence

import numpy as np

from .io import atomic_open, dump_pickle, load_pickle, open_text, read_text


def check_finite_scores(scores: np.ndarray, source: str = 'scores', names: Sequence[str] | None = None) -> None:
    """Raise ``ValueError`` when any row of ``scores`` holds NaN/inf: the count and the first one (by ``names``
    when given). An accuracy computed from such rows is meaningless (argmax of NaN is index 0)."""
    scores = np.asarray(scores)
    if scores.dtype.kind not in 'fc' or np.isfinite(scores).all():
        return
    bad = ~np.isfinite(scores.reshape(len(scores), -1)).all(axis=1)
    first = int(np.flatnonzero(bad)[0])
    name = f' ({names[first]})' if names is not None and first < len(names) else ''
    raise ValueError(f'{source}: {int(bad.sum())} of {len(scores)} videos have non-finite scores (NaN/inf); '
                     f'first: video {first}{name}: {scores[first].reshape(-1)[:5].tolist()}... '
                     f'(diverged weights, or a broken checkpoint/input); no accuracy computed')


def scores_from_results(results: Any, source: str = '<results>') -> np.ndarray:
    """Stack a result list into a float64 ``(num_videos, num_classes)`` array, checking every entry (shapes, and
    NaN/inf: counted, the first named)."""
    if isinstance(results, np.ndarray):
        if results.ndim != 2:
            raise ValueError(f'{source}: expected a (num_videos, num_classes) array, got shape {results.shape}')
        check_finite_scores(results, source)
        return results.astype(np.float64)
    if not isinstance(results, (list, tuple)) or not results:
        raise ValueError(f'{source}: expected a non-empty list of per-video score arrays, got {type(results).__name__}')
    rows = []
    for i, entry in enumerate(results):
        arr = np.asarray(entry, dtype=np.float64)
        if arr.ndim == 2 and arr.shape[0] == 1:
            arr = arr[0]
        elif arr.ndim == 2:
            # Several clips per video (an unaveraged result): average them like the test tool does.
            arr = arr.mean(axis=0)
        if arr.ndim != 1:
            raise ValueError(f'{source}: entry {i} has shape {np.shape(entry)}, expected (1, num_classes)')
        if rows and arr.shape != rows[0].shape:
            raise ValueError(f'{source}: entry {i} has {arr.shape[0]} classes, entry 0 has {rows[0].shape[0]}')
        rows.append(arr)
    scores = np.stack(rows)
    check_finite_scores(scores, source)
    return scores


def load_scores(path: str) -> np.ndarray:
    """Load a result pickle (restricted unpickler) as a ``(num_videos, num_classes)`` array."""
    return scores_from_results(load_pickle(path), source=path)


SCORE_KINDS = ('logits', 'probabilities')


def scores_meta_path(path: str) -> str:
    """The sidecar of a score pickle: ``<path>.meta.json``."""
    return os.fspath(path) + '.meta.json'


def write_scores(outputs: Sequence[np.ndarray], path: str, kind: str, **info: Any) -> None:
    """Write the score pickle (the original format, unchanged) and its sidecar ``<path>.meta.json`` saying
    whether the rows are ``'logits'`` or ``'probabilities'`` (plus ``info``: checkpoint, config, ...), both
    atomically. The sidecar is written after the pickle, so a sidecar never describes another run's pickle."""
    import json
    if kind not in SCORE_KINDS:
        raise ValueError(f'kind must be one of {SCORE_KINDS}, got {kind!r}')
    meta = dict(scores=kind, num_videos=len(outputs),
                num_classes=int(np.shape(outputs[0])[-1]) if len(outputs) else 0, **info)
    if os.path.exists(scores_meta_path(path)):
        os.remove(scores_meta_path(path))  # a stale sidecar must not describe the new pickle if writing fails
    dump_pickle(list(outputs), path)
    with atomic_open(scores_meta_path(path), 'w') as f:
        json.dump(meta, f, indent=1)


def scores_kind(path: str) -> str | None:
    """``'logits'`` or ``'probabilities'`` from a score pickle's sidecar; ``None`` when there is none (pickles of
    the original tools)."""
    import json
    meta_path = scores_meta_path(path)
    if not os.path.isfile(meta_path):
        return None
    try:
        kind = json.loads(read_text(meta_path)).get('scores')
    except (ValueError, AttributeError) as err:
        raise ValueError(f'{meta_path}: not a score sidecar (expected a JSON object with "scores"): {err}') from None
    if kind not in SCORE_KINDS:
        raise ValueError(f'{meta_path}: "scores" must be one of {SCORE_KINDS}, got {kind!r}')
    return kind


def describe_score_kinds(paths: Sequence[str], softmax: bool) -> list[str]:
    """Notes for the tools that read score pickles: a softmax over probabilities, or a sum mixing logits and
    probabilities (read from the sidecars; pickles without one are not judged)."""
    kinds = {p: scores_kind(p) for p in paths}
    notes = []
    probs = [p for p, k in kinds.items() if k == 'probabilities']
    if softmax and probs:
        notes.append(f'note: {", ".join(probs)} hold probabilities already (see the .meta.json sidecar); the '
                     f'softmax is applied to them a second time')
    if not softmax and len({k for k in kinds.values() if k is not None}) > 1:
        notes.append('warning: fusing logits with probabilities (' + ', '.join(
            f'{os.path.basename(p)}: {k}' for p, k in kinds.items() if k) + '); pass --apply-softmax to fuse '
            'probabilities')
    return notes


def read_labels(ann_file: str) -> np.ndarray:
    """Labels of a recognition list, one per non-empty line, taken from the last field.

    Works for both original formats: ``<frame_dir> <num_frames> <label>`` and ``<video> <label>``.
    """
    if not os.path.isfile(ann_file):
        raise FileNotFoundError(f'annotation file not found: {ann_file}')
    labels = []
    with open_text(ann_file) as f:
        for lineno, line in enumerate(f, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) < 2:
                raise ValueError(f'{ann_file}:{lineno}: expected "<path> [<num_frames>] <label>", got {line.strip()!r}')
            try:
                labels.append(int(fields[-1]))
            except ValueError:
                raise ValueError(f'{ann_file}:{lineno}: the last field must be an integer label, '
                                 f'got {fields[-1]!r}') from None
    if not labels:
        raise ValueError(f'{ann_file}: no annotation lines')
    return np.asarray(labels, dtype=np.int64)


_CLASS_IND = re.compile(r'^\s*(\d+)\s+(\S.*?)\s*$')


def resolve_label_map(path: str) -> str:
    """``path`` itself when it is a file, else the shipped label map it names; FileNotFoundError otherwise."""
    if os.path.isfile(path):
        return path
    from .zoo import LABEL_MAP_ALIASES, shipped_label_map
    shipped = shipped_label_map(os.fspath(path))
    if shipped is None:
        raise FileNotFoundError(f'label map not found: {path} (nor a shipped one: {", ".join(LABEL_MAP_ALIASES)})')
    return shipped


def read_label_map(path: str) -> list[str]:
    """Class names in label order from ``label_map.txt`` (one name per line) or a UCF101-style
    ``classInd.txt`` (``1 ApplyEyeMakeup``; 1-based indices are shifted to 0-based). A missing path that names a
    shipped label map (``kinetics400``, ``k700``, ``sthv2``, ``ucf101``, ``hmdb51`` ...) reads that one."""
    path = resolve_label_map(path)
    with open_text(path) as f:
        lines = [line.rstrip('\n') for line in f if line.strip()]
    if not lines:
        raise ValueError(f'{path}: empty label map')
    matches = [_CLASS_IND.match(line) for line in lines]
    if all(matches):
        index = [int(m.group(1)) for m in matches]
        base = min(index)
        if sorted(index) == list(range(base, base + len(index))) and base in (0, 1):
            names = [''] * len(index)
            for i, m in zip(index, matches):
                names[i - base] = m.group(2)
            return names
    return [line.strip() for line in lines]


def find_label_map(cfg: Any = None, explicit: str | None = None) -> str | None:
    """The label map to use: ``explicit``, else ``cfg.label_map``, else ``label_map.txt`` (or ``classInd.txt``)
    next to the test (else val, train) annotation file or its image folder; ``None`` if none is found."""
    if explicit:
        return resolve_label_map(explicit)
    if cfg is None:
        return None
    if cfg.get('label_map'):
        return cfg['label_map']
    dirs = []
    data = cfg.get('data') or {}
    for split in ('test', 'val', 'train'):
        ds = data.get(split) or {}
        if not isinstance(ds, dict):
            continue
        if isinstance(ds.get('ann_file'), str):
            dirs.append(os.path.dirname(ds['ann_file']))
        if isinstance(ds.get('img_prefix'), str) and ds['img_prefix']:
            dirs += [ds['img_prefix'], os.path.dirname(os.path.normpath(ds['img_prefix']))]
    for directory in dirs:
        for name in ('label_map.txt', 'classInd.txt'):
            candidate = os.path.join(directory, name)
            if os.path.isfile(candidate):
                return candidate
    return None
