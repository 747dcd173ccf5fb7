#!/usr/bin/env bash
# Works from any working directory; data goes to ${DATA_ROOT:-<repo>/data}/activitynet.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DATA="${DATA_ROOT:-$REPO/data}/activitynet"
PY="${PYTHON:-python}"
mkdir -p "$DATA"
# anet_anno_{train,val,test,full}.json (ActivityNetDataset) + anet_{subset}_{video,clip}.txt from the official
# annotation JSON and the extracted frames (or the videos when no frames were extracted)
if [ -d "$DATA/rawframes" ]; then src="$DATA/rawframes"; fmt=rawframes; else src="$DATA/videos"; fmt=videos; fi
"$PY" "$REPO/data_tools/build_file_list.py" activitynet "$src" --format "$fmt" --level 1 \
    --feature-stride "${FEATURE_STRIDE:-16}" "$@"
# BMN reads per-video feature CSVs rescaled to 100 temporal steps (only when raw features were fetched)
if [ -d "$DATA/${FEATURES:-features_raw}" ]; then
  "$PY" "$HERE/rescale_features.py" "$DATA/${FEATURES:-features_raw}" "$DATA/activitynet_feature_cuhk/csv_mean_100"
fi
