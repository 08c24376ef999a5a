"""Replication archives: cached answers as a portable dataset, and back into a cache.

Once a provider retires a model, the answers in the cache are the only record of
it. An archive is a folder anyone can read without this workspace:

- answers.parquet: one row per answer: its cache key, the model's identity and
  the request body (both JSON) that the key is the hash of, the study's labels,
  the answer's fields as columns for readers, and the complete stored answer
  (JSON), which is what an import puts back, unchanged;
- meta.json: the cache's `meta:` entries of the exported models (what a
  self-hosted server was last seen serving, which its answers' keys depend on:
  served.py), so that an import finds the same keys with the server gone;
- the study's input files and a README.md;
- manifest.json: format version, workspace version, the selection, counts, the
  answers' date range, and every other file's size and SHA-256.

What `verify` promises before anything is written: the files are exactly those
the manifest lists, whole and unchanged since it was written; the manifest is of
a format this code reads; each key is the hash of its row's identity, kind,
request and sample (so an edited request is refused even if the checksums were
recomputed); no key occurs twice; each column agrees with the stored answer. It
cannot prove who wrote an archive: an answer edited together with its columns,
the checksums recomputed, is a valid archive. The SHA-256 of manifest.json
(shown by `archive show`) pins one archive down, e.g. when published with a paper.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from helpers.errors import UserError
from helpers.llm.cache import CallCache, seed_of
from helpers.llm.units import Unit

FORMAT = "exceptions-answer-archive"
FORMAT_VERSION = 1
ANSWERS, META, MANIFEST, README = "answers.parquet", "meta.json", "manifest.json", "README.md"
REQUIRED = (ANSWERS, META, README)
PACKAGE = "exceptions-workspace"
PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

# Fields of a stored answer shown as columns (null where an answer lacks one).
ANSWER_COLUMNS: dict[str, pa.DataType] = {
    "text": pa.string(), "p_yes": pa.float64(), "p_no": pa.float64(), "prompt_tokens": pa.float64(),
    "completion_tokens": pa.float64(), "reasoning_tokens": pa.float64(), "cost_usd": pa.float64(),
    "created": pa.timestamp("us", tz="UTC"), "seconds": pa.float64(), "batch_id": pa.string(),
    "response_model": pa.string(), "system_fingerprint": pa.string(), "finish_reason": pa.string(),
}
_HEAD = {"key": pa.string(), "model": pa.string()}
_REQUEST = {"sample": pa.int64(), "kind": pa.string(), "seed": pa.int64(), "identity": pa.string(),
            "request": pa.string()}


@dataclass
class Entry:
    """One cached answer to archive: the unit it answers, the answer, the study's labels."""

    unit: Unit
    answer: dict[str, Any]
    labels: dict[str, Any] = field(default_factory=dict)


def _json(value: Any) -> str:
    # allow_nan=False: NaN is not JSON, and every reader must get back what was stored.
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def column(answer: dict[str, Any], name: str) -> Any:
    """An answer's field as its column holds it (the same rule when writing and checking)."""
    value = answer.get(name)
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "created":
        return datetime.fromtimestamp(value, UTC) if number else None
    if ANSWER_COLUMNS[name] == pa.float64():
        return float(value) if number else None
    return value if isinstance(value, str) or value is None else _json(value)


def _answer_json(key: str, answer: dict[str, Any]) -> str:
    try:
        text = _json(answer)
        if json.loads(text) == answer:
            return text
    except (TypeError, ValueError):
        pass
    raise UserError(f"the cached answer {key} holds a value JSON cannot carry unchanged (not a number, "
                    "a tuple, a non-text key); it cannot be archived as it is: report this as a bug")


def schema(labels: dict[str, str]) -> pa.Schema:
    """The columns of answers.parquet with these study labels."""
    clash = set(labels) & {*_HEAD, *_REQUEST, *ANSWER_COLUMNS, "answer"}
    assert not clash, f"label columns {clash} clash with the archive's own"
    return pa.schema([*_HEAD.items(), *((n, pa.type_for_alias(t)) for n, t in labels.items()),
                      *_REQUEST.items(), *ANSWER_COLUMNS.items(), ("answer", pa.string())])


def _row(entry: Entry, labels: dict[str, str]) -> dict[str, Any]:
    unit = entry.unit
    return {"key": unit.key, "model": unit.model.spec.name, **{n: entry.labels.get(n) for n in labels},
            "sample": unit.sample, "kind": unit.kind, "seed": seed_of(unit.key),
            "identity": _json(unit.model.identity), "request": _json(unit.body),
            **{name: column(entry.answer, name) for name in ANSWER_COLUMNS},
            "answer": _answer_json(unit.key, entry.answer)}


def sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def workspace() -> dict[str, str | None]:
    """This package's version and, when it runs from a git checkout, the commit."""
    try:
        version = metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:
        version = None
    checkout = Path(__file__).resolve().parents[3]  # src/helpers/llm/archive.py -> the checkout
    commit = None
    if (checkout / "pyproject.toml").is_file():
        try:
            done = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True,
                                  text=True, timeout=10)
            commit = done.stdout.strip() if done.returncode == 0 else None
        except (OSError, subprocess.SubprocessError):
            pass
    return {"package": PACKAGE, "version": version, "git_commit": commit or None}


def _utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _empty_target(folder: Path) -> None:
    if folder.is_dir():
        if any(folder.iterdir()):
            raise UserError(f"{folder} exists and is not empty; export writes a new archive only: "
                            "give a new folder, or empty this one")
    elif folder.exists():
        raise UserError(f"{folder} is a file, not a folder; give a new folder for the archive")


def write(folder: Path, entries: list[Entry], *, labels: dict[str, str], meta: dict[str, dict],
          inputs: dict[str, Path], about: dict[str, Any], readme: Callable[[dict], str]) -> dict[str, Any]:
    """Write an archive of `entries` (one row per distinct key, the first kept) to the
    new or empty `folder`, and return its manifest.

    labels: the study's label columns and their Arrow types ("string", "int64");
    meta: the cache's `meta:` entries to carry; inputs: files copied in (name in
    the archive -> source); about: what the manifest also says (study, selection,
    answers planned); readme: the archive's README.md from the manifest so far.
    """
    unique: dict[str, Entry] = {}
    for entry in entries:  # twin units (one key, e.g. two variants asking alike) are one answer
        unique.setdefault(entry.unit.key, entry)
    rows = [_row(e, labels) for e in unique.values()]
    table = pa.Table.from_pylist(rows, schema=schema(labels))
    created = [e.answer["created"] for e in unique.values() if isinstance(e.answer.get("created"), (int, float))]
    manifest: dict[str, Any] = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "created": _utc(time.time()),
        "workspace": workspace(), **about, "labels": labels, "answers": len(rows),
        "answers_created": {"first": _utc(min(created)), "last": _utc(max(created))} if created else None,
        "models": dict(Counter(r["model"] for r in rows)),
    }
    folder = folder.expanduser().absolute()
    _empty_target(folder)
    # Written beside the target and renamed into place, so an interrupted export
    # never leaves something at `folder` that looks like an archive.
    partial = folder.with_name(f".{folder.name}.partial-{os.getpid()}")
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
        pq.write_table(table, partial / ANSWERS)
        (partial / META).write_text(json.dumps(meta, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                                    encoding="utf-8")
        (partial / README).write_text(readme(manifest), encoding="utf-8")
        for name, source in inputs.items():
            shutil.copyfile(source, partial / name)
        manifest["files"] = {p.name: {"sha256": sha256(p), "bytes": p.stat().st_size}
                             for p in sorted(partial.iterdir())}
        (partial / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n",
                                        encoding="utf-8")
        partial.rename(folder)  # replaces an empty folder; a non-empty one is refused
    except OSError as exc:
        raise UserError(f"cannot write the archive to {folder}: {exc.strerror or exc}; "
                        "choose a folder you can write to") from None
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return manifest


@dataclass
class Archive:
    """An archive as read back and verified (archive_check.verify)."""

    folder: Path
    manifest: dict[str, Any]
    rows: list[dict[str, Any]]  # answers.parquet, with `identity`, `request` and `answer` parsed
    meta: dict[str, dict[str, Any]]


@dataclass
class Imported:
    """What an import did: answers added, already there (the same), or differing
    (the key holds another answer here, which was kept)."""

    added: int = 0
    present: int = 0
    differing: list[str] = field(default_factory=list)
    unstored: int = 0
    unstored_reason: str = ""
    meta_added: int = 0
    meta_differing: list[str] = field(default_factory=list)


def import_into(archive: Archive, cache: CallCache) -> Imported:
    """Put every answer of a verified archive (archive_check.verify) into `cache`
    under its key; nothing already in the cache is overwritten."""
    done = Imported()
    for row in archive.rows:
        stored, unstored = cache.stored, cache.unstored
        kept = cache.add(row["key"], row["answer"])
        if cache.stored > stored:
            done.added += 1
        elif cache.unstored > unstored:
            done.unstored += 1
            done.unstored_reason = cache.unstored_reason
        elif kept == row["answer"]:
            done.present += 1
        else:
            done.differing.append(row["key"])
    for key, value in archive.meta.items():
        existing = cache.get(key)
        if existing is None:
            cache.put_meta(key, value)
            done.meta_added += 1
        elif existing != value:
            done.meta_differing.append(key)
    return done
