#!/usr/bin/env bash
# Works from any working directory; data goes to ${DATA_ROOT:-<repo>/data}/thumos14.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DATA="${DATA_ROOT:-$REPO/data}/thumos14"
PY="${PYTHON:-python}"
mkdir -p "$DATA"
mkdir -p "$DATA/annotations"
for s in val test; do
  wget -c -O "$DATA/annotations/thumos14_tag_${s}_normalized_proposal_list.txt" \
    "https://open-mmlab.s3.ap-northeast-2.amazonaws.com/mmaction/filelist/thumos14_tag_${s}_normalized_proposal_list.txt"
done
