"""One way to name and call every model: `provider/model`.

- `local/smollm2-135m-instruct`: the offline default (see local_model.py).
- `local/smollm2-135m-instruct+<adapter>`: the same with a LoRA adapter trained
  by helpers.finetune.lora (an adapter id is a content hash of its data and settings).
- `openai/<model>`: the OpenAI API, or any server that speaks its protocol
  (vLLM, Ollama, llama.cpp) when a base URL is given with --base-url or
  OPENAI_BASE_URL.

A backend does two things: `yes_no` (probabilities of yes and no as the first
answer token) and `generate` (one sampled answer). Errors that no retry can fix
(bad key, unknown model, rejected request) become one-line UserErrors; passing
faults (timeouts, 429, 5xx, dropped connections) become CallFailed, which the
caller counts as a failed call and never as a decision.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import os
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from helpers.llm import local_model
from helpers.errors import UserError

OPENAI_URL = "https://api.openai.com/v1"
PROVIDERS = ("local", "openai")
DEFAULT_MODEL = f"local/{local_model.DEFAULT_LOCAL}"
NO_KEY_HINT = f"use the offline model {DEFAULT_MODEL}"


class CallFailed(Exception):
    """A call that failed for a passing reason; it is retried, and if it keeps
    failing, counted as failed and made again on the next run."""

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.retry_after = retry_after


@dataclass(frozen=True)
class ModelSpec:
    provider: str
    model: str
    base_url: str | None = None

    @property
    def name(self) -> str:
        return f"{self.provider}/{self.model}"


def parse_model(name: str, base_url: str | None = None) -> ModelSpec:
    """Split `provider/model`, checking the provider and (for local) the model."""
    provider, sep, model = name.partition("/")
    if not sep or not model or provider not in PROVIDERS:
        raise UserError(
            f"model '{name}' must be named provider/model with provider one of "
            f"{', '.join(PROVIDERS)}, e.g. {DEFAULT_MODEL} or openai/gpt-4o-mini"
        )
    if provider == "local":
        local_model.check_name(model)
        if base_url:
            raise UserError(f"--base-url applies to openai/ models, not to {name}")
        return ModelSpec(provider, model)
    url = (base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_URL).rstrip("/")
    return ModelSpec(provider, model, url)


class Backend(Protocol):
    supports_n: bool

    async def call(self, kind: str, messages: list[dict[str, str]], params: dict[str, Any], *,
                   n: int, seed: int) -> list[dict[str, Any]]: ...


@cache
def _file_sha256(path: str, size: int, mtime: float) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def identity(spec: ModelSpec) -> dict[str, str]:
    """What identifies a model's outputs in cache keys (never the API key)."""
    if spec.provider == "local":
        path = local_model.gguf_path(spec.model)
        stat = path.stat()
        found = {"provider": "local", "model": spec.model,
                 "weights": _file_sha256(str(path), stat.st_size, stat.st_mtime)}
        adapter = local_model.split_name(spec.model)[1]
        if adapter is not None:
            # The id already hashes data and settings; hashing the trained weights
            # too keeps a retrained adapter that came out differently apart.
            path = local_model.adapter_path(adapter) / local_model.ADAPTER_WEIGHTS
            stat = path.stat()
            found["adapter"] = _file_sha256(str(path), stat.st_size, stat.st_mtime)
        return found
    return {"provider": "openai", "endpoint": spec.base_url or OPENAI_URL, "model": spec.model}


class LocalBackend:
    """The offline model, one answer per call (each sample has its own seed)."""

    supports_n = False

    def __init__(self, spec: ModelSpec):
        self._model = local_model.load(spec.model)

    async def call(self, kind, messages, params, *, n, seed):
        if n != 1:
            raise ValueError("the local backend answers one sample per call")
        if kind == "yes_no":
            return [await asyncio.to_thread(self._model.yes_no, messages)]
        return [await asyncio.to_thread(self._model.generate, messages, seed=seed, **params)]


YES_NO_TOP_LOGPROBS = 20


def request_body(spec: ModelSpec, kind: str, messages, params: dict[str, Any], *,
                 n: int = 1, seed: int | None = None) -> dict[str, Any]:
    """The chat-completions request for one call (also one line of a batch file)."""
    body: dict[str, Any] = {"model": spec.model, "messages": messages}
    if kind == "yes_no":
        body.update(max_tokens=1, temperature=0, logprobs=True, top_logprobs=YES_NO_TOP_LOGPROBS)
    else:
        body.update(temperature=params["temperature"], max_tokens=params["max_tokens"])
        if seed is not None:
            body["seed"] = seed
        if n > 1:
            body["n"] = n
    return body


