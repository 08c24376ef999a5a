"""The offline model as a backend: one answer per call, each sample with its own seed."""

from __future__ import annotations

import asyncio
from typing import Any

from helpers.llm import local_model
from helpers.llm.naming import ModelSpec

# Sampling from the whole distribution: no nucleus or top-k truncation.
TOP_P = 1.0
TOP_K = 0


def request_body(kind: str, messages: list[dict[str, str]], *, temperature: float,
                 max_tokens: int) -> dict[str, Any]:
    """What the local model is asked; every field here is part of the cache key."""
    if kind == "yes_no":
        # The whole next-token distribution is read, so no sampling settings apply.
        return {"messages": messages}
    return {"messages": messages, "temperature": temperature, "max_tokens": max_tokens,
            "top_p": TOP_P, "top_k": TOP_K}


class LocalBackend:
    supports_n = False
    deadline = None  # in-process: a call cannot hang on a server
    where = "the offline model"

    def __init__(self, spec: ModelSpec):
        self._model = local_model.load(spec.model)

    async def aclose(self) -> None:
        pass  # nothing belongs to the event loop

    async def send(self, kind, body, *, n, seed):
        if n != 1:
            raise ValueError("the local backend answers one sample per call")
        if kind == "yes_no":
            return [await asyncio.to_thread(self._model.yes_no, body["messages"])]
        settings = {k: v for k, v in body.items() if k != "messages"}
        return [await asyncio.to_thread(self._model.generate, body["messages"], seed=seed, **settings)]
