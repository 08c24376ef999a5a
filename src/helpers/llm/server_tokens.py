"""Prompt tokens as a self-hosted OpenAI-compatible server counts them, asked of
the server itself (for endpoints other than api.openai.com).

tiktoken's o200k is OpenAI's tokenizer, not a llama.cpp or vLLM model's, and it
knows nothing of the model's chat template; so where a server offers a tokenizer
we ask it. Each endpoint is probed once per process (the answer is kept in
memory), with a short timeout, in this order:

- vLLM: `POST {root}/tokenize` with `{"model", "messages"}` renders the chat
  template and answers `{"count", "max_model_len", "tokens"}`. The route has no
  /v1 prefix (vllm/entrypoints/serve/tokenize/api_router.py: `@router.post(
  "/tokenize")` on a router included at the root; protocol.py there:
  TokenizeChatRequest, `add_generation_prompt` true by default, and
  TokenizeResponse). Exact.
- llama.cpp's server: `POST {root}/apply-template` with `{"messages"}` answers
  `{"prompt"}`, the chat template rendered as text, without inference; `POST
  {root}/tokenize` with `{"content", "add_special", "parse_special"}` answers
  `{"tokens"}` (tools/server/README.md of ggml-org/llama.cpp). Together, exact
  (but for a BOS token either way).
- llama-cpp-python's server: `POST {root}/extras/tokenize` with `{"input"}`
  answers `{"tokens"}` for plain text, with no chat template
  (llama_cpp/server/app.py); and an old llama.cpp without /apply-template:
  `/tokenize` on the text alone. Approximate: the messages' contents are counted
  by the server and the template's framing is assumed (TEMPLATE_PER_MESSAGE,
  TEMPLATE_PER_REPLY).
- Anything else (Ollama has no tokenizer route), or a server that does not
  answer: tiktoken, approximate.

The API key (OPENAI_API_KEY) goes as a bearer header when set, and is never
part of a message here.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Any

from helpers.llm import tokens
from helpers.llm.naming import ModelSpec

PROBE_TIMEOUT = 2.0  # seconds per request to the server's tokenizer
RETRY_UNREACHABLE = 60.0  # seconds before an endpoint that did not answer is probed again
# The framing a chat template adds around each message when the server can only
# tokenize plain text: ChatML (`<|im_start|>role\n ... <|im_end|>\n`, used by
# SmolLM2, Qwen) is 5 tokens per message and `<|im_start|>assistant\n` 3 for the
# reply; Llama 3's headers are 4-5 per message and 4 for the reply.
TEMPLATE_PER_MESSAGE = 5
TEMPLATE_PER_REPLY = 3

# How each way of counting is described in an estimate's notes.
METHODS = {
    "vllm": "the server's tokenizer and chat template (vLLM /tokenize)",
    "llama.cpp": "the server's tokenizer and chat template (llama.cpp /apply-template, then /tokenize)",
    "llama-cpp-python": (f"the server's tokenizer on the messages' text (llama-cpp-python /extras/tokenize, "
                         f"which has no chat template) plus an assumed {TEMPLATE_PER_MESSAGE} tokens per message "
                         f"and {TEMPLATE_PER_REPLY} for the reply"),
    "llama.cpp-text": (f"the server's tokenizer on the messages' text (llama.cpp /tokenize; this server has no "
                       f"/apply-template) plus an assumed {TEMPLATE_PER_MESSAGE} tokens per message and "
                       f"{TEMPLATE_PER_REPLY} for the reply"),
    "tiktoken": "tiktoken {encoding}, not the server's tokenizer",
}
EXACT = {"vllm", "llama.cpp"}
TEXT_ONLY = {"llama-cpp-python", "llama.cpp-text"}  # the server's tokenizer, the template's framing assumed
# What an approximate count may be off by, and why we think so: measured against
# llama-cpp-python 0.3.36 serving SmolLM2-135M-Instruct (the offline model's GGUF,
# its own chat template), usage.prompt_tokens of real completions of 40 of the
# study's prompts. That template adds a default system message (22 tokens with its
# framing) when a conversation has none, as the study's do not.
UNCERTAINTY = {
    "llama-cpp-python": "expect up to 25% too few (the template's tokens are assumed: SmolLM2's adds a "
                        "default system message, and this count came out 22 tokens a prompt, 21% to 26%, short)",
    "llama.cpp-text": "expect up to 25% too few (the template's tokens are assumed: SmolLM2's adds a "
                      "default system message, and this count came out 22 tokens a prompt, 21% to 26%, short)",
    "tiktoken": "expect ±40% (27% too few for SmolLM2's tokenizer and template, from 23% to 31% by prompt; "
                "tokenizers with smaller vocabularies count more)",
}


@dataclass(frozen=True)
class Count:
    tokens: int
    method: str  # a key of METHODS

    @property
    def exact(self) -> bool:
        return self.method in EXACT


def describe(method: str, model: str) -> str:
    """How a count was made, for an estimate's notes."""
    return METHODS[method].format(encoding=tokens.encoding_name(model))


@dataclass
class _Capability:
    method: str  # a key of METHODS; "tiktoken" when the server offers nothing usable
    why: str = ""  # why it came to tiktoken: for the notes
    until: float = float("inf")  # time.monotonic() after which to probe again


_known: dict[str, _Capability] = {}  # by the server's root URL, for this process
_lock = threading.Lock()


def root_of(base_url: str) -> str:
    """The server's root: the base URL without its trailing /v1 (where vLLM and
    llama.cpp serve /tokenize)."""
    url = base_url.rstrip("/")
    return url[:-3] if url.endswith("/v1") else url


