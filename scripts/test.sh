#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the default test suite. Extra arguments go to pytest,
# e.g. `./scripts/test.sh -m slow` for the real-model tests.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export CPTBENCH_DATA_DIR="${CPTBENCH_DATA_DIR:-$(cd .. && pwd)/shared/data}"
exec .venv/bin/python -m pytest "$@"
