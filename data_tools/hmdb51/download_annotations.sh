#!/usr/bin/env bash
# Works from any working directory; data goes to ${DATA_ROOT:-<repo>/data}/hmdb51.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DATA="${DATA_ROOT:-$REPO/data}/hmdb51"
PY="${PYTHON:-python}"
mkdir -p "$DATA"
cd "$DATA"
wget -c http://serre-lab.clps.brown.edu/wp-content/uploads/2013/10/test_train_splits.rar
mkdir -p annotations && unrar e -o+ test_train_splits.rar annotations/ && rm test_train_splits.rar
