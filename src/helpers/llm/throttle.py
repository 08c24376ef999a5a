"""How many requests one endpoint gets at once: fixed (--concurrency N) or found.

A one-slot server (llama.cpp on a laptop) answers one request at a time: more
in flight gains nothing and only makes each request wait in the server's queue,
inside its deadline. OpenAI answers many at once. Nobody has to know which:
without --concurrency the throttle measures throughput (answers per second) at
a level, doubles the level while that pays (at least +15%), and otherwise halves
it while throughput holds (within 10%), then stays at the best level it saw.
Time a request waits here, in the client, is not part of its deadline.
"""

from __future__ import annotations

import asyncio
import time

ADAPTIVE_START = 4  # in flight at first: a dead endpoint shows within one deadline
ADAPTIVE_MAX = 16
GAIN = 1.15  # doubling must raise throughput by this much to be kept
HOLD = 0.90  # halving is kept while throughput stays at least this much of the best


class Climber:
    """The search over levels, apart from time: `measured(throughput)` after each
    window returns the level to use next."""

    def __init__(self, start: int = ADAPTIVE_START, most: int = ADAPTIVE_MAX):
        self.most = most
        self.start = min(start, most)
        self.level = self.start
        self.best: tuple[int, float] | None = None
        self.going = "up"
        self.settled = False

    def measured(self, throughput: float) -> int:
        if self.settled:
            return self.level
        if self.best is None:
            self.best = (self.level, throughput)
            return self._up_or_down()
        best_level, best_rate = self.best
        if self.going == "up":
            if throughput >= best_rate * GAIN:
                self.best = (self.level, throughput)
                return self._up_or_down()
            if best_level == self.start:
                return self._down_from(self.start)
            return self._settle(best_level)
        if throughput >= best_rate * HOLD:  # as good with fewer in flight
            self.best = (self.level, max(throughput, best_rate))
            return self._down_from(self.level)
        return self._settle(best_level)

    def _up_or_down(self) -> int:
        if self.going == "up" and self.level < self.most:
            self.level = min(self.most, self.level * 2)
            return self.level
        return self._down_from(self.level) if self.level == self.start else self._settle(self.level)

    def _down_from(self, level: int) -> int:
        self.going = "down"
        if level <= 1:
            return self._settle(level)
        self.level = level // 2
        return self.level

    def _settle(self, level: int) -> int:
        self.level, self.settled = level, True
        return level


class Throttle:
    """An async context manager: `async with throttle:` holds one of `limit` places;
    `answered(n)`, called inside that block after a successful call, feeds the
    climber (leaving the block wakes the waiting calls, which see a raised limit)."""

    def __init__(self, fixed: int | None, most: int = ADAPTIVE_MAX):
        self.climber = None if fixed else Climber(most=most)
        self.limit = fixed or self.climber.level
        self.in_flight = 0
        self._changed = asyncio.Condition()
        self._window_start = time.monotonic()
        self._window_answers = 0

    @property
    def window(self) -> int:
        """Answers measured per level: enough to average out uneven answer lengths."""
        return max(6, 2 * self.limit)

    async def __aenter__(self) -> Throttle:
        async with self._changed:
            await self._changed.wait_for(lambda: self.in_flight < self.limit)
            self.in_flight += 1
        return self

    async def __aexit__(self, *exc: object) -> None:
        async with self._changed:
            self.in_flight -= 1
            self._changed.notify_all()

    def answered(self, answers: int = 1) -> None:
        if self.climber is None or self.climber.settled:
            return
        self._window_answers += answers
        if self._window_answers < self.window:
            return
        now = time.monotonic()
        rate = self._window_answers / max(now - self._window_start, 1e-6)
        self.limit = self.climber.measured(rate)
        self._window_start, self._window_answers = now, 0
