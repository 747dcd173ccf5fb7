#!/usr/bin/env bash
# Installs mmaction and its test extras into the current Python environment.
# torch is installed first on its own: asking pip for mmaction's `torch>=2.1` with no torch present makes it
# resolve the newest CUDA build (several GB). Set TORCH_SPEC to the build for your platform
# (e.g. TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cu124"); an installed torch is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c "import torch" >/dev/null 2>&1; then
  "$PYTHON" -m pip install --quiet ${TORCH_SPEC:-torch==2.13.0}
fi
"$PYTHON" -m pip install --quiet -e ".[test]"
