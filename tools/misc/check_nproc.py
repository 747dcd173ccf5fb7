"""Pre-launch check of ``tools/dist_run.sh``: can NPROC processes per node each get a device?

    python tools/misc/check_nproc.py NPROC [DEVICE]

Prints the device type the processes will use (``cuda`` or ``cpu``); exits 2 with one line naming the visible GPU
count and what to pass when NPROC exceeds the visible GPUs (see ``mmaction.apis.check_nproc``).
"""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) not in (1, 2):
        print('usage: check_nproc.py NPROC [DEVICE]', file=sys.stderr)
        return 2
    from mmaction.apis.env import check_nproc
    try:
        print(check_nproc(argv[0], argv[1] if len(argv) == 2 else None))
    except ValueError as err:
        print(f'error: {err}', file=sys.stderr)
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
