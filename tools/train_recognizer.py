"""Train a recognizer: ``python tools/train_recognizer.py CONFIG [--work_dir D] [--validate] ...``.

Multi-GPU / multi-process: ``bash tools/dist_train_recognizer.sh CONFIG N [args]`` (torchrun + --launcher pytorch).
Flags: see ``mmaction.apis.cli.add_train_args`` (shared with train_detector.py and train_localizer.py).
"""
from __future__ import annotations

from mmaction.apis.cli import train_main


def build_model(model_cfg, **kwargs):
    from mmaction.models import build_recognizer  # after argument parsing: --help does not import torch
    return build_recognizer(model_cfg, **kwargs)


def main(argv: list[str] | None = None):
    return train_main(argv, build_model, 'Train an action recognizer')


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
