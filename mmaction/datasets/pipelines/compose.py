"""``Compose``: run registered dict-in/dict-out transforms in order."""
from __future__ import annotations

from typing import Any, Callable, Sequence

from mmaction.registry import PIPELINES, build_from_cfg


@PIPELINES.register_module()
class Compose:
    """Apply ``transforms`` (config dicts or callables) in order to a ``results`` dict.

    A transform returning ``None`` drops the sample (``Compose`` then returns ``None``).
    """

    def __init__(self, transforms: Sequence[dict | Callable], where: str = 'pipeline'):
        if not isinstance(transforms, (list, tuple)):
            raise TypeError(f"config '{where}' must be a list of transform dicts, got {type(transforms).__name__}")
        self.transforms = []
        for i, t in enumerate(transforms):
            if isinstance(t, dict):
                t = build_from_cfg(t, PIPELINES, where=f'{where}[{i}]')
            elif not callable(t):
                raise TypeError(f"config '{where}[{i}]' must be a dict or a callable, got {type(t).__name__}")
            self.transforms.append(t)

    def __call__(self, results: dict[str, Any]) -> dict[str, Any] | None:
        for t in self.transforms:
            results = t(results)
            if results is None:
                return None
        return results

    def __repr__(self) -> str:
        inner = ''.join(f'\n    {t!r},' for t in self.transforms)
        return f'{type(self).__name__}([{inner}\n])'
