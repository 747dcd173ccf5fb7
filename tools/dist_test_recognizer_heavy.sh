#!/usr/bin/env bash
# Usage: bash tools/dist_test_recognizer_heavy.sh CONFIG CHECKPOINT NPROC [--out x.pkl] [--batch_size 5] ...
# NPROC processes per node: one per GPU, or CPU processes (gloo) on a machine without GPUs.
# Env: PYTHON (default python), PORT (default 29500), NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1).
set -e
if [ $# -lt 3 ]; then
    echo "usage: $0 CONFIG CHECKPOINT NPROC [extra args for tools/test_recognizer_heavy.py]" >&2
    exit 2
fi
PYTHON=${PYTHON:-"python"}
DIR=$(cd "$(dirname "$0")" && pwd)
$PYTHON -m torch.distributed.run --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" --nproc_per_node="$3" \
    "$DIR/test_recognizer_heavy.py" "$1" "$2" --launcher pytorch "${@:4}"
