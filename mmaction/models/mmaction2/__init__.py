"""mmaction2 1.x models with mmaction2's state-dict keys, registered in ``mmaction.registry.MODELS``.

Built from an mmaction2 ``model`` dict unchanged, so that checkpoints released by mmaction2 load with
``strict=True``. Subpackages: ``backbones``, ``necks``, ``heads``, ``recognizers``, ``localizers``, ``detectors``.
"""
# Imported for registration: every module registers its classes in mmaction.registry.MODELS.
from . import (backbones, blending, data_preprocessor, detectors, heads, localizers, necks,  # noqa: F401
               recognizers)
