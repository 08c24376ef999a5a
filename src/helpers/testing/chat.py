"""The fake OpenAI's chat completions: canned answers a test can predict, token
counts, logprobs, a requests-per-minute limit and injected faults.

A model in the server's catalogue (helpers.testing.catalogue) is served by its
rules: parameters it refuses get OpenAI's 400 (counted in stats["rejected"]),
after its shutdown date it answers 404, and a reasoning model bills reasoning
tokens inside completion_tokens, leaving the answer empty (finish_reason
"length") when max_completion_tokens cannot hold reasoning and answer. Any
other model is answered as an OpenAI-compatible server would: no checks.

Answers follow a rule a test can read: "Yes" when the prompt mentions one of
`yes_words`, otherwise "No", followed by a short reason whose wording varies
from answer to answer (the decision never does). Token counts are NOT the real
tokenizer's, on purpose (it is simple and stable): a text has one token per
word (\\w+) or punctuation mark; a prompt counts each message's tokens + 4 per
message + 3 for the reply.
"""

from __future__ import annotations

import datetime
import itertools
import math
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from helpers.testing.catalogue import lookup, reasoning_spent, refusal, system_fingerprint
from helpers.testing.transport import Reply, error

TOKEN = re.compile(r"\w+|[^\w\s]")
REASONS = {"Yes": ("It is close enough to the limit.", "The difference is negligible.",
                   "That seems reasonable here."),
           "No": ("The policy is clear.", "The rule has to be followed.", "That is over the limit.")}
FAULTS = ("http_500", "timeout", "malformed", "drop")


def count_tokens(text: str) -> int:
    return len(TOKEN.findall(text))


def _text(content: Any) -> str:
    """Message content is a string or a list of parts; only text parts count."""
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content or ""


