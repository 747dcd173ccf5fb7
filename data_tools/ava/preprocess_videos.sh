#!/usr/bin/env bash
# Works from any working directory; data goes to ${DATA_ROOT:-<repo>/data}/ava.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DATA="${DATA_ROOT:-$REPO/data}/ava"
PY="${PYTHON:-python}"
mkdir -p "$DATA"
# 14:00 + 17 min at 30 fps (covers the annotated 15th-30th minute; frame of timestamp t = 30*(t-840)+1)
"$PY" "$HERE/trim_videos.py" "$DATA/videos" "$DATA/videos_trimmed_trainval" --start 840 --duration 1020 --fps 30 \
    --height 480 --num-workers "${WORKERS:-4}" "$@"
