#!/usr/bin/env bash
# Usage: bash tools/dist_test_localizer.sh CONFIG CHECKPOINT NPROC [--out x.pkl] [--eval thumos14] ...
# NPROC processes per node: one per GPU, or CPU processes. Env: see tools/dist_run.sh.
[ $# -ge 3 ] || { echo "usage: $0 CONFIG CHECKPOINT NPROC [extra args for tools/test_localizer.py]" >&2; exit 2; }
exec bash "$(dirname "$0")/dist_run.sh" test_localizer.py "$3" "$1" "$2" "${@:4}"
