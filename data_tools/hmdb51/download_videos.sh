#!/usr/bin/env bash
# Works from any working directory; data goes to ${DATA_ROOT:-<repo>/data}/hmdb51.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DATA="${DATA_ROOT:-$REPO/data}/hmdb51"
PY="${PYTHON:-python}"
mkdir -p "$DATA"
cd "$DATA"
wget -c http://serre-lab.clps.brown.edu/wp-content/uploads/2013/10/hmdb51_org.rar
mkdir -p videos && unrar x -o+ hmdb51_org.rar && rm hmdb51_org.rar
for f in *.rar; do d="videos/${f%.rar}"; mkdir -p "$d"; unrar e -o+ "$f" "$d/"; rm "$f"; done
