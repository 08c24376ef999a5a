"""Reading a replication archive back: every check an import relies on, all run
before anything is written (archive.py says what they promise and what not)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from helpers.errors import UserError
from helpers.llm.archive import (ANSWER_COLUMNS, ANSWERS, FORMAT, FORMAT_VERSION, MANIFEST, META, REQUIRED,
                                 Archive, PLAIN_NAME, column, schema, sha256)
from helpers.llm.cache import request_digest, seed_of
from helpers.llm.units import KINDS

EXPORTED = "give the folder that `python -m helpers archive export` wrote"
RECOPY = "copy the whole archive again from its source"


def _refused(folder: Path, what: str, fix: str = RECOPY) -> UserError:
    return UserError(f"archive {folder}: {what}; {fix}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest, checked for shape and format version (not yet the files)."""
    if not folder.is_dir():
        raise UserError(f"{folder} is not a folder; {EXPORTED}")
    path = folder / MANIFEST
    if not path.is_file():
        raise UserError(f"{folder} is not an answer archive (it has no {MANIFEST}); {EXPORTED}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _refused(folder, f"{MANIFEST} is not valid JSON ({exc})") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}; check its permissions") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _refused(folder, f"{MANIFEST} is not an answer archive's manifest (no `format` '{FORMAT}')", EXPORTED)
    version = manifest.get("format_version")
    if not _is_int(version) or version != FORMAT_VERSION:
        wrote = (manifest.get("workspace") or {}).get("version") if isinstance(manifest.get("workspace"),
                                                                               dict) else None
        raise _refused(folder, f"format version {version!r}, and this workspace reads version {FORMAT_VERSION}",
                       f"read it with the workspace that wrote it (version {wrote})")
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(
            isinstance(n, str) and PLAIN_NAME.fullmatch(n) and n != MANIFEST and isinstance(e, dict)
            and isinstance(e.get("sha256"), str) and _is_int(e.get("bytes")) for n, e in files.items()):
        raise _refused(folder, f"the `files` of {MANIFEST} are not plain file names, each with sha256 and bytes")
    for name in REQUIRED:
        if name not in files:
            raise _refused(folder, f"{MANIFEST} does not list {name}, so this is not a whole archive")
    labels = manifest.get("labels")
    if not isinstance(labels, dict) or not all(isinstance(t, str) for t in labels.values()) \
            or not _is_int(manifest.get("answers")) or not isinstance(manifest.get("models"), dict):
        raise _refused(folder, f"{MANIFEST} lacks `labels`, `answers` or `models`, or one has the wrong type")
    return manifest


def check_files(folder: Path, manifest: dict[str, Any]) -> None:
    """Every file the manifest lists is there, with its size and SHA-256."""
    for name, entry in sorted(manifest["files"].items()):
        path = folder / name
        if not path.is_file():
            raise _refused(folder, f"{name} is missing (the manifest lists it), so the copy is partial")
        size = path.stat().st_size
        if size != entry["bytes"]:
            raise _refused(folder, f"{name} has {size} bytes where the manifest says {entry['bytes']}: "
                                   "it was cut short or changed")
        if sha256(path) != entry["sha256"]:
            raise _refused(folder, f"{name} does not match its SHA-256 in {MANIFEST}: it was changed or "
                                   "damaged after export")


def _parsed(folder: Path, where: str, row: dict[str, Any], name: str) -> dict[str, Any]:
    try:
        value = json.loads(row[name])
    except (TypeError, json.JSONDecodeError):
        value = None
    if not isinstance(value, dict):
        raise _refused(folder, f"{where}: `{name}` is not a JSON object")
    return value


def _check_row(folder: Path, where: str, row: dict[str, Any]) -> dict[str, Any]:
    identity, request, answer = (_parsed(folder, where, row, n) for n in ("identity", "request", "answer"))
    if row["kind"] not in KINDS or not _is_int(row["sample"]) or row["sample"] < 0:
        raise _refused(folder, f"{where}: kind {row['kind']!r} or sample {row['sample']!r} is not one a "
                               f"cache key is made of (kinds: {', '.join(KINDS)}; samples from 0)")
    if row["key"] != f"{request_digest(identity, row['kind'], request)}-{row['sample']}":
        raise _refused(folder, f"{where}: its key is not the hash of its model identity, kind, request and "
                               "sample, so one of them was changed after export")
    if row["seed"] != seed_of(row["key"]):
        raise _refused(folder, f"{where}: seed {row['seed']} is not the one its key gives ({seed_of(row['key'])})")
    if row["model"] != f"{identity.get('provider')}/{identity.get('model')}":
        raise _refused(folder, f"{where}: model {row['model']!r} is not the model of its identity")
    for name in ANSWER_COLUMNS:
        if row[name] != column(answer, name):
            raise _refused(folder, f"{where}: column `{name}` ({row[name]!r}) disagrees with the stored answer "
                                   f"({column(answer, name)!r}): it was edited after export")
    return {**row, "identity": identity, "request": request, "answer": answer}


def _rows(folder: Path, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    try:
        expected = schema(manifest["labels"])
    except (ValueError, KeyError, AssertionError):
        raise _refused(folder, f"the `labels` of {MANIFEST} are not column names with Arrow types") from None
    try:
        table = pq.read_table(folder / ANSWERS)
    except (pa.ArrowException, OSError) as exc:
        raise _refused(folder, f"{ANSWERS} is not a readable Parquet file ({exc})") from None
    if not table.schema.equals(expected):
        raise _refused(folder, f"{ANSWERS} does not have the columns and types its manifest's labels give")
    rows, first = [], {}
    for number, row in enumerate(table.to_pylist(), start=1):
        where = f"{ANSWERS} row {number} (key {str(row['key'])[:16]}...)"
        if row["key"] in first:
            raise _refused(folder, f"{where}: the key of row {first[row['key']]} again; an archive holds "
                                   "each answer once")
        first[row["key"]] = number
        rows.append(_check_row(folder, where, row))
    models = dict(Counter(r["model"] for r in rows))
    if len(rows) != manifest["answers"] or models != manifest["models"]:
        raise _refused(folder, f"{ANSWERS} holds {len(rows)} answers ({models}), and the manifest says "
                               f"{manifest['answers']} ({manifest['models']})")
    return rows


def _meta(folder: Path) -> dict[str, dict[str, Any]]:
    try:
        meta = json.loads((folder / META).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        meta = None
    if not isinstance(meta, dict) or not all(isinstance(k, str) and k.startswith("meta:") and isinstance(v, dict)
                                             for k, v in meta.items()):
        raise _refused(folder, f"{META} is not a JSON object of `meta:` entries")
    return meta


def verify(folder: Path) -> Archive:
    """The archive at `folder`, every check passed; else a UserError naming the first fault."""
    folder = Path(folder).expanduser().absolute()
    manifest = read_manifest(folder)
    check_files(folder, manifest)
    return Archive(folder, manifest, _rows(folder, manifest), _meta(folder))
