"""Make many model calls quickly, within rate limits, without losing or
double-paying for any answer, and without hanging on a broken server.

- Requests go out concurrently (asyncio), as many at once per endpoint as it
  serves well (throttle.py; --concurrency fixes the number), paced by a
  requests-per-minute and a tokens-per-minute budget per model.
- Every call has a total deadline (--timeout, from when it leaves the client's
  queue to the last byte of the reply), not only a per-read timeout.
- A 429 pauses that model for the server's Retry-After, up to `max_wait`
  seconds; a longer wait (an exhausted quota) fails the call with that reason.
  5xx, timeouts, dropped connections and replies of the wrong shape are retried
  with exponential backoff and full jitter, up to `max_retries` times, after
  which the answers are counted as failed (never as refusals), with their reason,
  and left for the next run.
- An endpoint that fails `down_after` attempts in a row with no answer in
  between, and none for QUIET seconds, is given up: its remaining calls fail at
  once with that reason instead of each waiting out every retry.
- A server that returns fewer answers than `n` asked for keeps the ones it
  returned; the rest are asked one request each, and the model is remembered as
  ignoring `n` (units.CachedModel.ignores_n), so later runs send one per answer.
- Each answer is written to the cache the moment it arrives (an SQLite
  transaction), so a run killed at any point resumes with only the missing
  calls; `cache.add` keeps the first writer's answer when two processes race.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import math
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from helpers.errors import UserError
from helpers.llm import capabilities
from helpers.llm.backends import CallFailed, Unsupported
from helpers.llm.cache import seed_of
from helpers.llm.prices import Price
from helpers.llm.throttle import ADAPTIVE_MAX, SERVER_MOST, Throttle
from helpers.llm.units import CachedModel, Unit

# Seconds without an answer (since the last one, or since the first attempt) before
# failures in a row mean "down": long enough that retries ride out a short blip.
QUIET = 15.0


@dataclass(frozen=True)
class Limits:
    rpm: float | None = None  # requests per minute, per model; None = unpaced
    tpm: float | None = None  # tokens per minute, per model
    concurrency: int | None = None  # requests in flight per endpoint; None = found by measuring
    max_retries: int = 5
    backoff_base: float = 0.5  # seconds; attempt a waits up to base * 2**a
    backoff_max: float = 30.0
    max_n: int = 8  # answers requested per call where the endpoint supports `n`
    max_wait: float = 120.0  # the longest Retry-After a run waits out
    down_after: int = 3  # failed attempts in a row that give an endpoint up

    def __post_init__(self) -> None:
        for name in ("rpm", "tpm"):
            value = getattr(self, name)
            if value is not None and not 0 < value < math.inf:  # false for nan: no pacing at all
                raise UserError(f"--{name} must be a positive number, got {value}")
        if self.concurrency is not None and self.concurrency < 1:
            raise UserError(f"--concurrency must be at least 1, got {self.concurrency}")
        if self.max_retries < 0:
            raise UserError(f"--retries must be 0 or more, got {self.max_retries}")


@dataclass
class Call:
    """One request, answering one or more units that share a prompt (via `n`)."""

    units: list[Unit]
    est_prompt: int = 0  # prompt tokens (counted where pacing or pricing needs them)
    est_completion: int = 0  # the most completion tokens the call can be billed for

    @property
    def model(self) -> CachedModel:
        return self.units[0].model

    @property
    def est_tokens(self) -> int:
        return self.est_prompt + self.est_completion


@dataclass
class Progress:
    total: int = 0  # answers wanted in this run
    cached: int = 0
    made: int = 0
    failed: int = 0
    retrying: int = 0  # calls currently waiting to retry
    retries: int = 0  # retries so far
    cost: float = 0.0
    cost_known: bool = True
    billed: int = 0  # requests that timed out on our side: the server may still charge them
    billed_cost: float = 0.0  # at most this much for them (prompt + max completion)
    billed_cost_known: bool = True
    failed_keys: set[str] = field(default_factory=set)
    reasons: dict[str, list] = field(default_factory=dict)  # kind -> [answers, first message]
    notes: list[str] = field(default_factory=list)  # what the run learned (e.g. a server ignores n)
    stale: list[Unit] = field(default_factory=list)  # to ask again in the terms a server taught (fetch.py)
    cut_off: dict[str, int] = field(default_factory=dict)  # model -> empty answers: reasoning used the limit
    listeners: list[Callable[[Progress], None]] = field(default_factory=list)

    @property
    def done(self) -> int:
        return self.cached + self.made + self.failed

    def notify(self) -> None:
        for listener in self.listeners:
            listener(self)

    def fail(self, units: list[Unit], why: CallFailed) -> None:
        self.failed += len(units)
        self.failed_keys.update(u.key for u in units)
        entry = self.reasons.setdefault(why.kind, [0, why.reason])
        entry[0] += len(units)
        self.notify()

    def describe(self) -> str:
        cost = f"${self.cost:.4f}" if self.cost_known else f"${self.cost:.4f}+unknown"
        return (f"{self.done}/{self.total} answers: {self.made} made, {self.cached} cached, "
                f"{self.failed} failed, {self.retrying} retrying, {cost} spent")


class Pacer:
    """A token bucket: `take(amount)` waits until the budget allows `amount`."""

    def __init__(self, per_minute: float, capacity: float):
        self.rate = per_minute / 60.0
        self.capacity = capacity
        self.level = capacity
        self.stamp = time.monotonic()
        self.lock = asyncio.Lock()

    async def take(self, amount: float = 1.0) -> None:
        async with self.lock:  # first come, first served
            while True:
                now = time.monotonic()
                self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
                self.stamp = now
                # A request larger than the bucket goes once the bucket is full,
                # leaving a debt that later requests wait out.
                if self.level >= min(amount, self.capacity):
                    self.level -= amount
                    return
                await asyncio.sleep((min(amount, self.capacity) - self.level) / self.rate)


class ModelGate:
    """Per-model pacing plus a shared pause after a 429."""

    def __init__(self, limits: Limits):
        # About one request's worth of burst keeps requests evenly spaced, so a
        # one-second window of the server's limiter is rarely overfull; the extra
        # half lets a request the event loop woke late pass its lateness on to the
        # next one instead of losing it (a full bucket caps the credit).
        self.requests = Pacer(limits.rpm, 1.5) if limits.rpm else None
        self.tokens = Pacer(limits.tpm, limits.tpm / 60.0) if limits.tpm else None
        self.paused_until = 0.0

    def pause(self, seconds: float) -> None:
        self.paused_until = max(self.paused_until, time.monotonic() + seconds)

    async def enter(self, tokens: int) -> None:
        while (wait := self.paused_until - time.monotonic()) > 0:
            await asyncio.sleep(wait)
        if self.requests:
            await self.requests.take(1)
        if self.tokens:
            await self.tokens.take(max(1, tokens))


class Endpoint:
    """One server's state in a run: how many calls it gets at once, and whether it is
    still worth calling."""

    def __init__(self, where: str, limits: Limits, fixed: int | None):
        self.where = where
        self.limits = limits
        # Only servers search (in-process models come with a fixed number): up to SERVER_MOST.
        self.throttle = Throttle(fixed, most=SERVER_MOST)
        self.streak = 0  # failed attempts since the last answer
        self.last_answer: float | None = None
        self.first_attempt: float | None = None
        self.down: CallFailed | None = None

    def answered(self) -> None:
        self.streak, self.last_answer = 0, time.monotonic()

    def failed(self, why: CallFailed) -> None:
        if why.kind == "HTTP 429":  # being paced is not being down
            return
        self.streak += 1
        now = time.monotonic()
        quiet = now - (self.last_answer or self.first_attempt or now) >= QUIET
        if self.down is None and self.streak >= self.limits.down_after and quiet:
            since = "in this run" if self.last_answer is None else f"for {now - self.last_answer:.0f} s"
            self.give_up(f"gave up on {self.where}: {self.streak} attempts in a row failed and none answered "
                         f"{since} (last: {why.reason})")

    def give_up(self, reason: str) -> None:
        if self.down is None:
            self.down = CallFailed(reason, kind="gave up")


def run_sync(coro: Coroutine) -> Any:
    """Run a coroutine from sync code, even where an event loop is already running
    (a notebook kernel): then it runs on a fresh loop in a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def backoff(attempt: int, limits: Limits, rng: random.Random) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
    return rng.uniform(0, min(limits.backoff_max, limits.backoff_base * 2 ** attempt))


