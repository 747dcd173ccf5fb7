#!/usr/bin/env bash
# Works from any working directory; data goes to ${DATA_ROOT:-<repo>/data}/kinetics400.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DATA="${DATA_ROOT:-$REPO/data}/kinetics400"
PY="${PYTHON:-python}"
mkdir -p "$DATA"
for s in train val; do
  "$PY" "$REPO/data_tools/build_rawframes.py" "$DATA/videos_$s" "$DATA/rawframes_$s" --level 2 --ext mp4 \
      --task "${TASK:-rgb}" --new-short 256 --num-workers "${WORKERS:-4}" --resume "$@"
done
