"""Chat completions through the official SDK, against OpenAI or any server that
speaks its protocol. Retries, deadlines and concurrency are ours (engine.py), so
the SDK's own retries are off.

Replies are read as JSON and checked field by field: a server that answers with
the wrong shape (a string for `choices`, a number for `content`, a body of
`null`) fails that one call with a named reason, never the run.
"""

from __future__ import annotations

import asyncio
import email.utils
import importlib
import json
import math
import os
import time
from typing import Any

from helpers.errors import UserError
from helpers.llm.backends import CallFailed, Unsupported
from helpers.llm.capabilities import DEFAULTS, Capabilities
from helpers.llm.naming import NO_KEY_HINT, OPENAI_URL, ModelSpec

# An endpoint returns only the top few first-token log-probabilities; how many is
# part of the request, so part of the cache key.
YES_NO_TOP_LOGPROBS = 20


def request_body(spec: ModelSpec, kind: str, messages: list[dict[str, str]], *,
                 temperature: float, max_tokens: int, caps: Capabilities = DEFAULTS,
                 effort: str | None = None, budget: int = 0) -> dict[str, Any]:
    """The chat-completions request of one answer, without `n` and `seed` (which
    `with_n_seed` adds when it is sent), in the terms this model takes (caps).

    effort: the reasoning_effort to send (None: send none, the model's default
    applies). budget: reasoning tokens allowed on top of max_tokens when the model
    reasons, since reasoning counts against the same limit. A request the model
    cannot answer as asked (exact mode without logprobs, a temperature it does not
    take) is a UserError here, before anything is sent or spent.
    """
    name = spec.name
    if effort is not None:
        if caps.efforts and effort not in caps.efforts:
            raise UserError(f"{name} takes reasoning efforts {', '.join(caps.efforts)}, not {effort!r} "
                            f"(models.toml rule '{caps.rule}'); choose one of them")
        if not caps.efforts and caps.rule != "defaults":
            raise UserError(f"{name} takes no reasoning effort (models.toml rule '{caps.rule}'); drop "
                            "--reasoning-effort, or run it apart from the reasoning models")
    at = f"at reasoning effort {caps.effort(effort)!r}" if caps.reasoning else ""
    body: dict[str, Any] = {"model": spec.model, "messages": messages}
    if kind == "yes_no":
        if not caps.gives_logprobs(effort):
            other = (", or --reasoning-effort none (it returns them then)"
                     if caps.logprobs == "effort-none" and "none" in caps.efforts else "")
            raise UserError(f"{name} returns no logprobs {at}".rstrip() + ", so exact mode cannot read its "
                            f"first token: use --mode sample{other}")
        body[caps.token_limit] = 1
        if caps.takes_temperature(effort):
            body["temperature"] = 0
        body.update(logprobs=True, top_logprobs=YES_NO_TOP_LOGPROBS)
    else:
        body[caps.token_limit] = max_tokens + (budget if caps.reasons(effort) else 0)
        if caps.takes_temperature(effort):
            body["temperature"] = temperature
        elif temperature != 1:
            other = " or --reasoning-effort none" if caps.temperature == "effort-none" and "none" in caps.efforts else ""
            raise UserError(f"{name} takes only its default temperature (1) {at}".rstrip() +
                            f": use --temperature 1{other}")
    if effort is not None:
        body["reasoning_effort"] = effort
    return body


def with_n_seed(kind: str, body: dict[str, Any], n: int, seed: int | None) -> dict[str, Any]:
    """The body as sent: sampled answers carry a seed, and `n` when one request carries several."""
    if kind == "yes_no":
        return body
    return {**body, **({"seed": seed} if seed is not None else {}), **({"n": n} if n > 1 else {})}


def _malformed(where: str, what: str) -> CallFailed:
    return CallFailed(f"malformed reply from {where}: {what}", kind="malformed reply")


