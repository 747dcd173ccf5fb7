#!/usr/bin/env bash
# Quick start, command 2: set up, then run the whole test suite (slow end-to-end runs included).
# Pass pytest options through, e.g. `bash tools/run_tests.sh -m "not slow"` for the fast tests only. The 20 slowest
# tests are listed at the end (--durations=20): keep the suite under ~20 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup_env.sh
PYTHON=${PYTHON:-python3}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
exec "$PYTHON" -m pytest tests -q -ra --durations=20 --timeout=1200 "$@"
