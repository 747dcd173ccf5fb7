"""Train a spatio-temporal detector (AVA FastRCNN): ``python tools/train_detector.py CONFIG [--work_dir D] ...``.

Multi-process (GPUs or CPU/gloo): ``bash tools/dist_train_detector.sh CONFIG N [args]``. Same flags as
``train_recognizer.py``; only the builder differs (as in the original).
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import train_recognizer  # noqa: E402  (shared flow; the builder is swapped below)


def main(argv: list[str] | None = None) -> None:
    from mmaction.models import build_detector
    # train_recognizer.main builds the model with this name; point it at the detector builder.
    import mmaction.models as models
    original = models.build_recognizer
    models.build_recognizer = build_detector
    try:
        train_recognizer.main(argv)
    finally:
        models.build_recognizer = original


if __name__ == '__main__':
    main()
