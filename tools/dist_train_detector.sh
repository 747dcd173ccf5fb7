#!/usr/bin/env bash
# Usage: bash tools/dist_train_detector.sh CONFIG NPROC [--validate] [--work_dir D] [--resume_from C] ...
# NPROC processes per node: one per GPU, or CPU processes (gloo) on a machine without GPUs.
# Env: PYTHON (default python), PORT (default 29500), NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1).
set -e
if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG NPROC [extra args for tools/train_detector.py]" >&2
    exit 2
fi
PYTHON=${PYTHON:-"python"}
CONFIG=$1
NPROC=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
DIR=$(cd "$(dirname "$0")" && pwd)

$PYTHON -m torch.distributed.run --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --master_port="$PORT" --nproc_per_node="$NPROC" \
    "$DIR/train_detector.py" "$CONFIG" --launcher pytorch "${@:3}"
