#!/usr/bin/env bash
# Works from any working directory; data goes to ${DATA_ROOT:-<repo>/data}/thumos14.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DATA="${DATA_ROOT:-$REPO/data}/thumos14"
PY="${PYTHON:-python}"
mkdir -p "$DATA"
cd "$DATA"
for s in val test; do
  [ $s = val ] && name=TH14_Temporal_annotations_validation || name=TH14_Temporal_Annotations_Test
  wget -c "http://crcv.ucf.edu/THUMOS14/Validation_set/$name.zip" || \
    wget -c "http://crcv.ucf.edu/THUMOS14/test_set/$name.zip"
  mkdir -p "annotations_$s" && unzip -o -j "$name.zip" -d "annotations_$s" && rm "$name.zip"
done
