"""Train a temporal localizer (BMN, BSN, SSN): ``python tools/train_localizer.py CONFIG [--work_dir D] ...``.

Multi-GPU / multi-process: ``bash tools/dist_train_localizer.sh CONFIG N [args]`` (torchrun + --launcher pytorch).
Same flags as ``train_recognizer.py``; the model builder and the training-set builder differ.
"""
from __future__ import annotations

from mmaction.apis.cli import train_main


def build_model(model_cfg, **kwargs):
    from mmaction.models import build_localizer  # after argument parsing: --help does not import torch
    return build_localizer(model_cfg, **kwargs)


def build_dataset(dataset_cfg):
    from mmaction.apis.localization import build_localization_dataset
    return build_localization_dataset(dataset_cfg, 'data.train')


def main(argv: list[str] | None = None):
    return train_main(argv, build_model, 'Train a temporal action localizer', build_dataset_fn=build_dataset,
                      validate_help='run the validation workflow when the engine supports it')


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
