#!/usr/bin/env bash
# Works from any working directory; data goes to ${DATA_ROOT:-<repo>/data}/activitynet.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DATA="${DATA_ROOT:-$REPO/data}/activitynet"
PY="${PYTHON:-python}"
mkdir -p "$DATA"
"$PY" "$REPO/data_tools/build_rawframes.py" "$DATA/videos" "$DATA/rawframes" --level 1 --ext mp4 \
    --task "${TASK:-both}" --new-short 256 --num-workers "${WORKERS:-4}" --resume "$@"
