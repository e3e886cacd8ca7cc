"""cptbench: a benchmark for continual pre-training.

Importing the package is cheap on purpose: no torch, transformers, trl or vllm at import time.
"""

__version__ = "0.1.0"
