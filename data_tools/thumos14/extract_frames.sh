#!/usr/bin/env bash
# Works from any working directory; data goes to ${DATA_ROOT:-<repo>/data}/thumos14.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DATA="${DATA_ROOT:-$REPO/data}/thumos14"
PY="${PYTHON:-python}"
mkdir -p "$DATA"
for s in val test; do
  "$PY" "$REPO/data_tools/build_rawframes.py" "$DATA/videos/$s" "$DATA/rawframes" --level 1 --ext mp4 \
      --task "${TASK:-both}" --num-workers "${WORKERS:-4}" --resume "$@"
done
