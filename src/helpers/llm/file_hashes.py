"""SHA-256 of large files (model weights), computed once and remembered across processes.

A 6 GB model takes about half a minute to hash, and its hash is part of every cache
key of its answers, so it must not be re-read at every load. The digest is kept in
a small SQLite file under the converted-models folder (paths.models_dir()), keyed
by the file's real path and what `stat` says of it: size, mtime in nanoseconds and
inode. Any of them changing re-hashes the file.

The caveat of every stat-based memo: a file rewritten in place with the same size
and the mtime set back to its old value (`touch -d`, `os.utime`, some copy tools with
--preserve) keeps its old digest. Tools that write model files (save_pretrained,
huggingface-cli download, cp, rsync without -t) give it a new mtime. Deleting
file-hashes.sqlite forgets every digest; it is rebuilt as files are hashed again.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from pathlib import Path

from helpers import paths

STORE_NAME = "file-hashes.sqlite"
_memo: dict[tuple[str, int, int, int], str] = {}  # this process's answers, by the same key
_lock = threading.Lock()


def store_path() -> Path:
    return paths.models_dir() / STORE_NAME


def _key(path: str | os.PathLike) -> tuple[str, int, int, int]:
    real = os.path.realpath(path)
    stat = os.stat(real)
    return real, stat.st_size, stat.st_mtime_ns, stat.st_ino


def _connect(create: bool) -> sqlite3.Connection | None:
    store = store_path()
    if not create and not store.is_file():
        return None
    store.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(store, timeout=30)
    db.execute("CREATE TABLE IF NOT EXISTS hashes (path TEXT PRIMARY KEY, size INTEGER, "
               "mtime_ns INTEGER, inode INTEGER, sha256 TEXT)")
    return db


def _stored(key: tuple[str, int, int, int]) -> str | None:
    try:
        db = _connect(create=False)
        if db is None:
            return None
        with db:
            row = db.execute("SELECT sha256 FROM hashes WHERE path = ? AND size = ? AND mtime_ns = ? AND inode = ?",
                             key).fetchone()
        db.close()
    except sqlite3.Error:  # a damaged or locked store only costs a re-hash
        return None
    return row[0] if row else None


def _remember(key: tuple[str, int, int, int], digest: str) -> None:
    try:
        db = _connect(create=True)
        assert db is not None
        with db:  # one row per path: a re-hashed file replaces its old digest
            db.execute("INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?, ?)", (*key, digest))
        db.close()
    except (sqlite3.Error, OSError):  # a read-only cache: hash again next time
        pass


def _hash(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def sha256(path: str | os.PathLike) -> str:
    """The file's SHA-256 in hex: from this process's memo, else the store, else by reading it."""
    key = _key(path)
    with _lock:
        found = _memo.get(key)
    if found is None:
        found = _stored(key)
        if found is None:
            found = _hash(key[0])
            # The file may have changed while it was read; keep the digest only if not.
            if _key(path) == key:
                _remember(key, found)
        with _lock:
            _memo[key] = found
    return found
