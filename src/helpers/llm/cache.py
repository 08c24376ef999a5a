"""Cached model calls: never pay twice for the same answer.

Every answer is stored in a diskcache under cache/calls/, keyed on everything
that changes the output (the model's identity: provider, endpoint, model and,
for local models, the weights' hash; the messages; the kind of call and its
sampling parameters; the sample's index) and nothing that does not (the API
key, timeouts, retries, how many answers one request carried). Entries never
expire. A failed call is not stored, so the next run makes it again.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

import diskcache

from helpers import paths
from helpers.llm.models import YES_NO_TOP_LOGPROBS, Backend, ModelSpec, backend, identity

CACHE_SCHEMA = 1  # bump when the stored value's shape changes


def open_cache() -> diskcache.Cache:
    # No size limit and no eviction: entries are paid for and must stay.
    return diskcache.Cache(str(paths.calls_cache_dir()), size_limit=2**62,
                           eviction_policy="none")


def prompt_digest(model_identity: dict[str, str], kind: str, messages: list[dict[str, str]],
                  params: dict[str, Any]) -> str:
    """A stable hash of everything that determines one prompt's answers but the sample index."""
    payload = {"schema": CACHE_SCHEMA, "model": model_identity, "kind": kind,
               "messages": messages, "params": params}
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def cache_key(model_identity: dict[str, str], kind: str, messages: list[dict[str, str]],
              params: dict[str, Any], sample: int) -> str:
    """The key of one answer: the prompt's digest and the sample's index.

    The index stays readable after the digest, so the 1,000 samples of one prompt
    cost one hash, not 1,000 (a cached rerun of a large run is bound by reads).
    """
    return f"{prompt_digest(model_identity, kind, messages, params)}-{sample}"


def seed_of(key: str) -> int:
    """A sampling seed per answer, so each sample index is reproducible on its own."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)


@dataclass
class CallStats:
    made: int = 0
    cached: int = 0
    failed: int = 0
    missing: int = 0  # not in the cache and not made (cache-only reads)

    def line(self) -> str:
        return f"calls: {self.made} made, {self.cached} cached, {self.failed} failed"


class CachedModel:
    """A model seen through the cache. The backend is created lazily, so reading
    cached answers needs neither an API key nor the model's weights."""

    def __init__(self, spec: ModelSpec, cache: diskcache.Cache, timeout: float = 60.0):
        self.spec = spec
        self.identity = identity(spec)
        self._cache = cache
        self._timeout = timeout
        self._backend: Backend | None = None

    def backend(self) -> Backend:
        if self._backend is None:
            self._backend = backend(self.spec, self._timeout)
        return self._backend

    def params(self, kind: str, temperature: float, max_tokens: int) -> dict[str, Any]:
        if kind == "yes_no":
            # A local model reads its whole next-token distribution; an endpoint
            # returns only the top few log-probabilities, and how many is part
            # of what determines the result.
            return {"top_logprobs": None if self.spec.provider == "local" else YES_NO_TOP_LOGPROBS}
        return {"temperature": temperature, "max_tokens": max_tokens}

    def key(self, kind: str, messages, params: dict[str, Any], sample: int) -> str:
        return cache_key(self.identity, kind, messages, params, sample)

    def keys(self, kind: str, messages, params: dict[str, Any], count: int) -> list[str]:
        """The keys of samples 0..count-1 of one prompt (one hash for all of them)."""
        digest = prompt_digest(self.identity, kind, messages, params)
        return [f"{digest}-{i}" for i in range(count)]

    def lookup(self, key: str) -> dict[str, Any] | None:
        return self._cache.get(key)

    def store(self, key: str, result: dict[str, Any]) -> dict[str, Any]:
        """Store an answer unless another process stored one first; return the kept one."""
        result = {**result, "created": time.time()}
        if self._cache.add(key, result):
            return result
        return self._cache.get(key, result)
