#!/usr/bin/env bash
# Works from any working directory; data goes to ${DATA_ROOT:-<repo>/data}/ava.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DATA="${DATA_ROOT:-$REPO/data}/ava"
PY="${PYTHON:-python}"
mkdir -p "$DATA"
# AVA needs no list file: the dataset reads the csv annotations. This writes the resolution stats
# file (video_stat_file) the AVA configs expect.
"$PY" "$HERE/trim_videos.py" --stats "$DATA/videos_trimmed_trainval" "$DATA/ava_video_resolution_stats.csv"
