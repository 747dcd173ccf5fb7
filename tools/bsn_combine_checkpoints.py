"""BSN: join the trained TEM and PEM stage checkpoints into one ``tem.*`` + ``pem.*`` checkpoint for the end-to-end
config (``configs/localization/bsn/bsn_*_feature.py``, model type ``BSN``: TEM -> PGM -> PEM in one forward).

    python tools/bsn_combine_checkpoints.py TEM.pth PEM.pth bsn.pth
    python tools/test_localizer.py configs/localization/bsn/bsn_400x100_activitynet_feature.py bsn.pth --eval AR@AN
"""
from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description='Combine BSN TEM and PEM checkpoints')
    p.add_argument('tem_checkpoint')
    p.add_argument('pem_checkpoint')
    p.add_argument('out', help='output .pth')
    p.add_argument('--trust-checkpoint', '--trust_checkpoint', dest='trust_checkpoint', action='store_true',
                   help='allow full unpickling of the input files (only for files you trust)')
    args = p.parse_args(argv)
    from mmaction.models.localizers.bsn import combine_stage_checkpoints
    state = combine_stage_checkpoints(args.tem_checkpoint, args.pem_checkpoint, args.out, args.trust_checkpoint)
    print(f'BSN checkpoint with {len(state)} tensors written to {args.out}')


if __name__ == '__main__':
    from mmaction.apis.cli import run_tool
    run_tool(main)
