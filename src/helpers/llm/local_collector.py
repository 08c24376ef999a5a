"""Concurrent calls gathered into batches: the engine sends one call per answer,
concurrently; an in-process model answers faster many at a time. Each caller
awaits `submit(key, payload)`; calls with the same key (kind and settings) that
are waiting together go to `work(key, payloads)` as one batch, in a worker
thread, and each caller gets its own result back (work returns one per payload,
in order). One batch runs at a time; while it runs the next one gathers.

A batch that raises fails its own callers only, each with `fail(exc, size)`;
callers that gave up waiting (cancelled) are skipped and left out of batches.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Any

SETTLE = 0.002  # seconds without a new call before a partial batch starts
PATIENCE = 0.05  # the longest a partial batch waits for more calls


class Collector:
    def __init__(self, work: Callable[[Hashable, list[Any]], list[Any]], *, most: int,
                 fail: Callable[[BaseException, int], BaseException]):
        self._work = work
        self.most = most
        self._fail = fail
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: dict[Hashable, list[tuple[Any, asyncio.Future]]] = {}
        self._task: asyncio.Task | None = None

    async def submit(self, key: Hashable, payload: Any) -> Any:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # each run has its own event loop (engine.run_sync)
            self._loop, self._pending, self._task = loop, {}, None
        future = loop.create_future()
        self._pending.setdefault(key, []).append((payload, future))
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._drain())
        return await future

    def _waiting(self) -> int:
        return sum(len(calls) for calls in self._pending.values())

    async def _settle(self) -> None:
        """Let calls arriving together join one batch (the engine starts them in a burst)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PATIENCE
        count = self._waiting()
        while count < self.most and loop.time() < deadline:
            await asyncio.sleep(SETTLE)
            if (now := self._waiting()) == count:
                return
            count = now

    async def _drain(self) -> None:
        try:
            while self._pending:
                await self._settle()
                key = next(iter(self._pending))  # the kind waiting longest
                calls = [c for c in self._pending.pop(key) if not c[1].done()]
                batch, rest = calls[:self.most], calls[self.most:]
                if rest:  # to the back of the line, so other kinds get their turn
                    self._pending[key] = rest
                if batch:
                    await self._run(key, batch)
        finally:  # cancelled (the loop is closing): nobody may wait forever
            for calls in self._pending.values():
                for _, future in calls:
                    future.cancel()
            self._pending = {}

    async def _run(self, key: Hashable, batch: list[tuple[Any, asyncio.Future]]) -> None:
        try:
            results = await asyncio.to_thread(self._work, key, [payload for payload, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"a batch of {len(batch)} returned {len(results)} results")
        except asyncio.CancelledError:
            for _, future in batch:
                future.cancel()
            raise
        except Exception as exc:  # noqa: BLE001 - handed to this batch's callers, the only ones it concerns
            for _, future in batch:
                if not future.done():
                    future.set_exception(self._fail(exc, len(batch)))
            return
        for (_, future), result in zip(batch, results):
            if not future.done():
                future.set_result(result)
