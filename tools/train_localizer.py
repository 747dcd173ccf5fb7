"""Train a temporal localizer (BMN, BSN, SSN): ``python tools/train_localizer.py CONFIG [--work_dir D] ...``.

Multi-GPU / multi-process: ``bash tools/dist_train_localizer.sh CONFIG N [args]`` (torchrun + --launcher pytorch).
Same flags as ``train_recognizer.py``; the model builder and the training-set builder differ.
"""
from __future__ import annotations

from mmaction.apis.cli import train_main


def main(argv: list[str] | None = None):
    from mmaction.apis.localization import build_localization_dataset
    from mmaction.models import build_localizer
    return train_main(argv, build_localizer, 'Train a temporal action localizer',
                      build_dataset_fn=lambda cfg: build_localization_dataset(cfg, 'data.train'),
                      validate_help='run the validation workflow when the engine supports it')


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
