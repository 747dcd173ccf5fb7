"""Command-line pieces shared by the train and test tools."""
from __future__ import annotations

import argparse
import os

from mmaction.utils.config import DictAction


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """``--trust-checkpoint``, ``--cfg-options``, ``--launcher`` and ``--local_rank``/``--local-rank``."""
    parser.add_argument('--trust-checkpoint', '--trust_checkpoint', dest='trust_checkpoint', action='store_true',
                        help='allow full unpickling of checkpoint files (only for files you trust)')
    parser.add_argument('--cfg-options', '--cfg_options', dest='cfg_options', nargs='+', action=DictAction,
                        help='override config entries, key=value (e.g. optimizer.lr=0.01 total_epochs=2)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher')
    # torch.distributed.launch passed --local_rank=N, newer versions --local-rank=N; torchrun sets LOCAL_RANK.
    parser.add_argument('--local_rank', '--local-rank', dest='local_rank', type=int, default=0)


def export_local_rank(args: argparse.Namespace) -> None:
    """Make ``--local_rank`` visible as env ``LOCAL_RANK`` (device selection reads the env)."""
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
