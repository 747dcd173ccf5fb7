#!/usr/bin/env bash
# Works from any working directory; data goes to ${DATA_ROOT:-<repo>/data}/thumos14.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DATA="${DATA_ROOT:-$REPO/data}/thumos14"
PY="${PYTHON:-python}"
mkdir -p "$DATA"
# de-normalised SSN proposal lists (frame indices) next to the normalised ones
"$PY" "$REPO/data_tools/build_file_list.py" thumos14 "$DATA/rawframes" --level 1 "$@"
