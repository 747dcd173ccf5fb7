#!/usr/bin/env bash
# Works from any working directory; data goes to ${DATA_ROOT:-<repo>/data}/ucf101.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DATA="${DATA_ROOT:-$REPO/data}/ucf101"
PY="${PYTHON:-python}"
mkdir -p "$DATA"
cd "$DATA"
wget -c --no-check-certificate https://www.crcv.ucf.edu/data/UCF101/UCF101.rar
unrar x -o+ UCF101.rar   # needs unrar (apt-get install unrar)
mv UCF-101 videos && rm UCF101.rar
