#!/usr/bin/env bash
# Works from any working directory; data goes to ${DATA_ROOT:-<repo>/data}/ava.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DATA="${DATA_ROOT:-$REPO/data}/ava"
PY="${PYTHON:-python}"
mkdir -p "$DATA"
"$PY" "$REPO/data_tools/build_rawframes.py" "$DATA/videos_trimmed_trainval" "$DATA/rawframes" --level 1 --ext mp4 \
    --task "${TASK:-rgb}" --num-workers "${WORKERS:-4}" --resume "$@"
