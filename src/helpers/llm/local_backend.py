"""A local model as a backend: the engine sends one answer per call, concurrently;
calls waiting together are answered as one batch (local_collector.py), each
sample with its own seed, so an answer does not depend on what it was batched with."""

from __future__ import annotations

from typing import Any

from helpers.llm import local_model
from helpers.llm.backends import CallFailed
from helpers.llm.local_collector import Collector
from helpers.llm.naming import ModelSpec

# Sampling from the whole distribution: no nucleus or top-k truncation.
TOP_P = 1.0
TOP_K = 0


def request_body(kind: str, messages: list[dict[str, str]], *, temperature: float,
                 max_tokens: int) -> dict[str, Any]:
    """What the local model is asked; every field here is part of the cache key.
    A batched answer equals the one made alone (local_inference.py), so batching
    adds nothing here and answers cached before it stay valid."""
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
        self._name = spec.name
        # Gather up to one full batch; twice that in flight lets the next batch
        # gather while one runs (the engine reads in_flight for in-process backends).
        self._collector = Collector(self._run, most=self._model.cap, fail=self._failed)
        self.in_flight = 2 * self._model.cap

    async def aclose(self) -> None:
        pass  # nothing belongs to the event loop; the collector starts afresh on the next one

    async def send(self, kind, body, *, n, seed):
        if n != 1:
            raise ValueError("the local backend answers one sample per call")
        settings = tuple(sorted((k, v) for k, v in body.items() if k != "messages"))
        return [await self._collector.submit((kind, settings), (body["messages"], seed))]

    def _run(self, key, calls: list[tuple[list[dict[str, str]], int]]) -> list[dict[str, Any]]:
        kind, settings = key
        prompts = [messages for messages, _ in calls]
        if kind == "yes_no":
            return self._model.yes_no_many(prompts)
        return self._model.generate_many(prompts, [seed for _, seed in calls], **dict(settings))

    def _failed(self, exc: BaseException, size: int) -> CallFailed:
        return CallFailed(f"{self._name} failed on a batch of {size} answer{'s' if size != 1 else ''}: "
                          f"{type(exc).__name__}: {exc}", kind="local model error")
