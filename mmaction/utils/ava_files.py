"""AVA annotation files read by both the AVA dataset and the AVA evaluation: key-frame keys, the label-map
pbtxt and the excluded-timestamps CSV (in ``utils`` so that ``datasets`` need not import ``evaluation``)."""
from __future__ import annotations

import csv
import re

from .io import open_text


def make_image_key(video_id: str, timestamp: str | int | float) -> str:
    """The key-frame key ``"video_id,%04d"`` used by the CSVs, the proposal pickles and the results."""
    return f'{video_id},{int(float(timestamp)):04d}'


def read_labelmap(path: str) -> tuple[list[dict], set[int]]:
    """Parse an AVA label-map pbtxt (``name: "..."`` then ``id:`` or ``label_id:``).

    Returns ``([{'id': int, 'name': str}, ...], {ids})`` in file order.
    """
    labelmap, ids, name = [], set(), None
    with open_text(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if line.startswith('name:'):
                match = re.match(r'name:\s*"(.*)"', line)
                if match is None:
                    raise ValueError(f'{path}:{lineno}: expected name: "<class name>", got {line!r}')
                name = match.group(1)
            elif line.startswith('id:') or line.startswith('label_id:'):
                try:
                    class_id = int(line.split(':', 1)[1])
                except ValueError:
                    raise ValueError(f'{path}:{lineno}: expected an integer id, got {line!r}') from None
                if name is None:
                    raise ValueError(f'{path}:{lineno}: id {class_id} appears before any name: "..." line')
                labelmap.append({'id': class_id, 'name': name})
                ids.add(class_id)
                name = None
    if not labelmap:
        raise ValueError(f'{path}: no "name:"/"id:" entries found (expected an AVA label-map pbtxt)')
    return labelmap, ids


def read_exclusions(path: str | None) -> set[str]:
    """Key-frames listed in an excluded-timestamps CSV (``video_id,timestamp`` rows)."""
    excluded: set[str] = set()
    if not path:
        return excluded
    with open_text(path) as f:
        for lineno, row in enumerate(csv.reader(f), 1):
            if not row:
                continue
            if len(row) != 2:
                raise ValueError(f'{path}:{lineno}: expected 2 columns video_id,timestamp, got {row!r}')
            try:
                excluded.add(make_image_key(row[0], row[1]))
            except ValueError:
                raise ValueError(f'{path}:{lineno}: timestamp must be a number, got {row[1]!r}') from None
    return excluded
