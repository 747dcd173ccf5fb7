"""Pre-launch check of ``tools/dist_run.sh``: can NPROC processes per node each get a device?

    python tools/misc/check_nproc.py NPROC [DEVICE]

Prints the device type the processes will use (``cuda`` or ``cpu``); exits 2 with one line naming the visible GPU
count and what to pass when NPROC exceeds the visible GPUs (see ``mmaction.apis.check_nproc``).
"""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description='Can NPROC processes per node each get a device? Prints cuda or cpu.')
    parser.add_argument('nproc', help='processes per node')
    parser.add_argument('device', nargs='?', default=None, help="'cpu', 'cuda' or empty (GPUs when visible)")
    args = parser.parse_args(argv)
    from mmaction.apis.env import check_nproc
    try:
        print(check_nproc(args.nproc, args.device))
    except ValueError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
