"""Random decisions of transforms are recorded in ``results['aug_params']`` and can be replayed.

Multi-modality samples run the same pipeline once per modality; the later runs get the first run's
``aug_params`` as ``results['replay']`` so that every modality shares frames, crop and flip.
"""
from __future__ import annotations

from typing import Any, Callable


def replay_or_draw(results: dict, key: str, draw: Callable[[], Any]) -> Any:
    """Return the replayed value for ``key`` if present, otherwise ``draw()``; record it either way."""
    replay = results.get('replay') or {}
    value = replay[key] if key in replay else draw()
    results.setdefault('aug_params', {})[key] = value
    return value