async def _send(backend, call: Call) -> list[dict[str, Any]]:
    """One attempt, within the backend's total deadline."""
    first = call.units[0]
    sending = backend.send(first.kind, first.body, n=len(call.units), seed=seed_of(first.key))
    if backend.deadline is None:
        return await sending
    try:
        return await asyncio.wait_for(sending, backend.deadline)
    except TimeoutError:
        raise CallFailed(f"no complete answer from {backend.where} within {backend.deadline:g} s "
                         "(--timeout covers the whole call)", kind="timeout", billed=True) from None


async def execute(calls: list[Call], limits: Limits,
                  progress: Progress, prices: dict[str, Price | None]) -> None:
    """Make every call; store each answer as it arrives; count failures by reason."""
    gates: dict[str, ModelGate] = {}
    endpoints: dict[str, Endpoint] = {}
    backends: dict[int, Any] = {}
    rng = random.Random()

    def endpoint_of(call: Call, backend) -> Endpoint:
        spec = call.model.spec
        where = spec.base_url or f"local:{spec.name}"
        if where not in endpoints:
            # In-process models are not a server to probe: they keep a fixed number in flight,
            # as many as they ask for (a batching backend wants enough to fill its batches).
            fixed = limits.concurrency or (getattr(backend, "in_flight", ADAPTIVE_MAX) if backend.deadline is None
                                           else None)
            endpoints[where] = Endpoint(backend.where, limits, fixed)
        return endpoints[where]

    def store(call: Call, results: list[dict[str, Any]], seconds: float) -> None:
        price = prices.get(call.model.spec.name)
        for unit, result in zip(call.units, results):
            result["seconds"] = round(seconds / len(results), 4)
            if unit.kind == "generate" and result.get("finish_reason") == "length" and not result.get("text"):
                name = call.model.spec.name
                progress.cut_off[name] = progress.cut_off.get(name, 0) + 1
            if price is None:
                result["cost_usd"] = None
                progress.cost_known = False
            else:
                result["cost_usd"] = price.cost(result["prompt_tokens"], result["completion_tokens"])
                progress.cost += result["cost_usd"]
            call.model.store(unit.key, result)
        progress.made += len(results)
        progress.notify()

    def count_billed(call: Call) -> None:
        progress.billed += 1
        price = prices.get(call.model.spec.name)
        if price is None:
            progress.billed_cost_known = False
        else:
            progress.billed_cost += price.cost(call.est_prompt, call.est_completion)

    def one_by_one(call: Call, units: list[Unit], group: asyncio.TaskGroup) -> None:
        """These units of a call as calls of their own (the server ignores `n`)."""
        for unit in units:
            group.create_task(one(Call([unit], call.est_prompt, call.est_completion // len(call.units)), group))

    def adapt(call: Call, rejected: Unsupported) -> None:
        """A server rejected a parameter: learn what it means (once per model, whichever
        call hears it first) and leave the call's answers to be asked anew; or, if it
        says nothing we can adapt to, stop the run with its message."""
        model = call.model
        if call.units[0].version == model.version:
            changes = capabilities.lesson(rejected.param, rejected.code, rejected.message)
            if model.caps is None or changes is None or not model.learn(changes, rejected.message):
                raise UserError(str(rejected))
            progress.notes.append(f"{model.spec.name} at {model.spec.base_url} does not take `{rejected.param}` "
                                  f"({rejected.code or 'HTTP 400'}, not billed): {capabilities.adaptation(changes)}; "
                                  "remembered for this endpoint and model")
        progress.stale.extend(call.units)

    async def one(call: Call, group: asyncio.TaskGroup) -> None:
        model = call.model
        backend = model.backend()
        backends[id(backend)] = backend
        if call.units[0].version != model.version:  # built before the server taught us something
            return progress.stale.extend(call.units)
        if len(call.units) > 1 and model.ignores_n:
            return one_by_one(call, call.units, group)
        gate = gates.setdefault(model.spec.name, ModelGate(limits))
        endpoint = endpoint_of(call, backend)
        for attempt in range(limits.max_retries + 1):
            if endpoint.down is not None:
                return progress.fail(call.units, endpoint.down)
            failure: CallFailed | None = None
            async with endpoint.throttle:
                if endpoint.down is not None:  # it went down while this call waited its turn
                    return progress.fail(call.units, endpoint.down)
                if len(call.units) > 1 and model.ignores_n:  # learned while this call waited
                    return one_by_one(call, call.units, group)
                await gate.enter(call.est_tokens)
                endpoint.first_attempt = endpoint.first_attempt or time.monotonic()
                started = time.perf_counter()
                try:
                    results = await _send(backend, call)
                except CallFailed as exc:
                    failure = exc
                except Unsupported as exc:  # answered at once and not billed: nothing to retry
                    endpoint.answered()
                    return adapt(call, exc)
                else:
                    endpoint.answered()
                    endpoint.throttle.answered(len(results))
            if failure is None:
                store(call, results, time.perf_counter() - started)
                rest = call.units[len(results):]
                if rest:
                    _learned_ignores_n(model, len(results), len(call.units), progress)
                    one_by_one(call, rest, group)
                return
            if failure.billed:
                count_billed(call)
            endpoint.failed(failure)
            wait = failure.retry_after
            if wait is not None and not wait <= limits.max_wait:  # inf too
                endpoint.give_up(f"{failure.reason}, asking to wait {wait:.0f} s before retrying, more than "
                                 f"the {limits.max_wait:.0f} s a run waits; try again later")
                return progress.fail(call.units, endpoint.down)
            if attempt == limits.max_retries or endpoint.down is not None:
                return progress.fail(call.units, endpoint.down or failure)
            if wait is not None:
                gate.pause(wait)
            progress.retrying += 1
            progress.retries += 1
            progress.notify()
            await asyncio.sleep(wait if wait is not None else backoff(attempt, limits, rng))
            progress.retrying -= 1

    try:
        async with asyncio.TaskGroup() as group:
            for call in calls:
                group.create_task(one(call, group))
    except* UserError as errors:
        raise errors.exceptions[0] from None
    finally:
        for backend in backends.values():  # connections belong to this loop, which ends here
            await backend.aclose()


def _learned_ignores_n(model: CachedModel, got: int, asked: int, progress: Progress) -> None:
    if model.ignores_n:
        return
    model.remember_ignores_n()
    progress.notes.append(f"{model.spec.base_url} returned {got} answer(s) to a request for {asked} (it ignores "
                          f"`n`): {model.spec.name} now gets one request per answer, remembered in the cache")
