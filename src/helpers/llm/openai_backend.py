"""Chat completions through the official SDK, against OpenAI or any server that
speaks its protocol. Retries are ours (engine.py), so the SDK's own are off."""

from __future__ import annotations

import math
import os
from typing import Any

from helpers.errors import UserError
from helpers.llm.backends import CallFailed
from helpers.llm.naming import NO_KEY_HINT, OPENAI_URL, ModelSpec

# An endpoint returns only the top few first-token log-probabilities; how many is
# part of the request, so part of the cache key.
YES_NO_TOP_LOGPROBS = 20


def request_body(spec: ModelSpec, kind: str, messages: list[dict[str, str]], *,
                 temperature: float, max_tokens: int) -> dict[str, Any]:
    """The chat-completions request of one answer, without `n` and `seed` (which
    `with_n_seed` adds when it is sent)."""
    body: dict[str, Any] = {"model": spec.model, "messages": messages}
    if kind == "yes_no":
        body.update(max_tokens=1, temperature=0, logprobs=True, top_logprobs=YES_NO_TOP_LOGPROBS)
    else:
        body.update(temperature=temperature, max_tokens=max_tokens)
    return body


def with_n_seed(kind: str, body: dict[str, Any], n: int, seed: int | None) -> dict[str, Any]:
    """The body as sent: sampled answers carry a seed, and `n` when one request carries several."""
    if kind == "yes_no":
        return body
    return {**body, **({"seed": seed} if seed is not None else {}), **({"n": n} if n > 1 else {})}


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


class OpenAIBackend:
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

    async def send(self, kind, body, *, n, seed):
        try:
            response = await self.client.chat.completions.create(**with_n_seed(kind, body, n, seed))
        except Exception as exc:  # noqa: BLE001 - translate() re-raises what it does not know
            raise self.translate(exc) from None
        return parse_completion(kind, response.model_dump(), n, self.where)
