"""``MultiScaleFlipAug``: several test views of one sample (mmdet's name), e.g. the original AVA test
(one view per scale, and its flipped copy when ``flip_ratio > 0``)."""
from __future__ import annotations

from typing import Sequence

from mmaction.registry import PIPELINES

from .compose import Compose


@PIPELINES.register_module()
class MultiScaleFlipAug:
    """Run ``transforms`` once per ``(scale, flip)`` of ``img_scale`` x ``[False, True if flip]``, the random
    choices ``'scale'`` and ``'flip'`` replayed (so the inner ``Resize``/``Flip`` take that view's values);
    ``results['views']`` holds the view results in that order (scale-major).
    """

    def __init__(self, transforms: Sequence[dict], img_scale: Sequence, flip: bool = False):
        scales = [tuple(img_scale)] if not isinstance(img_scale, list) else [tuple(s) for s in img_scale]
        if not scales:
            raise ValueError('MultiScaleFlipAug: img_scale needs at least one (w, h) scale')
        self.scales = scales
        self.flips = [False, True] if flip else [False]
        self.transforms = Compose(transforms, where='MultiScaleFlipAug.transforms')

    def __call__(self, results: dict) -> dict:
        views = []
        for scale in self.scales:
            for flip in self.flips:
                view = dict(results)
                view['replay'] = dict(results.get('replay') or {}, scale=scale, flip=flip)
                views.append(self.transforms(view))
        results['views'] = views
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(scales={self.scales}, flips={self.flips}, transforms={self.transforms!r})'
