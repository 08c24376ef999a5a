"""One way to name every model, `provider/model`, and what identifies its answers.

- `local/smollm2-135m-instruct`: the offline default (see local_model.py).
- `local/<name>`: a model named in models.toml's [local.<name>] tables.
- `local/path:<dir or file.gguf>`: a transformers model directory or a GGUF file.
- `local/<any of these>+<adapter>`: the same with a LoRA adapter trained
  by helpers.finetune.lora (an adapter id is a content hash of its data and settings).
- `openai/<model>`: the OpenAI API, or any server that speaks its protocol
  (vLLM, Ollama, llama.cpp) when a base URL is given with --base-url or
  OPENAI_BASE_URL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from helpers.errors import UserError
from helpers.llm import devices, file_hashes, local_model

OPENAI_URL = "https://api.openai.com/v1"
PROVIDERS = ("local", "openai")
DEFAULT_MODEL = f"local/{local_model.DEFAULT_LOCAL}"
NO_KEY_HINT = f"use the offline model {DEFAULT_MODEL}"


@dataclass(frozen=True)
class ModelSpec:
    provider: str
    model: str
    base_url: str | None = None

    @property
    def name(self) -> str:
        return f"{self.provider}/{self.model}"


def base_of(model: str) -> str:
    """The model a fine-tuned one (ft:BASE:org:suffix:id) was made from, else the model
    itself: what its prices, tokenizer, capabilities and shutdown date follow."""
    return model.split(":")[1] if model.startswith("ft:") and model.count(":") >= 2 else model


def parse_model(name: str, base_url: str | None = None) -> ModelSpec:
    """Split `provider/model`, checking the provider and (for local) the model."""
    provider, sep, model = name.partition("/")
    if not sep or not model or provider not in PROVIDERS:
        raise UserError(
            f"model '{name}' must be named provider/model with provider one of "
            f"{', '.join(PROVIDERS)}, e.g. {DEFAULT_MODEL} or openai/gpt-6-luna"
        )
    if provider == "local":
        local_model.check_name(model)
        if base_url:
            raise UserError(f"--base-url applies to openai/ models, not to {name}")
        return ModelSpec(provider, model)
    url = (base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_URL).rstrip("/")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:  # e.g. an unclosed [ of an IPv6 address
        hostname = None
    if hostname is None or parts.scheme not in ("http", "https"):
        source = "--base-url" if base_url else "OPENAI_BASE_URL"
        raise UserError(f"{source} '{url}' is not an http(s) address; give one like http://127.0.0.1:8000/v1")
    return ModelSpec(provider, model, url)


def file_sha256(path) -> str:
    """SHA-256 of a file, computed once per (path, size, mtime, inode) and remembered
    across processes (file_hashes.py)."""
    return file_hashes.sha256(path)


def identity(spec: ModelSpec) -> dict[str, str]:
    """What identifies a model's outputs in cache keys (never the API key).

    A local model: its name (for a model by path, only the word "path": its content
    identifies it, wherever it lies), the content hash of its base weights (the GGUF
    file's SHA-256, or a directory's weight, config, tokenizer and template files:
    local_model.directory_sha256), the adapter's weights if any, and the dtype when
    it is not fp32 (bf16 and fp16 round differently enough to change answers). The
    device is not part of it: the same fp32 weights give the same answers on a CPU
    and on a GPU up to float rounding (their kernels add in other orders), which
    only rarely flips a sampled token; keeping it out lets a GPU run reuse (and
    extend) what the CPU measured. Default CPU fp32 keys are the ones they always were.
    """
    if spec.provider == "local":
        found = {"provider": "local", "model": local_model.identity_name(spec.model),
                 "weights": local_model.weights_sha256(spec.model)}
        adapter = local_model.split_name(spec.model)[1]
        if adapter is not None:
            # The id already hashes data and settings; hashing the trained weights
            # too keeps a retrained adapter that came out differently apart.
            found["adapter"] = file_sha256(local_model.adapter_path(adapter) / local_model.ADAPTER_WEIGHTS)
        dtype = devices.placement().dtype
        if dtype != "fp32":
            found["dtype"] = dtype
        return found
    return {"provider": "openai", "endpoint": spec.base_url or OPENAI_URL, "model": spec.model}
