"""Option help shared by several commands."""

BACKEND_HELP = "Evaluation backend (hf: transformers, batched; fp32 on CPU, bf16 on CUDA)."
