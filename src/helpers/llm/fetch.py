"""THE one way answers are obtained, for every study.

A study describes what it needs as Units (units.py); `Fetcher.fetch(units)`
reads each distinct answer once from the cache (falling back to schema-1 keys,
legacy.py), groups the missing ones into requests (several samples of one
request share a call through `n` where the endpoint allows it; identical
requests are one answer), makes them through the engine (pacing, retries) or
the Batch API, stores each as it arrives, and returns every answer by key
(None where an answer is still missing). A multi-turn study calls it once per
round; nothing calls back into the study.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from helpers.llm import engine, legacy, prices, tokens
from helpers.llm.cache import CallCache, CallStats, request_digest
from helpers.llm.engine import Call, Limits, Progress
from helpers.llm.units import Unit

Answers = dict[str, dict | None]
MAX_ADAPTATIONS = 6  # rounds of "the server rejected a parameter; ask anew" in one fetch


def group(units: Iterable[Unit], limits: Limits, count_tokens: bool = False) -> list[Call]:
    """Requests for these answers: identical keys are one answer, and several samples
    of one request share a call (`n`, up to limits.max_n) on OpenAI-compatible endpoints."""
    by_prompt: dict[tuple[str, str], list[Unit]] = {}
    seen: set[str] = set()
    for unit in units:
        if unit.key not in seen:
            seen.add(unit.key)
            by_prompt.setdefault((unit.model.spec.name, unit.prompt), []).append(unit)
    calls = []
    for members in by_prompt.values():
        first = members[0]
        per_call = limits.max_n if first.kind == "generate" and not first.model.ignores_n else 1
        calls.extend(Call(members[i:i + per_call]) for i in range(0, len(members), per_call))
    counted: dict[str, int] = {}  # prompt -> its tokens: counted once, however many calls ask it
    for call in calls:
        # API calls are counted always: a call that times out may still be billed, and
        # its price is reported; local ones only when a tokens-per-minute pace needs it.
        if count_tokens or call.model.spec.provider != "local":
            prompt = call.units[0].prompt
            if prompt not in counted:
                counted[prompt] = prompt_tokens(call)
            call.est_prompt, call.est_completion = counted[prompt], completion_bound(call)
    return calls


def prompt_tokens(call: Call) -> int:
    spec, unit = call.model.spec, call.units[0]
    if spec.provider == "local":
        return tokens.count_local(spec.model, unit.messages)
    return tokens.count_openai(spec.model, unit.messages)


def token_limit(body: dict) -> int:
    """The most completion tokens (reasoning included) one answer of this request may
    have, whichever name the model takes the limit under."""
    return body.get("max_tokens") or body.get("max_completion_tokens") or 0


def completion_bound(call: Call) -> int:
    """The most completion tokens a call can be billed for."""
    unit = call.units[0]
    if unit.kind == "yes_no":
        return 0 if call.model.spec.provider == "local" else 1
    return token_limit(unit.body) * len(call.units)


def _old_prompts(unit: Unit) -> list[str]:
    """Where an answer to this unit may have been stored before its key took today's
    shape: under the identity without the served-model check, and under schema 1."""
    old = unit.model.old_identity
    if old is None:  # the server serves something else than before: no old answer is its
        return []
    prompts = []
    if old != unit.model.identity:
        prompts.append(request_digest(old, unit.kind, unit.body))
    if (schema1 := legacy.legacy_prompt(old, unit.kind, unit.body)) is not None:
        prompts.append(schema1)
    return prompts


@dataclass
class Fetcher:
    """One run's access to answers: the cache, and (if make_calls) the models."""

    cache: CallCache
    limits: Limits = field(default_factory=Limits)
    make_calls: bool = True
    batch: bool = False
    poll_seconds: float = 30.0
    progress: Progress = field(default_factory=Progress)
    missing: int = 0  # answers neither cached nor made (cache-only reads, or failed)
    moved: dict[str, str] = field(default_factory=dict)  # key as first built -> key as asked after adapting

    @classmethod
    def with_listener(cls, cache: CallCache, listener: Callable[[Progress], None] | None = None,
                      **options) -> Fetcher:
        return cls(cache, progress=Progress(listeners=[listener] if listener else []), **options)

    def expect(self, answers: int) -> None:
        """Announce how many answers the run wants in all (for progress bars)."""
        self.progress.total += answers
        self.progress.notify()

    def lookup(self, units: list[Unit]) -> Answers:
        """Each distinct answer read once; a miss tries the request's schema-1 key."""
        found: Answers = {}
        old_prompts: dict[str, list[str]] = {}
        for unit in units:
            if unit.key in found:
                continue
            result = self.cache.get(unit.key)
            if result is None:
                if unit.prompt not in old_prompts:
                    old_prompts[unit.prompt] = _old_prompts(unit)
                for old in old_prompts[unit.prompt]:
                    if (result := self.cache.get(f"{old}-{unit.sample}")) is not None:
                        result = self.cache.add(unit.key, result)
                        break
            found[unit.key] = result
        return found

    def fetch(self, units: list[Unit]) -> Answers:
        """Every answer of these units: cached, or made now (if make_calls)."""
        for model in {id(u.model): u.model for u in units}.values():
            if model.note and model.note not in self.progress.notes:
                self.progress.notes.append(model.note)
        found = self.lookup(units)
        todo = {k for k, v in found.items() if v is None}
        # Twin units (one key) are one answer: the second counts as cached, as a rerun would.
        self.progress.cached += len(units) - len(todo)
        self.progress.notify()
        if todo and self.make_calls:
            self._make([u for u in units if u.key in todo])
            found.update((k, self.cache.get(self.current_key(k))) for k in todo)
        self.missing += sum(1 for k in todo if found[k] is None)
        return found

    def _make(self, wanted: list[Unit]) -> None:
        """Make these answers. A server that rejects a parameter teaches its model to
        ask otherwise (engine.execute); its answers are then built anew and asked
        again, their new keys remembered in `moved`. Each round must teach something
        new (CachedModel.learn), so this ends; the bound is a guard."""
        for _ in range(MAX_ADAPTATIONS):
            model_prices = self._prices(wanted)
            if self.batch:
                from helpers.llm import batch

                batch.run_batches(wanted, model_prices, self.progress, self.poll_seconds)
            else:
                calls = group(wanted, self.limits, count_tokens=bool(self.limits.tpm))
                engine.run_sync(engine.execute(calls, self.limits, self.progress, model_prices))
            stale, self.progress.stale = self.progress.stale, []
            if not stale:
                return
            rebuilt = {u.key: u.model.rebuild(u) for u in stale}  # a UserError if it cannot be asked at all
            self.moved.update((old, new.key) for old, new in rebuilt.items() if old != new.key)
            fresh = self.lookup(list(rebuilt.values()))
            self.progress.cached += sum(1 for v in fresh.values() if v is not None)
            wanted = [u for u in {u.key: u for u in rebuilt.values()}.values() if fresh[u.key] is None]

    def current_key(self, key: str) -> str:
        """Where the answer first asked under `key` is stored, after any rebuilding."""
        while key in self.moved:
            key = self.moved[key]
        return key

    def _prices(self, units: list[Unit]) -> dict[str, prices.Price | None]:
        table = prices.load_prices()
        specs = {u.model.spec.name: u.model.spec for u in units}
        return {name: prices.price_for(spec.provider, spec.model, table) for name, spec in specs.items()}

    def failed(self, key: str) -> bool:
        return self.current_key(key) in self.progress.failed_keys

    def stats(self, missing: int | None = None) -> CallStats:
        """The run's counts; `missing` overrides the count of answers not cached
        (a chain study counts the turns it could not reach, too)."""
        lost, why = self.cache.lost()
        state = self.progress
        missing = self.missing if missing is None else missing
        billed_cost = round(state.billed_cost, 6) if state.billed_cost_known else None
        return CallStats(made=state.made, cached=state.cached, failed=state.failed,
                         missing=0 if self.make_calls else missing, unstored=lost, unstored_reason=why,
                         reasons={k: (v[0], v[1]) for k, v in state.reasons.items()},
                         billed=state.billed, billed_cost=billed_cost, notes=list(state.notes) + self._cut_off())

    def _cut_off(self) -> list[str]:
        return [f"{count} answer{'s' if count != 1 else ''} of {name} came back empty: its reasoning used the "
                "whole token limit (finish_reason length); raise --reasoning-budget, or lower --reasoning-effort"
                for name, count in self.progress.cut_off.items()]
