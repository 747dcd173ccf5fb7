#!/usr/bin/env bash
# Works from any working directory; data goes to ${DATA_ROOT:-<repo>/data}/kinetics400.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DATA="${DATA_ROOT:-$REPO/data}/kinetics400"
PY="${PYTHON:-python}"
mkdir -p "$DATA"
for s in train val; do
  for fmt in rawframes videos; do
    src="$DATA/${fmt}_$s"; [ -d "$src" ] || continue
    "$PY" "$REPO/data_tools/build_file_list.py" kinetics400 "$src" --format "$fmt" --subset "$s" --level 2 --shuffle "$@"
  done
done
