"""Train a spatio-temporal detector (AVA FastRCNN): ``python tools/train_detector.py CONFIG [--work_dir D] ...``.

Multi-process (GPUs or CPU/gloo): ``bash tools/dist_train_detector.sh CONFIG N [args]``. Same flags as
``train_recognizer.py``; only the builder differs (as in the original).
"""
from __future__ import annotations

from mmaction.apis.cli import train_main


def build_model(model_cfg, **kwargs):
    from mmaction.models import build_detector  # after argument parsing: --help does not import torch
    return build_detector(model_cfg, **kwargs)


def main(argv: list[str] | None = None):
    return train_main(argv, build_model, 'Train a spatio-temporal action detector')


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
