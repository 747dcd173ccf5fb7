#!/usr/bin/env bash
# Works from any working directory; data goes to ${DATA_ROOT:-<repo>/data}/activitynet.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DATA="${DATA_ROOT:-$REPO/data}/activitynet"
PY="${PYTHON:-python}"
mkdir -p "$DATA"
# ActivityNet videos come from YouTube (many are gone); the official route is the crawler of
# https://github.com/activitynet/ActivityNet/tree/master/Crawler or the organisers' download form.
command -v yt-dlp >/dev/null || { echo "install yt-dlp first: pip install yt-dlp" >&2; exit 1; }
mkdir -p "$DATA/videos"
"$PY" -c "import json,sys; [print(k) for k in json.load(open(sys.argv[1]))['database']]" \
    "$DATA/annotations/activity_net.v1-3.min.json" | while read -r vid; do
  [ -e "$DATA/videos/v_$vid.mp4" ] || yt-dlp -q -f mp4 -o "$DATA/videos/v_$vid.mp4" "https://youtu.be/$vid" || true
done
