#!/usr/bin/env bash
# The launcher behind every dist_*.sh wrapper: `bash tools/dist_run.sh SCRIPT NPROC ARGS...` runs tools/SCRIPT with
# torchrun, NPROC processes per node (one per GPU, or CPU processes with gloo on a machine without GPUs), adding
# `--launcher pytorch`. torchrun runs through `python -m mmaction.apis.cli`, which keeps a user error to one line.
# Env: PYTHON (default python), PORT (29500), NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1).
set -e
SCRIPT=$1
NPROC=$2
shift 2
DIR=$(cd "$(dirname "$0")" && pwd)
exec ${PYTHON:-python} -m mmaction.apis.cli --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" --nproc_per_node="$NPROC" \
    "$DIR/$SCRIPT" "$@" --launcher pytorch
