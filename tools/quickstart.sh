#!/usr/bin/env bash
# Quick start, command 1: set up, build the toy dataset, train TSN on it with 2 processes, test, print accuracy.
# Runs on CPU (2 gloo processes) or on 2 GPUs when present. Env: NPROC (default 2), WORK_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh
PYTHON=${PYTHON:-python3}
export PYTHON
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
NPROC=${NPROC:-2}
CONFIG=configs/TSN/toy/tsn_r18_toy.py
WORK_DIR=${WORK_DIR:-work_dirs/tsn_r18_toy}

if [ ! -f data/toy/toy_val_list_rawframes.txt ]; then
  "$PYTHON" data_tools/toy/build_toy_dataset.py --out data/toy
fi
bash tools/dist_train_recognizer.sh "$CONFIG" "$NPROC" --validate --seed 0 --work_dir "$WORK_DIR"
bash tools/dist_test_recognizer.sh "$CONFIG" "$WORK_DIR/latest.pth" "$NPROC" --out "$WORK_DIR/toy_val_scores.pkl"
