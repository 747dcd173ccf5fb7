#!/usr/bin/env bash
# Works from any working directory; data goes to ${DATA_ROOT:-<repo>/data}/activitynet.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DATA="${DATA_ROOT:-$REPO/data}/activitynet"
PY="${PYTHON:-python}"
mkdir -p "$DATA"
mkdir -p "$DATA/annotations"
wget -c -O "$DATA/annotations/activity_net.v1-3.min.json" \
  http://ec2-52-25-205-214.us-west-2.compute.amazonaws.com/files/activity_net.v1-3.min.json
