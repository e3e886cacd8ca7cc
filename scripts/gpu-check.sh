#!/usr/bin/env bash
# The GPU check in one command (benchmarks/gpu_check.py): agreement with the CPU, evaluation and
# training throughput, the Accelerate launch paths; at most --deadline seconds (default 480), no
# network, no model weights. Writes OUT/gpu-check.json and OUT/gpu-check.md.
#   on the GPU machine:  ./scripts/gpu-check.sh --out "$OUT"
#   here, on the CPU:    ./scripts/gpu-check.sh --device cpu --out /tmp/gpu-check      (tiny sizes)
# Options: --out DIR (required), --device auto|cuda|cpu, --tiny, --data DIR (holding crossner/),
# --deadline SECONDS, --work DIR (scratch: runs and models; default OUT-work beside OUT).
# First it installs the wheels that ./scripts/gpu-wheels.sh put in .gpu-wheels/wheels, each only
# where this Python lacks the package (or has an older one), with pip install --no-index --no-deps
# --target .gpu-wheels/site-packages, and puts that folder and the repository on PYTHONPATH (GPU_CHECK_WHEELS and
# GPU_CHECK_SITE name other folders; PYTHON another interpreter).
set -uo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$REPO/.venv/bin/python" ]; then PYTHON="$REPO/.venv/bin/python"; else PYTHON=python3; fi
fi
OUT=""
DEADLINE=480
ARGS=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT="${2:-}"; shift 2 || break ;;
    --deadline) DEADLINE="${2:-480}"; shift 2 || break ;;
    *) shift ;;
  esac
done
[ -n "$OUT" ] || { echo "usage: $0 --out DIR [--device auto|cuda|cpu] [--tiny] [--data DIR] [--deadline S]" >&2; exit 2; }
mkdir -p "$OUT"
# The folder's name must contain "site-packages": dill (datasets' fingerprints) pickles a module found
# anywhere else by value, and pyarrow's module does not pickle ("Can't pickle <class 'MonthDayNano'>").
SITE="${GPU_CHECK_SITE:-$REPO/.gpu-wheels/site-packages}"
rm -rf "$SITE"
timeout 180 "$PYTHON" "$REPO/scripts/gpu_wheels.py" install --wheels "${GPU_CHECK_WHEELS:-$REPO/.gpu-wheels/wheels}" --target "$SITE" \
  --report "$OUT/install.json" || echo "gpu-check: installing the wheels failed (see $OUT/install.json); going on" >&2
export PYTHONPATH="$SITE:$REPO${PYTHONPATH:+:$PYTHONPATH}"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
# the deadline is the Python side's; this is only a backstop should it hang itself
timeout --kill-after=10 "$(( ${DEADLINE%.*} + 60 ))" "$PYTHON" "$REPO/benchmarks/gpu_check.py" "${ARGS[@]}" \
  --install-report "$OUT/install.json" --command "./scripts/gpu-check.sh ${ARGS[*]}"
