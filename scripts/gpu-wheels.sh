#!/usr/bin/env bash
# Here, where a package registry is reachable: download the wheels the GPU machine lacks
# (scripts/gpu-wheels.txt, CPython 3.12 manylinux x86-64) into .gpu-wheels/wheels, at most 48 MiB in
# all, for scripts/gpu-check.sh to install there. With --data DIR, also copy DIR/crossner (4.8 MB,
# MIT) to .gpu-wheels/data/crossner, so the check runs the crossdomain suite there (else it falls
# back to a synthetic suite). .gpu-wheels/ is ignored by git: carry it to the GPU machine.
#   ./scripts/gpu-wheels.sh [--data ../shared/data] [--python-version 3.12] [--max-mib 48]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
DATA=""
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --data) DATA="$2"; shift 2 ;;
    *) ARGS+=("$1"); shift ;;
  esac
done
"$PYTHON" scripts/gpu_wheels.py fetch "${ARGS[@]}"
if [ -n "$DATA" ]; then
  [ -d "$DATA/crossner" ] || { echo "--data $DATA: no crossner/ folder there" >&2; exit 2; }
  rm -rf .gpu-wheels/data && mkdir -p .gpu-wheels/data && cp -r "$DATA/crossner" .gpu-wheels/data/
fi
echo "to carry: .gpu-wheels $(du -sh .gpu-wheels | cut -f1), the tracked repository $(git ls-files -z | du -ch --files0-from=- | tail -1 | cut -f1)"
