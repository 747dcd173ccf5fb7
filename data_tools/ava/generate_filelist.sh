#!/usr/bin/env bash
# Works from any working directory; data goes to ${DATA_ROOT:-<repo>/data}/ava.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DATA="${DATA_ROOT:-$REPO/data}/ava"
PY="${PYTHON:-python}"
mkdir -p "$DATA"
# AVA needs no list file: the dataset reads the csv annotations. This writes the resolution stats file
# (video_stat_file) the AVA configs expect and checks every annotated video has frames up to its last key-frame.
if [ -d "$DATA/rawframes" ]; then src="$DATA/rawframes"; fmt=rawframes; else src="$DATA/videos_trimmed_trainval"; fmt=videos; fi
"$PY" "$REPO/data_tools/build_file_list.py" ava "$src" --format "$fmt" --level 1 "$@"