def parse_completion(kind: str, completion: dict[str, Any], n: int, where: str) -> list[dict[str, Any]]:
    """One result per choice from a chat completion (as a plain dict).

    The prompt is billed once per call, so its tokens are split evenly over the
    answers; per-answer sums then add up to what was billed.
    """
    choices = completion.get("choices") or []
    if len(choices) < n:
        raise CallFailed(f"{where} returned {len(choices)} of {n} answers")
    usage = completion.get("usage") or {}
    prompt = (usage.get("prompt_tokens") or 0) / n
    completion_tokens = (usage.get("completion_tokens") or 0) / n
    results = []
    for choice in sorted(choices, key=lambda c: c.get("index", 0))[:n]:
        base = {"prompt_tokens": prompt, "completion_tokens": completion_tokens}
        if kind == "yes_no":
            content = (choice.get("logprobs") or {}).get("content") or []
            if not content:
                raise UserError(f"{where} returned no logprobs; use --mode sample with this endpoint")
            p_yes = p_no = 0.0
            for candidate in content[0].get("top_logprobs") or []:
                word = candidate["token"].strip().lower()
                if word == "yes":
                    p_yes += math.exp(candidate["logprob"])
                elif word == "no":
                    p_no += math.exp(candidate["logprob"])
            results.append({**base, "p_yes": p_yes, "p_no": p_no})
        else:
            text = ((choice.get("message") or {}).get("content") or "").strip()
            results.append({**base, "text": text})
    return results


class OpenAIBackend:
    """Chat completions through the official SDK, against OpenAI or a compatible
    server. Retries are ours (engine.py), so the SDK's own are switched off."""

    supports_n = True

    def __init__(self, spec: ModelSpec, *, timeout: float = 60.0):
        import openai

        self._openai = openai
        self.spec = spec
        self.where = f"{spec.base_url} ({spec.name})"
        key = os.environ.get("OPENAI_API_KEY")
        if not key:
            if spec.base_url == OPENAI_URL:
                raise UserError(f"no OpenAI API key: set OPENAI_API_KEY, or {NO_KEY_HINT}")
            key = "unused"  # local servers ignore the key, but the SDK wants one
        self.client = openai.AsyncOpenAI(api_key=key, base_url=spec.base_url,
                                         timeout=timeout, max_retries=0)
        self.sync_client = openai.OpenAI(api_key=key, base_url=spec.base_url,
                                         timeout=timeout, max_retries=2)

    def translate(self, exc: Exception) -> Exception:
        """Our exception for an SDK one: UserError if no retry can help, else CallFailed."""
        o = self._openai
        where = self.where
        if isinstance(exc, o.AuthenticationError):
            return UserError(f"{where} rejected the API key (401); check OPENAI_API_KEY")
        if isinstance(exc, o.NotFoundError):
            return UserError(f"{where}: model '{self.spec.model}' not found (404); check the name after openai/")
        if isinstance(exc, o.PermissionDeniedError):
            return UserError(f"{where} denied access (403): {exc.message}")
        if isinstance(exc, (o.BadRequestError, o.UnprocessableEntityError)):
            return UserError(f"{where} rejected the request ({exc.status_code}): {exc.message}")
        if isinstance(exc, o.APIStatusError):  # 429, 5xx, 408, 409
            return CallFailed(f"HTTP {exc.status_code} from {where}", retry_after(exc.response.headers))
        if isinstance(exc, o.APIConnectionError):  # includes timeouts and dropped connections
            return CallFailed(f"{type(exc).__name__} talking to {where}")
        if isinstance(exc, (ValueError, o.APIResponseValidationError)):  # malformed JSON
            return CallFailed(f"malformed reply from {where}")
        return exc

    async def call(self, kind, messages, params, *, n, seed):
        body = request_body(self.spec, kind, messages, params, n=n, seed=seed)
        try:
            response = await self.client.chat.completions.create(**body)
        except Exception as exc:  # noqa: BLE001 - translate() re-raises what it does not know
            raise self.translate(exc) from None
        return parse_completion(kind, response.model_dump(), n, self.where)


def retry_after(headers) -> float | None:
    """Seconds to wait from a 429's headers (retry-after-ms, or Retry-After in seconds)."""
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name) if headers is not None else None
        if value is not None:
            try:
                return max(0.0, float(value) / scale)
            except ValueError:
                continue
    return None


def backend(spec: ModelSpec, timeout: float = 60.0) -> Backend:
    """Create the backend for a model; only done when a call must really be made."""
    return LocalBackend(spec) if spec.provider == "local" else OpenAIBackend(spec, timeout=timeout)