def why_not(root: str) -> str:
    """Why the endpoint's counts fall back to tiktoken ('' if they do not, or it was not probed)."""
    known = _known.get(root)
    return known.why if known is not None else ""


class _Unreachable(Exception):
    """The server did not answer (refused, timed out): stop asking it."""


def _text(content: Any) -> str:
    if isinstance(content, list):  # parts: only text parts are text
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "" if content is None else str(content)


class ServerTokens:
    """Counts prompts for one model on one endpoint; close() (or `with`) when done.
    Identical messages are counted once."""

    def __init__(self, spec: ModelSpec, timeout: float = PROBE_TIMEOUT):
        import httpx

        self.spec = spec
        self.root = root_of(spec.base_url or "")
        key = os.environ.get("OPENAI_API_KEY")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = httpx.Client(timeout=timeout, headers=headers)
        self._memo: dict[tuple, Count] = {}
        self._refused: int | None = None  # an HTTP 401 or 403 seen while probing

    def __enter__(self) -> ServerTokens:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    # -- HTTP ----------------------------------------------------------------
    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """The JSON object a route answers, or None if it has no such route (or refuses);
        _Unreachable if the server does not answer at all."""
        try:
            response = self._client.post(self.root + path, json=body)
        except Exception as exc:  # noqa: BLE001 - refused, timed out, dropped, a bad URL: only its type is said
            raise _Unreachable(f"{self.root} did not answer ({type(exc).__name__})") from None
        if response.status_code in (401, 403):
            self._refused = response.status_code
        if response.status_code != 200:
            return None
        try:
            payload = response.json()
        except ValueError:
            return None
        return payload if isinstance(payload, dict) else None

    @staticmethod
    def _token_list(payload: dict[str, Any] | None) -> int | None:
        found = payload.get("tokens") if payload else None
        return len(found) if isinstance(found, list) else None

    # -- the ways of counting ----------------------------------------------
    def _vllm(self, messages: list[dict]) -> int | None:
        payload = self._post("/tokenize", {"model": self.spec.model, "messages": messages})
        count = payload.get("count") if payload else None
        return count if isinstance(count, int) and not isinstance(count, bool) and count > 0 else None

    def _llama_cpp(self, messages: list[dict]) -> int | None:
        payload = self._post("/apply-template", {"messages": messages})
        prompt = payload.get("prompt") if payload else None
        if not isinstance(prompt, str) or not prompt:
            return None
        # The server tokenizes a chat prompt with special tokens parsed and BOS added.
        return self._token_list(self._post("/tokenize", {"content": prompt, "add_special": True,
                                                         "parse_special": True})) or None

    def _framed(self, messages: list[dict], content_tokens: int | None) -> int | None:
        if not content_tokens:
            return None
        return content_tokens + TEMPLATE_PER_MESSAGE * len(messages) + TEMPLATE_PER_REPLY

    def _llama_cpp_python(self, messages: list[dict]) -> int | None:
        text = "\n".join(_text(m.get("content")) for m in messages)
        return self._framed(messages, self._token_list(self._post("/extras/tokenize",
                                                                  {"input": text, "model": self.spec.model})))

    def _llama_cpp_text(self, messages: list[dict]) -> int | None:
        text = "\n".join(_text(m.get("content")) for m in messages)
        return self._framed(messages, self._token_list(self._post("/tokenize", {"content": text,
                                                                                "add_special": True})))

    _WAYS = ("vllm", "llama.cpp", "llama-cpp-python", "llama.cpp-text")

    def _way(self, method: str):
        return {"vllm": self._vllm, "llama.cpp": self._llama_cpp, "llama-cpp-python": self._llama_cpp_python,
                "llama.cpp-text": self._llama_cpp_text}[method]

    # -- counting ------------------------------------------------------------
    def _probe(self, messages: list[dict]) -> tuple[_Capability, int | None]:
        """Try each way on these messages: the first that works is the endpoint's."""
        try:
            for method in self._WAYS:
                found = self._way(method)(messages)
                if found is not None:
                    return _Capability(method), found
        except _Unreachable as exc:
            return _Capability("tiktoken", str(exc), time.monotonic() + RETRY_UNREACHABLE), None
        if self._refused:
            return _Capability("tiktoken", f"{self.root} refused its tokenizer routes (HTTP {self._refused}; "
                                           "check OPENAI_API_KEY)"), None
        return _Capability("tiktoken", f"{self.root} offers no tokenizer route (/tokenize, /apply-template, "
                                       "/extras/tokenize)"), None

    def count(self, messages: list[dict]) -> Count:
        """The prompt tokens of these chat messages, and how they were counted."""
        memo_key = tuple((m.get("role"), _text(m.get("content"))) for m in messages)
        if memo_key in self._memo:
            return self._memo[memo_key]
        found: int | None = None
        with _lock:
            known = _known.get(self.root)
            if known is None or time.monotonic() > known.until:
                known, found = self._probe(messages)
                _known[self.root] = known
        method = known.method
        if method != "tiktoken" and found is None:
            try:
                found = self._way(method)(messages)
            except _Unreachable as exc:
                found = None
                with _lock:
                    _known[self.root] = _Capability("tiktoken", f"{exc} after answering earlier",
                                                    time.monotonic() + RETRY_UNREACHABLE)
            if found is None:
                method = "tiktoken"
        if found is None:
            found = tokens.count_openai(self.spec.model, messages)
        result = Count(found, method)
        self._memo[memo_key] = result
        return result
