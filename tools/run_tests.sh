#!/usr/bin/env bash
# Quick start, command 2: set up, then run the whole test suite (slow end-to-end runs included).
# Pass pytest options through, e.g. `bash tools/run_tests.sh -m "not slow"` for the fast tests only.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh
PYTHON=${PYTHON:-python3}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
exec "$PYTHON" -m pytest tests -q -ra --timeout=1200 "$@"
