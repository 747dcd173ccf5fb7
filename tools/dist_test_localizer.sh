#!/usr/bin/env bash
# Usage: bash tools/dist_test_localizer.sh CONFIG CHECKPOINT NPROC [--out x.pkl] [--eval thumos14] ...
# NPROC processes per node: one per GPU, or CPU processes (gloo) on a machine without GPUs.
# Env: PYTHON (default python), PORT (default 29500), NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1).
set -e
if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG CHECKPOINT NPROC [extra args for tools/test_localizer.py]" >&2
    exit 2
fi
PYTHON=${PYTHON:-"python"}
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
DIR=$(cd "$(dirname "$0")" && pwd)

$PYTHON -m torch.distributed.run --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --master_port="$PORT" --nproc_per_node="$NPROC" \
    "$DIR/test_localizer.py" "$CONFIG" "$CHECKPOINT" --launcher pytorch "${@:4}"
