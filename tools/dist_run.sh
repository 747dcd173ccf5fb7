#!/usr/bin/env bash
# The launcher behind every dist_*.sh wrapper: `bash tools/dist_run.sh SCRIPT NPROC ARGS...` runs tools/SCRIPT with
# torchrun, NPROC processes per node (one per GPU, or CPU processes with gloo on a machine without GPUs), adding
# `--launcher pytorch`. torchrun runs through `python -m mmaction.apis.cli`, which keeps a user error to one line.
# Env: PYTHON (default python), PORT (29500), NNODES (1), NODE_RANK (0), MASTER_ADDR (127.0.0.1),
# DEVICE (unset: one GPU per process when GPUs are visible, else CPU; `cpu`: CPU processes with gloo, GPUs hidden;
# `cuda`: GPUs required). NPROC above the visible GPU count stops here with one line saying what to pass.
set -e
SCRIPT=$1
NPROC=$2
shift 2
DIR=$(cd "$(dirname "$0")" && pwd)
if [ "${DEVICE:-}" = cpu ]; then
    export CUDA_VISIBLE_DEVICES=
else
    ${PYTHON:-python} "$DIR/misc/check_nproc.py" "$NPROC" "${DEVICE:-}" >/dev/null
fi
exec ${PYTHON:-python} -m mmaction.apis.cli --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" --nproc_per_node="$NPROC" \
    "$DIR/$SCRIPT" "$@" --launcher pytorch
