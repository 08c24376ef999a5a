"""One way to name every model, `provider/model`, and what identifies its answers.

- `local/smollm2-135m-instruct`: the offline default (see local_model.py).
- `local/smollm2-135m-instruct+<adapter>`: the same with a LoRA adapter trained
  by helpers.finetune.lora (an adapter id is a content hash of its data and settings).
- `openai/<model>`: the OpenAI API, or any server that speaks its protocol
  (vLLM, Ollama, llama.cpp) when a base URL is given with --base-url or
  OPENAI_BASE_URL.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

from helpers.errors import UserError
from helpers.llm import local_model

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


@cache
def _file_sha256(path: str, size: int, mtime: float) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def file_sha256(path) -> str:
    """SHA-256 of a file, computed once per (path, size, mtime) in a process."""
    stat = os.stat(path)
    return _file_sha256(str(path), stat.st_size, stat.st_mtime)


def identity(spec: ModelSpec) -> dict[str, str]:
    """What identifies a model's outputs in cache keys (never the API key)."""
    if spec.provider == "local":
        found = {"provider": "local", "model": spec.model,
                 "weights": file_sha256(local_model.gguf_path(spec.model))}
        adapter = local_model.split_name(spec.model)[1]
        if adapter is not None:
            # The id already hashes data and settings; hashing the trained weights
            # too keeps a retrained adapter that came out differently apart.
            found["adapter"] = file_sha256(local_model.adapter_path(adapter) / local_model.ADAPTER_WEIGHTS)
        return found
    return {"provider": "openai", "endpoint": spec.base_url or OPENAI_URL, "model": spec.model}
