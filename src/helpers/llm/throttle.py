"""How many requests one endpoint gets at once: fixed (--concurrency N) or found.

A one-slot server (llama.cpp on a laptop) answers one request at a time: more
in flight gains nothing and only makes each request wait in the server's queue,
inside its deadline. OpenAI answers many at once, and a vLLM or SGLang cluster
hundreds (vLLM batches up to its --max-num-seqs per replica). Nobody has to know
which: without --concurrency the throttle measures throughput (answers per
second) at a level, doubles the level while that pays (at least +15%), and
otherwise halves it while throughput holds (within 10%), then stays at the best
level it saw. Time a request waits here, in the client, is not part of its deadline.

The search stops by itself where throughput stops growing (the server's
capacity, a --rpm pace, or the client's own CPU), so its ceiling, SERVER_MOST,
is high: the same 1,000 that --concurrency allows. Capped at 16, a server that
answers in 2 s got at most 8 requests a second (480 a minute) however many GPUs
stood behind it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

ADAPTIVE_START = 4  # in flight at first: a dead endpoint shows within one deadline
SERVER_MOST = 1000  # the most the search climbs to for a server (4, 8, ... 512, 1000)
ADAPTIVE_MAX = 16  # what an in-process model keeps in flight (engine.py); the Climber's default ceiling
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
    climber, and a raised limit lets waiting calls in at once.

    Calls wait in a first-come queue, and a place that frees up is handed to the
    first waiting call directly (counted in `in_flight` from then on), so each
    answer wakes one call: a run queues all its calls here at once (60,000 for the
    paper's sample mode), and waking them all to re-check the limit, as a
    Condition's notify_all would, made every answer cost time in proportion to
    the calls still waiting.
    """

    def __init__(self, fixed: int | None, most: int = ADAPTIVE_MAX):
        self.climber = None if fixed else Climber(most=most)
        self.limit = fixed or self.climber.level
        self.in_flight = 0
        self._waiting: deque[asyncio.Future] = deque()
        self._window_start = time.monotonic()
        self._window_answers = 0

    @property
    def window(self) -> int:
        """Answers measured per level: enough to average out uneven answer lengths."""
        return max(6, 2 * self.limit)

    async def __aenter__(self) -> Throttle:
        if self.in_flight < self.limit and not self._waiting:
            self.in_flight += 1
            return self
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        self._admit()  # a queue of cancelled turns only would otherwise hold this one back
        try:
            await turn  # resolved by _admit, which has counted this call in already
        except asyncio.CancelledError:
            # Cancelled while waiting, the turn is cancelled too and _admit drops it when
            # it comes up (no search of the queue: a failing run cancels every call at once).
            if turn.done() and not turn.cancelled():  # admitted, then cancelled before it ran
                self.in_flight -= 1
                self._admit()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.in_flight -= 1
        self._admit()

    def _admit(self) -> None:
        """Hand free places to the calls waiting longest."""
        while self._waiting and self.in_flight < self.limit:
            turn = self._waiting.popleft()
            if not turn.done():
                self.in_flight += 1
                turn.set_result(None)

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
        self._admit()
