"""Make many model calls quickly, within rate limits, without losing or
double-paying for any answer.

- Requests go out concurrently (asyncio) but are paced by a requests-per-minute
  and a tokens-per-minute budget per model, so a run stays just under the
  account's limits instead of bouncing off them.
- A 429 pauses that model for the server's Retry-After; 5xx, timeouts, dropped
  connections and malformed replies are retried with exponential backoff and
  full jitter, up to `max_retries` times, after which the answers are counted as
  failed (never as refusals) and left for the next run.
- Each answer is written to the cache the moment it arrives (an SQLite
  transaction), so a run killed at any point resumes with only the missing
  calls; `cache.add` keeps the first writer's answer when two processes race.
"""

from __future__ import annotations

import asyncio
import math
import concurrent.futures
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from helpers.errors import UserError
from helpers.llm.backends import CallFailed
from helpers.llm.cache import seed_of
from helpers.llm.prices import Price
from helpers.llm.units import CachedModel, Unit


@dataclass(frozen=True)
class Limits:
    rpm: float | None = None  # requests per minute, per model; None = unpaced
    tpm: float | None = None  # tokens per minute, per model
    concurrency: int = 16  # requests in flight at once
    max_retries: int = 5
    backoff_base: float = 0.5  # seconds; attempt a waits up to base * 2**a
    backoff_max: float = 30.0
    max_n: int = 8  # answers requested per call where the endpoint supports `n`

    def __post_init__(self) -> None:
        for name in ("rpm", "tpm"):
            value = getattr(self, name)
            if value is not None and not 0 < value < math.inf:  # false for nan: no pacing at all
                raise UserError(f"--{name} must be a positive number, got {value}")
        if self.concurrency < 1:
            raise UserError(f"--concurrency must be at least 1, got {self.concurrency}")
        if self.max_retries < 0:
            raise UserError(f"--retries must be 0 or more, got {self.max_retries}")


@dataclass
class Call:
    """One request, answering one or more units that share a prompt (via `n`)."""

    units: list[Unit]
    est_tokens: int = 0

    @property
    def model(self) -> CachedModel:
        return self.units[0].model


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
    failed_keys: set[str] = field(default_factory=set)
    listeners: list[Callable[[Progress], None]] = field(default_factory=list)

    @property
    def done(self) -> int:
        return self.cached + self.made + self.failed

    def notify(self) -> None:
        for listener in self.listeners:
            listener(self)

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


async def execute(calls: list[Call], limits: Limits,
                  progress: Progress, prices: dict[str, Price | None]) -> None:
    """Make every call; store each answer as it arrives; count failures."""
    semaphore = asyncio.Semaphore(limits.concurrency)
    gates: dict[str, ModelGate] = {}
    rng = random.Random()

    async def one(call: Call) -> None:
        spec = call.model.spec
        gate = gates.setdefault(spec.name, ModelGate(limits))
        backend = call.model.backend()
        first = call.units[0]
        async with semaphore:
            for attempt in range(limits.max_retries + 1):
                await gate.enter(call.est_tokens)
                started = time.perf_counter()
                try:
                    results = await backend.send(first.kind, first.body, n=len(call.units),
                                                 seed=seed_of(first.key))
                except CallFailed as exc:
                    if attempt == limits.max_retries:
                        progress.failed += len(call.units)
                        progress.failed_keys.update(u.key for u in call.units)
                        progress.notify()
                        return
                    if exc.retry_after is not None:
                        gate.pause(exc.retry_after)
                    delay = exc.retry_after if exc.retry_after is not None else backoff(attempt, limits, rng)
                    progress.retrying += 1
                    progress.retries += 1
                    progress.notify()
                    await asyncio.sleep(delay)
                    progress.retrying -= 1
                    continue
                price = prices.get(spec.name)
                seconds = (time.perf_counter() - started) / len(call.units)
                for unit, result in zip(call.units, results):
                    result["seconds"] = round(seconds, 4)
                    if price is None:
                        result["cost_usd"] = None
                        progress.cost_known = False
                    else:
                        result["cost_usd"] = price.cost(result["prompt_tokens"], result["completion_tokens"])
                        progress.cost += result["cost_usd"]
                    call.model.store(unit.key, result)
                progress.made += len(call.units)
                progress.notify()
                return

    try:
        async with asyncio.TaskGroup() as group:
            for call in calls:
                group.create_task(one(call))
    except* UserError as errors:
        raise errors.exceptions[0] from None
