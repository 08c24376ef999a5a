"""A FakeOpenAI (real HTTP server on 127.0.0.1) whose answers come from a
function of the prompt, for the games, dilemmas and pricing tests. Only the
reply text differs from helpers.testing.server's; the protocol is the same."""

from __future__ import annotations

import time
from collections.abc import Callable

from helpers.testing.server import FakeOpenAI, _text, count_tokens


class ScriptedOpenAI(FakeOpenAI):
    def __init__(self, answer: Callable[[str], str], **kwargs):
        super().__init__(**kwargs)
        self.answer = answer

    def respond(self, body: dict) -> dict:
        prompt = " ".join(_text(m.get("content")) for m in body.get("messages", []))
        texts = [self.answer(prompt) for _ in range(self.choices_wanted(body))]
        choices = [{"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": "stop",
                    "logprobs": None} for i, t in enumerate(texts)]
        prompt_tokens = count_tokens(prompt) + 7
        completion = sum(count_tokens(t) for t in texts)
        return {"id": self._new_id("chatcmpl-"), "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model", ""), "choices": choices,
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion,
                          "total_tokens": prompt_tokens + completion}}
