#!/usr/bin/env bash
# Usage: bash tools/dist_train_recognizer.sh CONFIG NPROC [--validate] [--work_dir D] [--resume_from C] ...
# NPROC processes per node: one per GPU, or CPU processes. Env: see tools/dist_run.sh.
[ $# -ge 2 ] || { echo "usage: $0 CONFIG NPROC [extra args for tools/train_recognizer.py]" >&2; exit 2; }
exec bash "$(dirname "$0")/dist_run.sh" train_recognizer.py "$2" "$1" "${@:3}"
