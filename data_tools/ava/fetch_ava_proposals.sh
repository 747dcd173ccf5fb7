#!/usr/bin/env bash
# Works from any working directory; data goes to ${DATA_ROOT:-<repo>/data}/ava.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DATA="${DATA_ROOT:-$REPO/data}/ava"
PY="${PYTHON:-python}"
mkdir -p "$DATA"
mkdir -p "$DATA/annotations"
for s in train val test; do
  wget -c -O "$DATA/annotations/ava_dense_proposals_$s.FAIR.recall_93.9.pkl" \
    "https://open-mmlab.s3.ap-northeast-2.amazonaws.com/mmaction/filelist/ava_dense_proposals_$s.FAIR.recall_93.9.pkl"
done
