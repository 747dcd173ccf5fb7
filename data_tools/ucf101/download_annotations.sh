#!/usr/bin/env bash
# Works from any working directory; data goes to ${DATA_ROOT:-<repo>/data}/ucf101.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DATA="${DATA_ROOT:-$REPO/data}/ucf101"
PY="${PYTHON:-python}"
mkdir -p "$DATA"
cd "$DATA"
wget -c https://www.crcv.ucf.edu/data/UCF101/UCF101TrainTestSplits-RecognitionTask.zip
unzip -o -j UCF101TrainTestSplits-RecognitionTask.zip -d annotations/
rm UCF101TrainTestSplits-RecognitionTask.zip
