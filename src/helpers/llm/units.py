"""What a study asks for: one answer of one model to one request, a Unit.

A study never builds requests or cache keys itself: it names the model, the
kind of answer (`yes_no`: first-token P(yes), P(no); `generate`: a sampled
text), the messages, the sampling settings and the sample indices, and
`CachedModel.units` builds the provider's request body and derives each
answer's cache key from it. So a changed constant in a request body changes
the key; nothing else does.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from helpers.errors import UserError
from helpers.llm import capabilities, providers, served
from helpers.llm.backends import Backend
from helpers.llm.cache import CallCache, request_digest
from helpers.llm.naming import DEFAULT_MODEL, ModelSpec, identity, parse_model

KINDS = ("yes_no", "generate")
REASONING_BUDGET = 4096  # reasoning tokens a sampled answer may spend on top of max_tokens


@dataclass(frozen=True)
class ModelOptions:
    """How a run asks its openai/ models, beyond the sampling settings of each request.

    reasoning_effort: sent as `reasoning_effort` (None: not sent; the model's default
    applies). reasoning_budget: tokens a reasoning model may think per answer, added to
    the token limit (reasoning counts against it, and is billed as output).
    capabilities: a run's --capability overrides, as (key, value) pairs.
    """

    reasoning_effort: str | None = None
    reasoning_budget: int = REASONING_BUDGET
    capabilities: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if self.reasoning_effort is not None and self.reasoning_effort not in capabilities.EFFORTS:
            raise UserError(f"--reasoning-effort must be one of {', '.join(capabilities.EFFORTS)}, "
                            f"got {self.reasoning_effort!r}")
        if not 0 <= self.reasoning_budget < 10**7:
            raise UserError(f"--reasoning-budget must be 0 or more tokens, got {self.reasoning_budget}")


def check_sampling(models: tuple[str, ...], samples: int, temperature: float, max_tokens: int,
                   timeout: float = 60.0) -> None:
    """The checks every study's run settings share (programmatic use; the CLI and the
    notebooks check their arguments' ranges before this)."""
    if not models:
        raise UserError(f"no model given; pass --model, e.g. --model {DEFAULT_MODEL}")
    if samples < 1:
        raise UserError(f"--samples must be at least 1, got {samples}")
    if not 0 <= temperature <= 2:  # false for nan too
        raise UserError(f"--temperature must be between 0 and 2, got {temperature}")
    if max_tokens < 1:
        raise UserError(f"--max-tokens must be at least 1, got {max_tokens}")
    if not 0 < timeout < float("inf"):
        raise UserError(f"--timeout must be a positive number of seconds, got {timeout}")


@dataclass
class Unit:
    """One answer to obtain: one cache entry."""

    model: CachedModel
    key: str
    kind: str  # "yes_no" or "generate"
    body: dict[str, Any]  # the request as sent, but for `n` and the seed
    sample: int
    settings: dict[str, Any] = field(default_factory=dict)  # temperature, max_tokens: to build it anew
    version: int = 0  # the model's capabilities when the body was built (CachedModel.version)

    @property
    def messages(self) -> list[dict[str, str]]:
        return self.body["messages"]

    @property
    def prompt(self) -> str:
        """The part of the key shared by every sample of this request."""
        return self.key.rpartition("-")[0]


