"""Annotation list parsing with errors that name the file, the line number and the expected format.

Original MMAction v0 lists (v0 reference §5.2, §5.5) and the mmaction2 variants (mmaction2 reference §2.4):
- rawframes: ``<frame_dir> <num_frames> <label>``; mmaction2 multi-label ``<frame_dir> <num_frames> <l1> <l2> ...``;
  ``with_offset``: ``<frame_dir> <offset> <num_frames> <label>``;
- videos: ``<path_without_ext> <label>`` (or ``<path.ext> <label>``), multi-label ``<path> <l1> <l2> ...``.
Blank lines are skipped. Every record keeps ``line_no`` and ``line`` for error messages.
"""
from __future__ import annotations

import os

from mmaction.utils.io import open_text

_RAW_FMT = "'<frame_dir> <num_frames> <label>'"
_RAW_OFFSET_FMT = "'<frame_dir> <offset> <num_frames> <label>'"
_VIDEO_FMT = "'<path> <label>'"


class AnnotationError(ValueError):
    """A line of an annotation file does not have the expected format."""


def _read_lines(ann_file: str, key: str = 'ann_file') -> list[tuple[int, str]]:
    if not isinstance(ann_file, (str, os.PathLike)):
        raise TypeError(f"config key '{key}' must be a path, got {type(ann_file).__name__}: {ann_file!r}")
    ann_file = os.fspath(ann_file)
    if not os.path.isfile(ann_file):
        raise FileNotFoundError(f"annotation file not found: {ann_file} (config key '{key}')")
    with open_text(ann_file) as f:
        return [(i + 1, line.rstrip('\n')) for i, line in enumerate(f) if line.strip()]


def _ints(fields: list[str], ann_file: str, line_no: int, line: str, fmt: str) -> list[int]:
    try:
        return [int(x) for x in fields]
    except ValueError:
        raise AnnotationError(f'{ann_file}:{line_no}: malformed line {line!r}: expected {fmt} '
                              f'with integer numbers, got {fields!r}') from None


def load_rawframes_list(ann_file: str, multi_class: bool = False, with_offset: bool = False) -> list[dict]:
    """Records ``{frame_dir, total_frames, label, offset, line_no, line}``."""
    fmt = _RAW_OFFSET_FMT if with_offset else _RAW_FMT
    records = []
    for line_no, line in _read_lines(ann_file):
        fields = line.split()
        need = 4 if with_offset else 3
        if len(fields) < need or (len(fields) > need and not multi_class):
            raise AnnotationError(f'{ann_file}:{line_no}: malformed line {line!r}: expected {fmt}'
                                  + (' (multi-label lists need multi_class=True)' if len(fields) > need else ''))
        nums = _ints(fields[1:], ann_file, line_no, line, fmt)
        offset, nums = (nums[0], nums[1:]) if with_offset else (0, nums)
        total, labels = nums[0], nums[1:]
        if total < 1:
            raise AnnotationError(f'{ann_file}:{line_no}: num_frames must be >= 1, got {total} in {line!r}')
        records.append(dict(frame_dir=fields[0], total_frames=total, offset=offset,
                            label=labels if multi_class else labels[0], line_no=line_no, line=line))
    return _non_empty(records, ann_file)


def load_video_list(ann_file: str, multi_class: bool = False) -> list[dict]:
    """Records ``{path, label, line_no, line}``."""
    records = []
    for line_no, line in _read_lines(ann_file):
        fields = line.split()
        if len(fields) < 2 or (len(fields) > 2 and not multi_class):
            raise AnnotationError(f'{ann_file}:{line_no}: malformed line {line!r}: expected {_VIDEO_FMT}'
                                  + (' (multi-label lists need multi_class=True)' if len(fields) > 2 else ''))
        labels = _ints(fields[1:], ann_file, line_no, line, _VIDEO_FMT)
        records.append(dict(path=fields[0], label=labels if multi_class else labels[0], line_no=line_no, line=line))
    return _non_empty(records, ann_file)


def _non_empty(records: list[dict], ann_file: str) -> list[dict]:
    # An empty list used to pass --check-data and fail later inside torch's sampler (num_samples=0).
    if not records:
        raise AnnotationError(f'empty list: {os.fspath(ann_file)} has no annotation lines')
    return records


def labels_out_of_range(records: list[dict], num_classes: int, ann_file: str) -> list[str]:
    """``'FILE:LINE: label L outside [0, num_classes - 1]'`` for each record whose label (or any label of a
    multi-label record) a ``num_classes``-way head cannot take."""
    problems = []
    for record in records:
        labels = record.get('label')
        for label in labels if isinstance(labels, (list, tuple)) else [labels]:
            if isinstance(label, int) and not 0 <= label < num_classes:
                problems.append(f"{ann_file}:{record.get('line_no', '?')}: label {label} outside "
                                f"[0, {num_classes - 1}] (num_classes={num_classes})")
    return problems


def load_scale_file(path: str) -> dict[str, tuple[int, int]]:
    """``img_scale_file``: lines ``<path> <w> <h>`` -> ``{path: (w, h)}``."""
    out = {}
    for line_no, line in _read_lines(path, 'img_scale_file'):
        fields = line.split()
        if len(fields) != 3:
            raise AnnotationError(f"{path}:{line_no}: malformed line {line!r}: expected '<path> <w> <h>'")
        w, h = _ints(fields[1:], path, line_no, line, "'<path> <w> <h>'")
        out[fields[0]] = (w, h)
    return out
