"""Print the fully resolved config (``_base_`` inheritance and ``--cfg-options`` applied).

    python tools/misc/print_config.py CONFIG [--cfg-options data.videos_per_gpu=4 ...]
"""
from __future__ import annotations

import argparse
import os


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from mmaction.apis.cli import DictAction
    parser = argparse.ArgumentParser(description='Print the resolved config')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default=None,
                        help='override settings, key=value (nested keys with dots)')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> str:
    args = parse_args(argv)
    from mmaction.utils.config import config_text, load_config
    cfg = load_config(args.config, args.cfg_options)
    text = config_text(cfg)
    print(f'Config: {os.path.abspath(args.config)}\n{text}')
    return text


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
