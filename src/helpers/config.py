"""Strict checks shared by the TOML files users edit: scenarios, variants, games.

A typo in a key would otherwise change an experiment silently, so unknown keys
are errors, and every message names the file and the item, says what was
expected and what was found, and fits on one line.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from helpers.errors import ConfigError

ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


def type_name(value: object) -> str:
    """How a TOML value's type reads in an error message."""
    return {str: "a string", list: "a list", int: "a number", float: "a number",
            bool: "true/false", dict: "a table"}.get(type(value), type(value).__name__)


def check_entry(source: str, index: int, raw: object, *, table: str, noun: str, id_key: str,
                required: dict[str, type], optional: dict[str, type]) -> str:
    """Check one [[table]] entry's keys, their types and its lower_snake_case id.

    Returns the prefix for later messages about this entry: "FILE: noun 'id'"
    (or "FILE: noun #index" while the id itself is unusable).
    """
    where = f"{source}: {noun} #{index}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a [[{table}]] table, got {type_name(raw)}")
    if isinstance(raw.get(id_key), str):
        where = f"{source}: {noun} '{raw[id_key]}'"
    unknown = sorted(set(raw) - set(required) - set(optional))
    if unknown:
        allowed = ", ".join(sorted(required) + sorted(optional))
        raise ConfigError(f"{where}: unknown key `{unknown[0]}`; allowed keys are {allowed}")
    for key, kind in {**required, **optional}.items():
        if key not in raw:
            if key in required:
                raise ConfigError(f"{where}: missing required key `{key}`")
            continue
        if not isinstance(raw[key], kind):
            raise ConfigError(f"{where}: `{key}` must be {type_name(kind())}, got {type_name(raw[key])}")
    if not ID_PATTERN.match(raw[id_key]):
        raise ConfigError(
            f"{where}: `{id_key}` must be lower_snake_case (letters, digits, _), got {raw[id_key]!r}")
    return where


def table_entries(text: str, source: str, table: str) -> list[object]:
    """The [[table]] entries of a TOML text that holds nothing else (at least one)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {table})
    if unknown:
        raise ConfigError(f"{source}: unknown top-level key `{unknown[0]}`; the file holds only [[{table}]] tables")
    entries = data.get(table)
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{source}: no {table} found; add at least one [[{table}]] table")
    return entries


def read_text(path: Path, flag: str) -> str:
    """A user's file as text; `flag` is the option that names another one (e.g. --games)."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found; pass {flag} with an existing file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc})") from None
