"""One way to name and call every model: `provider/model`.

- `local/smollm2-135m-instruct`: the offline default (see local_model.py).
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

import hashlib
import math
import os
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from . import local_model
from .errors import UserError

OPENAI_URL = "https://api.openai.com/v1"
PROVIDERS = ("local", "openai")
DEFAULT_MODEL = f"local/{local_model.DEFAULT_LOCAL}"
NO_KEY_HINT = f"use the offline model {DEFAULT_MODEL}"


class CallFailed(Exception):
    """A call that failed for a passing reason; the caller retries it on the next run."""


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
    def yes_no(self, messages: list[dict[str, str]]) -> dict[str, Any]: ...

    def generate(self, messages: list[dict[str, str]], *, temperature: float,
                 max_tokens: int, seed: int) -> dict[str, Any]: ...


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
        return {"provider": "local", "model": spec.model,
                "weights": _file_sha256(str(path), stat.st_size, stat.st_mtime)}
    return {"provider": "openai", "endpoint": spec.base_url or OPENAI_URL, "model": spec.model}


class LocalBackend:
    def __init__(self, spec: ModelSpec):
        self._model = local_model.load(spec.model)

    def yes_no(self, messages):
        return self._model.yes_no(messages)

    def generate(self, messages, *, temperature, max_tokens, seed):
        return self._model.generate(messages, temperature=temperature,
                                    max_tokens=max_tokens, seed=seed)


YES_NO_TOP_LOGPROBS = 20


class OpenAIBackend:
    """Chat completions through the official SDK, against OpenAI or a compatible server."""

    def __init__(self, spec: ModelSpec, *, timeout: float = 60.0, max_retries: int = 2):
        import openai

        self._openai = openai
        self.spec = spec
        key = os.environ.get("OPENAI_API_KEY")
        if not key:
            if spec.base_url == OPENAI_URL:
                raise UserError(f"no OpenAI API key: set OPENAI_API_KEY, or {NO_KEY_HINT}")
            key = "unused"  # local servers ignore the key, but the SDK wants one
        self.client = openai.OpenAI(api_key=key, base_url=spec.base_url,
                                    timeout=timeout, max_retries=max_retries)

    def _create(self, **kwargs: Any):
        o = self._openai
        where = f"{self.spec.base_url} ({self.spec.name})"
        try:
            return self.client.chat.completions.create(model=self.spec.model, **kwargs)
        except o.AuthenticationError:
            raise UserError(f"{where} rejected the API key (401); check OPENAI_API_KEY") from None
        except o.NotFoundError:
            raise UserError(f"{where}: model '{self.spec.model}' not found (404); check the name after openai/") from None
        except o.PermissionDeniedError as exc:
            raise UserError(f"{where} denied access (403): {exc.message}") from None
        except (o.BadRequestError, o.UnprocessableEntityError) as exc:
            raise UserError(f"{where} rejected the request ({exc.status_code}): {exc.message}") from None
        except o.APIStatusError as exc:  # 429 and 5xx after the SDK's own retries
            raise CallFailed(f"HTTP {exc.status_code} from {where}") from None
        except o.APIConnectionError as exc:  # includes timeouts
            raise CallFailed(f"{type(exc).__name__} talking to {where}") from None

    @staticmethod
    def _usage(response) -> dict[str, int]:
        usage = response.usage
        return {"prompt_tokens": getattr(usage, "prompt_tokens", 0) or 0,
                "completion_tokens": getattr(usage, "completion_tokens", 0) or 0}

    def yes_no(self, messages):
        response = self._create(messages=messages, max_tokens=1, temperature=0,
                                logprobs=True, top_logprobs=YES_NO_TOP_LOGPROBS)
        logprobs = response.choices[0].logprobs
        if logprobs is None or not logprobs.content:
            raise UserError(
                f"{self.spec.base_url} returned no logprobs for {self.spec.name}; "
                "use --mode sample with this endpoint"
            )
        p_yes = p_no = 0.0
        for candidate in logprobs.content[0].top_logprobs:
            word = candidate.token.strip().lower()
            if word == "yes":
                p_yes += math.exp(candidate.logprob)
            elif word == "no":
                p_no += math.exp(candidate.logprob)
        return {"p_yes": p_yes, "p_no": p_no, **self._usage(response)}

    def generate(self, messages, *, temperature, max_tokens, seed):
        response = self._create(messages=messages, temperature=temperature,
                                max_tokens=max_tokens, seed=seed)
        text = response.choices[0].message.content or ""
        return {"text": text.strip(), **self._usage(response)}


def backend(spec: ModelSpec) -> Backend:
    """Create the backend for a model; only done when a call must really be made."""
    return LocalBackend(spec) if spec.provider == "local" else OpenAIBackend(spec)
