"""The providers, by the first part of a model's name: how to word its requests,
and its backend (created only when a call must really be made)."""

from __future__ import annotations

from typing import Any

from helpers.errors import UserError
from helpers.llm import local_backend, openai_backend
from helpers.llm.backends import Backend
from helpers.llm.capabilities import DEFAULTS, Capabilities
from helpers.llm.naming import ModelSpec


def request_body(spec: ModelSpec, kind: str, messages: list[dict[str, str]], *,
                 temperature: float, max_tokens: int, caps: Capabilities | None = None,
                 effort: str | None = None, budget: int = 0) -> dict[str, Any]:
    """The request one answer needs, in its provider's terms (without `n` or a seed).
    caps, effort and budget concern openai/ models (capabilities.py)."""
    if spec.provider == "local":
        if effort is not None:
            raise UserError(f"--reasoning-effort applies to openai/ models, not {spec.name}")
        return local_backend.request_body(kind, messages, temperature=temperature, max_tokens=max_tokens)
    return openai_backend.request_body(spec, kind, messages, temperature=temperature, max_tokens=max_tokens,
                                       caps=caps or DEFAULTS, effort=effort, budget=budget)


def backend(spec: ModelSpec, timeout: float = 60.0) -> Backend:
    if spec.provider == "local":
        return local_backend.LocalBackend(spec)
    return openai_backend.OpenAIBackend(spec, timeout=timeout)
