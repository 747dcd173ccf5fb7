#!/usr/bin/env bash
# Works from any working directory; data goes to ${DATA_ROOT:-<repo>/data}/thumos14.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DATA="${DATA_ROOT:-$REPO/data}/thumos14"
PY="${PYTHON:-python}"
mkdir -p "$DATA"
cd "$DATA"
wget -c https://storage.googleapis.com/thumos14_files/TH14_validation_set_mp4.zip
wget -c https://storage.googleapis.com/thumos14_files/TH14_Test_set_mp4.zip
mkdir -p videos/val videos/test
unzip -o -j TH14_validation_set_mp4.zip -d videos/val
unzip -o -P "THUMOS14_REGISTERED" -j TH14_Test_set_mp4.zip -d videos/test
