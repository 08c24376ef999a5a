"""Cached model calls: never pay twice for the same answer, never lose one.

Every answer is stored in a diskcache under cache/calls/, keyed on the request
that is actually sent (the provider's request body: messages, kind of call and
every sampling setting), the model's identity (provider, endpoint, model and,
for local models, the weights' hash) and the sample's index; never on the API
key, timeouts, retries or how many answers one request carried (`n`). Entries
never expire. A failed call is not stored, so the next run makes it again.

Answers written before the keys were derived from the request (schema 1) stay
valid: a lookup that misses falls back to the old key of the same request and
copies the answer to its new key (helpers.llm.legacy).

A damaged cache (not a database, truncated, emptied, unreadable values) is one
clear UserError that says how to recover, never a silent new cache; answers
that could not be stored (the file deleted or replaced during a run, a full
disk) are counted and reported.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import diskcache

from helpers import paths
from helpers.errors import UserError

CACHE_SCHEMA = 2  # 2: keys from the request body; bump when a key's or a value's shape changes
# Added fields need no bump when old values still read: yes_no answers gained `top_k` and
# `p_unlisted` (the top-k bound) and older ones without them are read by rows._exact.
DB_NAME = "cache.db"  # diskcache's file name
MARKER = "HOLDS-ANSWERS"


def _damaged(db: Path, why: str) -> UserError:
    aside = db.parent.with_name(db.parent.name + ".damaged")
    return UserError(f"the answer cache {db} is damaged ({why}); nothing was overwritten: move it aside "
                     f"(mv {db.parent} {aside}) and rerun to start an empty cache, or restore it from a "
                     f"backup (`sqlite3 {db} .recover` can save what is still readable)")


class CallCache:
    """The answers on disk. Reads and writes go through here so that damage is
    reported once, clearly, and an answer that was not kept is noticed."""

    def __init__(self, folder: Path):
        self.db = folder / DB_NAME
        # The marker says this folder has held answers. Without it an empty or
        # missing file is a new cache (or one being created by another process
        # this instant); with it, the answers are gone and that must be said.
        self._marker = folder / MARKER
        if self._marker.exists():
            if not self.db.exists():
                raise _damaged(self.db, f"{DB_NAME} is missing from a folder that held answers")
            if self.db.stat().st_size == 0:
                raise _damaged(self.db, "the file is empty (0 bytes)")
        try:
            # No size limit and no eviction: entries are paid for and must stay.
            self._cache = diskcache.Cache(str(folder), size_limit=2**62, eviction_policy="none")
            holds_answers = len(self._cache) > 0
        except sqlite3.DatabaseError as exc:
            raise _damaged(self.db, str(exc)) from None
        self._inode = os.stat(self.db).st_ino
        self.stored = 0  # answers this process wrote
        self.unstored = 0  # answers that could not be written
        self.unstored_reason = ""
        self.session: dict[str, Any] = {}  # what this opening learned of servers (helpers.llm.served)
        if holds_answers:
            self._mark()

    def _mark(self) -> None:
        if not self._marker.exists():
            self._marker.write_text("This folder holds model answers; see cache/README.md.\n")

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            return self._cache.get(key)
        except Exception as exc:  # noqa: BLE001 - any failure to read a stored value is damage
            raise _damaged(self.db, f"{type(exc).__name__}: {exc}") from None

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None

    def add(self, key: str, value: dict[str, Any]) -> dict[str, Any]:
        """Store unless another process stored this key first; return the kept value."""
        try:
            if self._cache.add(key, value):
                if not self.stored:
                    self._mark()
                self.stored += 1
                return value
            return self.get(key) or value
        except sqlite3.OperationalError as exc:  # a full disk, a read-only or locked file
            self.unstored += 1
            self.unstored_reason = str(exc)
            return value

    def put_meta(self, key: str, value: dict[str, Any]) -> None:
        """Keep what a run learned about a server (keys start with "meta:", never a hex
        digest, so they cannot meet an answer's key)."""
        assert key.startswith("meta:")
        try:
            self._cache.set(key, value)
        except sqlite3.OperationalError:  # a full or read-only disk: it is learned again next run
            pass

    def lost(self) -> tuple[int, str]:
        """Answers written by this process that are no longer on disk because the
        file was deleted or replaced while it was open (sqlite keeps writing to the
        unlinked file without an error), plus any that could not be written."""
        try:
            replaced = os.stat(self.db).st_ino != self._inode
        except FileNotFoundError:
            replaced = True
        if replaced and self.stored:
            return self.stored + self.unstored, f"{self.db} was deleted or replaced during the run"
        return self.unstored, self.unstored_reason

    def close(self) -> None:
        self._cache.close()

    def __enter__(self) -> CallCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_cache() -> CallCache:
    return CallCache(paths.calls_cache_dir())


def _digest(payload: dict[str, Any]) -> str:
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def request_digest(model_identity: dict[str, str], kind: str, body: dict[str, Any]) -> str:
    """A stable hash of one request as sent, but for `n` and the seed (the sample index
    stands for both)."""
    return _digest({"schema": CACHE_SCHEMA, "model": model_identity, "kind": kind, "request": body})


def seed_of(key: str) -> int:
    """A sampling seed per answer, so each sample index is reproducible on its own."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)


@dataclass
class CallStats:
    made: int = 0
    cached: int = 0
    failed: int = 0
    missing: int = 0  # not in the cache and not made (cache-only reads)
    unstored: int = 0  # made but not kept on disk (they will be made again)
    unstored_reason: str = ""
    reasons: dict[str, tuple[int, str]] = field(default_factory=dict)  # kind -> (answers, first message)
    billed: int = 0  # requests that timed out here and may still have been billed
    billed_cost: float | None = 0.0  # at most this (None: no price known)
    notes: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every answer wanted was made or cached and kept: what exit status 0 means."""
        return not (self.failed or self.unstored)

    def line(self) -> str:
        line = f"calls: {self.made} made, {self.cached} cached, {self.failed} failed"
        if self.unstored:
            line += (f"; {self.unstored} answers could not be stored ({self.unstored_reason}) "
                     "and will be made again on the next run")
        return line

    def lines(self) -> list[str]:
        """The counts, then why answers failed (one line per kind of failure, with its
        first message), what may have been billed without an answer, and notes."""
        out = [self.line()]
        for kind, (count, message) in sorted(self.reasons.items(), key=lambda kv: -kv[1][0]):
            out.append(f"failed: {count} answer{'s' if count != 1 else ''} ({kind}): {message}")
        if self.failed:
            out.append("failed answers are not stored; rerun the same command to make them")
        if self.billed:
            cost = "an unknown amount" if self.billed_cost is None else f"up to ${self.billed_cost:.4f}"
            out.append(f"billed without an answer: {self.billed} request{'s' if self.billed != 1 else ''} "
                       f"timed out here after reaching the server, which may charge them ({cost})")
        out.extend(f"note: {note}" for note in self.notes)
        return out
