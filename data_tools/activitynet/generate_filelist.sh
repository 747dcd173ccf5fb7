#!/usr/bin/env bash
# Works from any working directory; data goes to ${DATA_ROOT:-<repo>/data}/activitynet.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DATA="${DATA_ROOT:-$REPO/data}/activitynet"
PY="${PYTHON:-python}"
mkdir -p "$DATA"
# BMN reads per-video feature CSVs rescaled to 100 temporal steps
"$PY" "$HERE/rescale_features.py" "$DATA/${FEATURES:-features_raw}" "$DATA/activitynet_feature_cuhk/csv_mean_100" "$@"
