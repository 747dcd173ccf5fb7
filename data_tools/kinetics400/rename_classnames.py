#!/usr/bin/env python
"""Rename Kinetics class folders with the same normalisation the list builder uses (spaces, parentheses, quotes).

    python data_tools/kinetics400/rename_classnames.py data/kinetics400/videos_train data/kinetics400/videos_val
"""
from __future__ import annotations

import os

from data_tools.build_file_list import normalize_class_name


def rename_classnames(root: str) -> list[tuple[str, str]]:
    """Rename every class folder of ``root``; returns the (old, new) pairs. Refuses to merge two folders."""
    renamed = []
    for name in sorted(os.listdir(root)):
        new = normalize_class_name(name)
        if new != name and os.path.isdir(os.path.join(root, name)):
            if os.path.exists(os.path.join(root, new)):
                raise FileExistsError(f'{root}: cannot rename {name!r} to {new!r}: it already exists')
            os.rename(os.path.join(root, name), os.path.join(root, new))
            renamed.append((name, new))
    return renamed


def main(argv: list[str] | None = None) -> None:
    import argparse
    p = argparse.ArgumentParser(description='Normalise Kinetics class folder names')
    p.add_argument('roots', nargs='+', help='folders holding one sub-folder per class')
    for root in p.parse_args(argv).roots:
        print(f'{root}: renamed {len(rename_classnames(root))} class folders')


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
