#!/usr/bin/env bash
# Works from any working directory; data goes to ${DATA_ROOT:-<repo>/data}/kinetics400.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DATA="${DATA_ROOT:-$REPO/data}/kinetics400"
PY="${PYTHON:-python}"
mkdir -p "$DATA"
mkdir -p "$DATA/annotations"
for s in train val test; do
  wget -c -O "$DATA/annotations/kinetics_$s.csv" \
    "https://github.com/activitynet/ActivityNet/raw/master/Crawler/Kinetics/data/kinetics-400_$s.csv"
done
