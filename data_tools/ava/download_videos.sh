#!/usr/bin/env bash
# Works from any working directory; data goes to ${DATA_ROOT:-<repo>/data}/ava.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DATA="${DATA_ROOT:-$REPO/data}/ava"
PY="${PYTHON:-python}"
mkdir -p "$DATA"
mkdir -p "$DATA/videos"
wget -c -O "$DATA/ava_file_names_trainval_v2.1.txt" \
  https://s3.amazonaws.com/ava-dataset/annotations/ava_file_names_trainval_v2.1.txt
while read -r f; do
  [ -e "$DATA/videos/$f" ] || wget -c -O "$DATA/videos/$f" "https://s3.amazonaws.com/ava-dataset/trainval/$f"
done < "$DATA/ava_file_names_trainval_v2.1.txt"