def _kind_of(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _tokens(usage: dict, name: str, where: str) -> float:
    value = usage.get(name)
    if value is None:
        return 0.0  # some servers leave usage out; the answer is still real
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _malformed(where, f"usage.{name} is {value!r}, not a number")
    return float(value)


def parse_completion(kind: str, completion: Any, n: int, where: str) -> list[dict[str, Any]]:
    """One result per choice received (at most n) from a chat completion (plain JSON).

    A server may return fewer choices than `n` (some ignore it): those it returned
    are real answers and are kept; the caller asks for the rest. The prompt is
    billed once per call, so its tokens are split evenly over the answers received;
    per-answer sums then add up to what was billed.
    """
    if not isinstance(completion, dict):
        raise _malformed(where, f"the body is {_kind_of(completion)}, not a JSON object")
    choices = completion.get("choices")
    if not isinstance(choices, list) or not choices:
        raise _malformed(where, f"`choices` is {_kind_of(choices) if not isinstance(choices, list) else 'empty'}, "
                                "not a list of answers")
    if not all(isinstance(c, dict) for c in choices):
        raise _malformed(where, "an entry of `choices` is not an object")
    usage = completion.get("usage") or {}
    if not isinstance(usage, dict):
        raise _malformed(where, f"`usage` is {_kind_of(usage)}, not an object")
    received = sorted(choices, key=lambda c: c.get("index", 0) if isinstance(c.get("index"), int) else 0)[:n]
    prompt = _tokens(usage, "prompt_tokens", where) / len(received)
    completion_tokens = _tokens(usage, "completion_tokens", where) / len(received)
    details = usage.get("completion_tokens_details")
    # Reasoning tokens are part of completion_tokens (and billed as output); kept apart
    # so a reader can tell thinking from answering.
    reasoning = _tokens(details, "reasoning_tokens", where) / len(received) if isinstance(details, dict) else 0.0
    served = {"response_model": _text_or_none(completion.get("model")),
              "system_fingerprint": _text_or_none(completion.get("system_fingerprint"))}
    results = []
    for choice in received:
        base = {"prompt_tokens": prompt, "completion_tokens": completion_tokens, "reasoning_tokens": reasoning,
                **served, "finish_reason": _text_or_none(choice.get("finish_reason"))}
        if kind == "yes_no":
            results.append({**base, **_yes_no(choice, where)})
        else:
            message = choice.get("message")
            content = message.get("content") if isinstance(message, dict) else None
            if content is not None and not isinstance(content, str):
                raise _malformed(where, f"message.content is {_kind_of(content)}, not text")
            results.append({**base, "text": (content or "").strip()})
    return results


def _yes_no(choice: dict, where: str) -> dict[str, Any]:
    """P(yes) and P(no) of the first token as listed in its top logprobs (every listed
    spelling), plus what bounds a word the list leaves out.

    An endpoint lists only the k likeliest tokens (k = top_logprobs), so a yes or no
    missing from the list is not impossible: its probability lies between 0 and
    `p_unlisted`, the least likely listed token's (and never more than the list leaves
    of the total). `top_k` is how many were listed. Spellings of a word that is
    listed are read as they are found; rows.exact_reading turns the bound into an
    interval for the refusal probability.
    """
    logprobs = choice.get("logprobs")
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    if content == [] and choice.get("finish_reason") == "stop":
        # Logprobs are supported, but the model ended its answer before a first token
        # (llama.cpp with a chat template that does not suit the model does this).
        raise CallFailed(f"{where} ended the answer before its first token, so there is no first-token "
                         "distribution to read; check the server's chat template", kind="empty answer")
    if not content:
        raise UserError(f"{where} returned no logprobs; use --mode sample with this endpoint")
    first = content[0] if isinstance(content, list) else None
    candidates = first.get("top_logprobs") if isinstance(first, dict) else None
    if not isinstance(candidates, list):
        raise _malformed(where, "logprobs.content[0].top_logprobs is not a list")
    p_yes = p_no = listed = 0.0
    least = 1.0
    for candidate in candidates:
        token = candidate.get("token") if isinstance(candidate, dict) else None
        logprob = candidate.get("logprob") if isinstance(candidate, dict) else None
        if (not isinstance(token, str) or isinstance(logprob, bool) or not isinstance(logprob, (int, float))
                or math.isnan(logprob)):
            raise _malformed(where, f"a top_logprobs entry is {candidate!r}, not a token and a number")
        p = min(math.exp(logprob), 1.0)
        listed += p
        least = min(least, p)
        word = token.strip().lower()
        if word == "yes":
            p_yes += p
        elif word == "no":
            p_no += p
    # An unlisted token is no likelier than the least likely listed one (the list is the
    # top k) nor than what the listed ones leave of 1. Rounded logprobs can make the list
    # sum to 1 or more: then only the k-th value bounds it (never 0, which would turn a
    # bound into certainty and a test's p into 0). With nothing listed, anything goes.
    left = 1.0 - listed
    unlisted = (min(least, left) if left > 0 else least) if candidates else 1.0
    return {"p_yes": p_yes, "p_no": p_no, "top_k": len(candidates), "p_unlisted": unlisted}


def retry_after(headers) -> float | None:
    """Seconds to wait from a 429's headers: retry-after-ms, or Retry-After in seconds
    or as an HTTP date. May be inf (the caller caps it); None if absent or unreadable."""
    if headers is None:
        return None
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            seconds = float(value) / 1000.0
            return None if math.isnan(seconds) else max(0.0, seconds)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
        return None if math.isnan(seconds) else max(0.0, seconds)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _http_errors() -> tuple[type[Exception], ...]:
    """The HTTP library's own errors (reading a body can raise them past the SDK): the
    SDK moved from httpx to its fork httpx2, so whichever of the two is installed."""
    found = []
    for name in ("httpx2", "httpx"):
        try:
            found.append(__import__(name).HTTPError)
        except ImportError:
            continue
    return tuple(found)


def _http_library(openai):
    """The HTTP library the SDK is built on: it moved from httpx to its fork httpx2,
    so whichever its default client class derives from."""
    base = next(c for c in openai.DefaultAsyncHttpxClient.__mro__ if c.__name__ == "AsyncClient")
    return importlib.import_module(base.__module__.partition(".")[0])


def _pool(openai):
    """The SDK's own async HTTP client, but keeping every connection it opens alive.

    The engine's throttle already bounds the calls in flight (engine.py), so the
    pool needs no limit of its own; the SDK's default keeps at most 100 idle
    connections, and with more calls than that in flight (a vLLM cluster takes
    hundreds) each burst of answers closed the surplus, and the next calls opened
    them anew: measured, 2,500 TCP connections for 7,000 requests at 512 in flight.
    Idle connections still close after the HTTP library's keep-alive expiry.
    """
    http = _http_library(openai)
    return openai.DefaultAsyncHttpxClient(limits=http.Limits(max_connections=None, max_keepalive_connections=None))


class OpenAIBackend:
    supports_n = True

    def __init__(self, spec: ModelSpec, *, timeout: float = 60.0):
        import openai

        self._openai = openai
        self.spec = spec
        self.where = f"{spec.base_url} ({spec.name})"
        self.deadline = timeout
        key = os.environ.get("OPENAI_API_KEY")
        if not key:
            if spec.base_url == OPENAI_URL:
                raise UserError(f"no OpenAI API key: set OPENAI_API_KEY, or {NO_KEY_HINT}")
            key = "unused"  # local servers ignore the key, but the SDK wants one
        self._key = key
        self._timeout = timeout
        # An async client's connections belong to the event loop that opened them, and
        # each run of the engine is its own loop (asyncio.run); so one client per loop,
        # closed when the engine's run ends (aclose), never reused on a closed loop.
        self._client = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._response = _http_library(openai).Response
        self._auth = {"Authorization": f"Bearer {key}"}
        self.sync_client = openai.OpenAI(api_key=key, base_url=spec.base_url,
                                         timeout=timeout, max_retries=2)

    def _async_client(self):
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = self._openai.AsyncOpenAI(api_key=self._key, base_url=self.spec.base_url,
                                                    timeout=self._timeout, max_retries=0,
                                                    http_client=_pool(self._openai))
            self._loop = loop
        return self._client

    async def aclose(self) -> None:
        client, loop = self._client, self._loop
        self._client = self._loop = None
        if client is not None and loop is asyncio.get_running_loop():
            await client.close()

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
        if isinstance(exc, o.BadRequestError):
            error = exc.body if isinstance(exc.body, dict) else {}
            message = error.get("message") if isinstance(error.get("message"), str) else exc.message
            param, code = error.get("param"), error.get("code")
            if isinstance(param, str) and (code in ("unsupported_parameter", "unsupported_value")
                                           or message.startswith(("Unsupported parameter", "Unsupported value"))):
                return Unsupported(param, code if isinstance(code, str) else None, message, where)
            return UserError(f"{where} rejected the request (400): {message}")
        if isinstance(exc, o.UnprocessableEntityError):
            return UserError(f"{where} rejected the request ({exc.status_code}): {exc.message}")
        if isinstance(exc, o.RateLimitError):
            return CallFailed(f"HTTP 429 (rate limited) from {where}", retry_after(exc.response.headers),
                              kind="HTTP 429")
        if isinstance(exc, o.APIStatusError):  # 5xx, 408, 409
            detail = (exc.message or "").strip()[:120]
            return CallFailed(f"HTTP {exc.status_code} from {where}: {detail}", retry_after(exc.response.headers),
                              kind=f"HTTP {exc.status_code}")
        if isinstance(exc, o.APITimeoutError):
            return CallFailed(f"no reply from {where} within {self._timeout:g} s (--timeout)", kind="timeout",
                              billed=True)
        if isinstance(exc, (o.APIConnectionError, *_http_errors())):  # refused, reset, dropped mid-reply
            cause = exc.__cause__ or exc
            return CallFailed(f"connection to {where} failed: {type(cause).__name__}: {str(cause)[:120]}",
                              kind="connection")
        return exc

    async def send(self, kind, body, *, n, seed):
        # The SDK's generic POST (its README: "Undocumented endpoints"), not
        # chat.completions.create: the body is already the API's JSON (request_body),
        # and create() first walks it against the SDK's parameter types, which was a
        # quarter of the client's CPU per request (measured: 2.3-2.5 against 2.9-3.1 ms
        # at 64 in flight). Requests, errors (the same exceptions, so translate()
        # holds), timeouts and connections are the SDK's either way. The SDK adds the
        # API key only to requests that declare it, so this one carries it itself.
        try:
            raw = await self._async_client().post("/chat/completions", cast_to=self._response,
                                                  body=with_n_seed(kind, body, n, seed),
                                                  options={"headers": self._auth})
            text = raw.text
        except Exception as exc:  # noqa: BLE001 - translate() re-raises what it does not know
            raise self.translate(exc) from None
        try:
            completion = json.loads(text)
        except ValueError:
            raise _malformed(self.where, f"the body is not JSON ({text[:40]!r})") from None
        return parse_completion(kind, completion, n, self.where)