class ChatReplies:
    """The chat-completion part of FakeOpenAI (which sets these attributes)."""

    yes_words: tuple[str, ...]
    latency: float
    rpm: int | None
    fault_rate: float
    fault_timeout: float
    logprobs: bool
    first_tokens: dict[str, list[tuple[str, float]]] | None
    ignore_n: bool
    stats: dict[str, int]
    _admitted: deque[float]
    _rng: random.Random
    _wording: itertools.count
    _lock: threading.RLock
    _closing: threading.Event  # set by close(): sleeps end at once, so closing never waits on them
    _new_id: Callable[[str], str]

    catalogue: dict[str, dict]
    today: datetime.date

    framing: int = 0
    _answering: int = 0  # chat completions being answered now (stats["most_in_flight"]: the most at once)
    # decision ("Yes" / "No") -> the first token's distribution as (token, probability)
    # pairs, listed to top_logprobs likeliest first; None (or a decision left out): Yes
    # or No 0.8, the other 0.15, "I" 0.05. A list of 21+ tokens with "Yes" last is a
    # top-20 reply that leaves Yes out.
    first_tokens: dict[str, list[tuple[str, float]]] | None = None

    def decide(self, body: dict) -> str:
        prompt = " ".join(_text(m.get("content")) for m in body.get("messages", []))
        return "Yes" if any(w in prompt for w in self.yes_words) else "No"

    def choices_wanted(self, body: dict) -> int:
        """`n`, or 1 whatever `n` is when the server ignores it (as llama.cpp's server does)."""
        return 1 if self.ignore_n else int(body.get("n") or 1)

    def respond(self, body: dict) -> dict:
        decision = self.decide(body)
        model = body.get("model", "")
        entry = lookup(self.catalogue, model)
        # Reasoning comes first and counts toward max_completion_tokens: a cap below
        # reasoning + answer leaves the answer empty, cut off for length, as OpenAI does.
        thinking = reasoning_spent(entry, body)
        cap = (body.get("max_completion_tokens") or body.get("max_tokens")) if thinking else None
        one_token = 1 in (body.get("max_tokens"), body.get("max_completion_tokens"))
        choices, spent, reasoned = [], 0, 0
        for i in range(self.choices_wanted(body)):
            # The wording varies from answer to answer, like a sampled reply; the decision never does.
            reasons = REASONS[decision]
            text = decision if one_token else f"{decision}. {reasons[next(self._wording) % len(reasons)]}"
            finish, tokens = "stop", thinking + count_tokens(text)
            if cap is not None and tokens > cap:
                text, finish, tokens = "", "length", cap
            spent += tokens
            reasoned += min(thinking, tokens)
            choice = {"index": i, "message": {"role": "assistant", "content": text},
                      "finish_reason": finish, "logprobs": None}
            if body.get("logprobs") and self.logprobs:
                top = self.first_tokens.get(decision) if self.first_tokens else None
                if top is None:
                    top = [(decision, 0.8), ("Yes" if decision == "No" else "No", 0.15), ("I", 0.05)]
                # Like OpenAI: the likeliest first, only as many as top_logprobs asks for.
                top = sorted(top, key=lambda tp: -tp[1])[: int(body.get("top_logprobs") or 1)]
                entries = [{"token": t, "logprob": math.log(p), "bytes": list(t.encode())} for t, p in top]
                choice["logprobs"] = {"content": [{**entries[0], "top_logprobs": entries}]}
            choices.append(choice)
        # 4 tokens of chat-template framing per message and 3 for the reply; `framing`
        # tokens more per message stand for another template (a restarted self-hosted server).
        prompt = sum(count_tokens(_text(m.get("content"))) + 4 + self.framing for m in body.get("messages", [])) + 3
        usage = {"prompt_tokens": prompt, "completion_tokens": spent, "total_tokens": prompt + spent}
        reply = {"id": self._new_id("chatcmpl-"), "object": "chat.completion",
                 "created": int(time.time()), "model": model, "choices": choices, "usage": usage}
        if entry is not None:  # what OpenAI's replies carry and an OpenAI-compatible server's may not
            if model in self.catalogue and entry["snapshot"]:  # a fine-tune keeps its own name
                reply["model"] = entry["snapshot"]
            reply["system_fingerprint"] = system_fingerprint(model)
            usage["completion_tokens_details"] = {"reasoning_tokens": reasoned, "accepted_prediction_tokens": 0,
                                                  "rejected_prediction_tokens": 0, "audio_tokens": 0}
            usage["prompt_tokens_details"] = {"cached_tokens": 0, "audio_tokens": 0}
        return reply

    def refused(self, body: dict) -> Reply | None:
        """The error a request gets before any answer is made, or None if it is answered."""
        if body.get("model") == "missing-model":
            return error(404, "The model does not exist", code="model_not_found", param="model")
        if not isinstance(body.get("messages"), list):
            return error(400, "'messages' is a required property", param="messages")
        entry = lookup(self.catalogue, body.get("model"))
        return None if entry is None else refusal(body["model"], entry, body, self.today)

    def _answer(self, body: dict) -> Reply:
        """The part of a chat completion shared by live requests and batch lines."""
        refused = self.refused(body)
        if refused is not None:
            with self._lock:
                self.stats["rejected"] += 1
            return refused
        payload = self.respond(body)
        with self._lock:
            self.stats["completions"] += len(payload["choices"])
            self.stats["prompt_tokens"] += payload["usage"]["prompt_tokens"]
            self.stats["completion_tokens"] += payload["usage"]["completion_tokens"]
        return 200, payload, {}

    def _rate_limit_wait(self) -> float:
        """0 if a chat request may go ahead now, else seconds until it could.

        At most `rpm` requests in any rolling 60 s, and, so that a burst cannot use
        a whole minute's budget at once, at most ceil(rpm/60) in any rolling 1 s."""
        if not self.rpm:
            return 0.0
        now = time.monotonic()
        with self._lock:
            while self._admitted and self._admitted[0] <= now - 60:
                self._admitted.popleft()
            wait = 0.0
            for limit, window in ((self.rpm, 60.0), (math.ceil(self.rpm / 60), 1.0)):
                recent = [t for t in self._admitted if t > now - window]
                if len(recent) >= limit:
                    wait = max(wait, recent[-limit] + window - now)
            if wait <= 0:
                self._admitted.append(now)
            return max(wait, 0.01) if wait > 0 else 0.0

    def _chat(self, body: dict) -> Reply:
        wait = self._rate_limit_wait()
        if wait > 0:  # the SDK honours retry-after-ms first, then Retry-After
            with self._lock:
                self.stats["rate_limited"] += 1
            status, payload, _ = error(429, "Rate limit reached", type_="requests", code="rate_limit_exceeded")
            return status, payload, {"Retry-After": f"{wait:.2f}", "retry-after-ms": f"{wait * 1000:.0f}"}
        with self._lock:
            fault = self._rng.choice(FAULTS) if self._rng.random() < self.fault_rate else None
            self.stats["faults"] += fault is not None
        if fault == "http_500":
            return error(500, "The server had an error while processing your request (injected).",
                         type_="server_error")
        if fault in ("timeout", "drop"):  # a timeout is a hang-up after a long silence
            self._closing.wait(self.fault_timeout if fault == "timeout" else 0)
            return 0, None, {}
        if fault == "malformed":
            return 200, b'{"id": "x", "choices": [', {"Content-Type": "application/json"}
        with self._lock:  # how many are being answered at once: what a client keeps in flight
            self._answering += 1
            self.stats["most_in_flight"] = max(self.stats["most_in_flight"], self._answering)
        try:
            self._closing.wait(self.latency)
            return self._answer(body)
        finally:
            with self._lock:
                self._answering -= 1
