#!/usr/bin/env bash
# Works from any working directory; data goes to ${DATA_ROOT:-<repo>/data}/ava.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DATA="${DATA_ROOT:-$REPO/data}/ava"
PY="${PYTHON:-python}"
mkdir -p "$DATA"
cd "$DATA"
wget -c https://research.google.com/ava/download/ava_v2.1.zip
mkdir -p annotations && unzip -o -j ava_v2.1.zip -d annotations/ && rm ava_v2.1.zip
