#!/usr/bin/env bash
# Works from any working directory; data goes to ${DATA_ROOT:-<repo>/data}/ucf101.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DATA="${DATA_ROOT:-$REPO/data}/ucf101"
PY="${PYTHON:-python}"
mkdir -p "$DATA"
# RGB + optical flow (TV-L1 with opencv-contrib-python, else DIS), class/video layout
"$PY" "$REPO/data_tools/build_rawframes.py" "$DATA/videos" "$DATA/rawframes" --level 2 --ext avi \
    --task "${TASK:-both}" --num-workers "${WORKERS:-4}" --resume "$@"
