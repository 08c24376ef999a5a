"""Cached model calls: never pay twice for the same answer.

Every call is stored in a diskcache under cache/calls/, keyed on everything
that changes the output (the model's identity: provider, endpoint, model and,
for local models, the weights' hash; the messages; the kind of call and its
sampling parameters; the sample's index) and nothing that does not (the API
key, timeouts, retries). Entries never expire. A failed call is not stored,
so the next run makes it again; it is counted as failed, never as a refusal.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

import diskcache

from . import paths
from .models import YES_NO_TOP_LOGPROBS, Backend, CallFailed, ModelSpec, backend, identity

CACHE_SCHEMA = 1  # bump when the stored value's shape changes


@dataclass
class CallStats:
    made: int = 0
    cached: int = 0
    failed: int = 0
    missing: int = 0  # not in the cache and not made (cache-only reads)

    def line(self) -> str:
        return f"calls: {self.made} made, {self.cached} cached, {self.failed} failed"


def open_cache() -> diskcache.Cache:
    # No size limit and no eviction: entries are paid for and must stay.
    return diskcache.Cache(str(paths.calls_cache_dir()), size_limit=2**62,
                           eviction_policy="none")


def cache_key(model_identity: dict[str, str], kind: str, messages: list[dict[str, str]],
              params: dict[str, Any], sample: int) -> str:
    """A stable hash of everything that determines one call's output."""
    payload = {"schema": CACHE_SCHEMA, "model": model_identity, "kind": kind,
               "messages": messages, "params": params, "sample": sample}
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class CachedModel:
    """A model whose calls go through the cache; the backend is created lazily,
    so reading cached answers needs neither an API key nor the model's weights."""

    def __init__(self, spec: ModelSpec, cache: diskcache.Cache, stats: CallStats):
        self.spec = spec
        self.identity = identity(spec)
        self._cache = cache
        self._backend: Backend | None = None
        self.stats = stats

    def _call(self, kind: str, messages, params: dict[str, Any], sample: int,
              make_calls: bool) -> dict[str, Any] | None:
        key = cache_key(self.identity, kind, messages, params, sample)
        hit = self._cache.get(key)
        if hit is not None:
            self.stats.cached += 1
            return hit
        if not make_calls:
            self.stats.missing += 1
            return None
        if self._backend is None:
            self._backend = backend(self.spec)
        started = time.perf_counter()
        try:
            if kind == "yes_no":
                result = self._backend.yes_no(messages)
            else:
                # The seed makes a local sample reproducible and lets servers
                # that honour `seed` do the same; it derives from the key, so
                # sample i of a prompt always gets the same seed.
                seed = int(key[:8], 16)
                result = self._backend.generate(messages, seed=seed, **params)
        except CallFailed:
            self.stats.failed += 1
            return None
        result = {**result, "seconds": round(time.perf_counter() - started, 4),
                  "created": time.time()}
        self._cache.set(key, result)
        self.stats.made += 1
        return result

    def yes_no(self, messages, *, make_calls: bool = True) -> dict[str, Any] | None:
        # A local model reads its whole next-token distribution; an endpoint
        # returns only the top few log-probabilities, and how many is part of
        # what determines the result.
        params = {"top_logprobs": None if self.spec.provider == "local" else YES_NO_TOP_LOGPROBS}
        return self._call("yes_no", messages, params, 0, make_calls)

    def generate(self, messages, *, temperature: float, max_tokens: int, sample: int,
                 make_calls: bool = True) -> dict[str, Any] | None:
        params = {"temperature": temperature, "max_tokens": max_tokens}
        return self._call("generate", messages, params, sample, make_calls)
