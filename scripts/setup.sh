#!/usr/bin/env bash
# Set up cptbench in ./.venv: torch 2.13.0 (CPU build) first, then the package with its test extras.
# torch==2.13.0 is repeated in every pip command so the resolver never swaps it for a CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet "torch==2.13.0" -e ".[dev]"
.venv/bin/python -m pip check
