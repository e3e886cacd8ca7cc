"""What the GPU check switches: the CUDA dtype (CPTBENCH_CUDA_DTYPE) and the name under which
activation checkpointing is turned off for the installed transformers (5.17 on the GPU machine
knows only ``gradient_checkpointing``)."""

import pytest

from cptbench.core.errors import ModelError
from cptbench.models.resolve import CUDA_DTYPE_ENV, cuda_dtype
from cptbench.train.common import device_arguments, no_activation_checkpointing


def test_cuda_dtype_is_bf16_unless_asked(monkeypatch):
    monkeypatch.delenv(CUDA_DTYPE_ENV, raising=False)
    assert cuda_dtype() == "bfloat16"
    monkeypatch.setenv(CUDA_DTYPE_ENV, "float32")
    assert cuda_dtype() == "float32"
    monkeypatch.setenv(CUDA_DTYPE_ENV, "float16")
    with pytest.raises(ModelError, match="CPTBENCH_CUDA_DTYPE=float16"):
        cuda_dtype()


def test_the_cpu_trains_fp32_whatever_the_variable(monkeypatch):
    monkeypatch.setenv(CUDA_DTYPE_ENV, "bfloat16")
    assert device_arguments() == {"use_cpu": True, "bf16": False}


def test_activation_checkpointing_off_under_a_name_transformers_knows():
    from transformers import TrainingArguments

    (name, value), = no_activation_checkpointing().items()
    assert name in TrainingArguments.__dataclass_fields__ and value is False
