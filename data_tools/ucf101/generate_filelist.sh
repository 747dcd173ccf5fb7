#!/usr/bin/env bash
# Works from any working directory; data goes to ${DATA_ROOT:-<repo>/data}/ucf101.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DATA="${DATA_ROOT:-$REPO/data}/ucf101"
PY="${PYTHON:-python}"
mkdir -p "$DATA"
for fmt in rawframes videos; do
  src="$DATA/$fmt"; [ -d "$src" ] || continue
  "$PY" "$REPO/data_tools/build_file_list.py" ucf101 "$src" --format "$fmt" --level 2 --num-split 3 --shuffle "$@"
done
# flow lists (count = flow pairs) for TSN/I3D flow configs; only when frames (with flow) were extracted
if [ -d "$DATA/rawframes" ]; then
  "$PY" "$REPO/data_tools/build_file_list.py" ucf101 "$DATA/rawframes" --modality flow --num-split 3 --shuffle \
      --out-list-path "$DATA/flow_lists" "$@"
fi