class CachedModel:
    """A model seen through the cache. The backend is created lazily, so reading
    cached answers needs neither an API key nor the model's weights.

    A self-hosted server's identity also holds what it says it serves (served.py);
    `old_identity` is the identity its answers had before that, under which answers
    are still found (and copied) if they can be taken to be this server's.
    """

    def __init__(self, spec: ModelSpec, cache: CallCache, timeout: float = 60.0,
                 options: ModelOptions = ModelOptions()):
        self.spec = spec
        self.identity = identity(spec)
        self.old_identity: dict[str, str] | None = self.identity
        self.note: str | None = None  # what the server check found worth saying
        self.cache = cache
        self.options = options
        self._timeout = timeout
        self._backend: Backend | None = None
        self._ignores_n: bool | None = None
        if served.self_hosted(spec):
            mark, self.note = served.current(spec, cache)
            if mark is not None:
                self.old_identity = self.identity if served.first(spec, cache) == mark else None
                self.identity = {**self.identity, "served": mark}
        if spec.provider == "local" and options.capabilities:
            raise UserError(f"--capability applies to openai/ models, not {spec.name}")
        self.version = 0  # goes up each time a server teaches this model something
        self.caps = self._capabilities() if spec.provider == "openai" else None

    def _capabilities(self) -> capabilities.Capabilities:
        """models.toml's rule, then what servers taught, then the run's overrides."""
        caps = capabilities.load_rules().for_model(self.spec.model)
        taught = capabilities.learned(self.cache, self._caps_digest)
        if taught:
            caps = replace(caps, **taught, rule=f"{caps.rule}, adapted to {self.spec.base_url}")
        return capabilities.with_overrides(caps, self.options.capabilities, "--capability")

    @property
    def _caps_digest(self) -> str:
        return request_digest(self.identity, "capabilities", {})

    def learn(self, changes: dict[str, Any], why: str) -> bool:
        """Take what a server's rejection taught; False if it changes nothing (then the
        rejection cannot be adapted to)."""
        assert self.caps is not None
        if all(getattr(self.caps, k) == v for k, v in changes.items()):
            return False
        capabilities.remember(self.cache, self._caps_digest, changes, why)
        self.caps = self._capabilities()
        self._ignores_n = None
        if all(getattr(self.caps, k) == v for k, v in changes.items()):
            self.version += 1
            return True
        return False  # a --capability override says otherwise: the user's word stands

    @classmethod
    def named(cls, name: str, cache: CallCache, *, base_url: str | None = None,
              timeout: float = 60.0, options: ModelOptions = ModelOptions()) -> CachedModel:
        return cls(parse_model(name, base_url), cache, timeout, options)

    @property
    def _n_key(self) -> str:
        return f"meta:ignores-n:{request_digest(self.identity, 'generate', {})}"

    @property
    def ignores_n(self) -> bool:
        """True once this model's server was seen returning fewer answers than `n` asked."""
        if self._ignores_n is None:
            self._ignores_n = (self.spec.provider != "openai" or self.cache.get(self._n_key) is not None
                               or (self.caps is not None and not self.caps.n))
        return self._ignores_n

    def meta_keys(self) -> list[str]:
        """The cache's "meta:" entries that belong to this model: what its server was
        last seen serving (which its identity depends on) and whether it ignores `n`."""
        return [*([served.meta_key(self.spec)] if served.self_hosted(self.spec) else []), self._n_key]

    def remember_ignores_n(self) -> None:
        self._ignores_n = True
        self.cache.put_meta(self._n_key, {"ignores_n": True, "at": time.time()})

    def backend(self) -> Backend:
        if self._backend is None:
            self._backend = providers.backend(self.spec, self._timeout)
        return self._backend

    def units(self, kind: str, messages: list[dict[str, str]], samples: Iterable[int], *,
              temperature: float = 1.0, max_tokens: int = 48) -> list[Unit]:
        """The answers `samples` (indices) of one request, with their keys (one hash for all)."""
        if kind not in KINDS:
            raise ValueError(f"unknown kind of call {kind!r}")
        body = providers.request_body(self.spec, kind, messages, temperature=temperature, max_tokens=max_tokens,
                                      caps=self.caps, effort=self.options.reasoning_effort,
                                      budget=self.options.reasoning_budget)
        digest = request_digest(self.identity, kind, body)
        settings = {"temperature": temperature, "max_tokens": max_tokens}
        return [Unit(self, f"{digest}-{i}", kind, body, i, settings, self.version) for i in samples]

    def rebuild(self, unit: Unit) -> Unit:
        """The same answer asked in the terms the model takes now (after it taught us)."""
        return self.units(unit.kind, unit.messages, [unit.sample], **unit.settings)[0]

    def store(self, key: str, result: dict[str, Any]) -> dict[str, Any]:
        """Store an answer unless another process stored one first; return the kept one."""
        return self.cache.add(key, {**result, "created": time.time()})

    def unit(self, kind: str, messages: list[dict[str, str]], sample: int, **settings: Any) -> Unit:
        return self.units(kind, messages, [sample], **settings)[0]
