#!/usr/bin/env bash
# Works from any working directory; data goes to ${DATA_ROOT:-<repo>/data}/kinetics400.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DATA="${DATA_ROOT:-$REPO/data}/kinetics400"
PY="${PYTHON:-python}"
mkdir -p "$DATA"
# YouTube clips disappear over time; expect a few % missing (build_file_list reports them).
# Uses yt-dlp (pip install yt-dlp) + PyAV trimming through the ActivityNet crawler's CSV convention.
command -v yt-dlp >/dev/null || { echo "install yt-dlp first: pip install yt-dlp" >&2; exit 1; }
for s in train val; do
  "$PY" - "$DATA/annotations/kinetics_$s.csv" "$DATA/videos_$s" <<'EOF'
import csv, os, subprocess, sys
ann, out = sys.argv[1:3]
for r in csv.DictReader(open(ann)):
    vid = f"{r['youtube_id']}_{int(r['time_start']):06d}_{int(r['time_end']):06d}"
    d = os.path.join(out, r['label'])
    dst = os.path.join(d, vid + '.mp4')
    if os.path.exists(dst):
        continue
    os.makedirs(d, exist_ok=True)
    subprocess.call(['yt-dlp', '-q', '-f', 'mp4', '--download-sections',
                     f"*{r['time_start']}-{r['time_end']}", '-o', dst, 'https://youtu.be/' + r['youtube_id']])
EOF
done
"$PY" "$HERE/rename_classnames.py" "$DATA/videos_train" "$DATA/videos_val"
