"""Reading people's data files cell by cell: the rules every human-data loader
shares (the scenario answers in responses, the game choices in
helpers.economics.humans, the exclusion flags in quality).

A file is read as text and each field parsed here, so a value pandas would
silently turn into NaN or a float is seen as the user wrote it, and every
problem can name the file, the row and the field.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.errors import ConfigError

SUFFIXES = (".csv", ".parquet")
_FLAGS = {"true": True, "1": True, "false": False, "0": False}


def read_table(path: Path, what: str, columns: list[str]) -> pd.DataFrame:
    """A .csv (all text, nothing turned into NaN) or .parquet file; `what` names
    the kind of file in messages ("human responses"), `columns` the header it needs."""
    if path.suffix not in SUFFIXES:
        raise ConfigError(f"{path}: {what} must be a .csv or .parquet file")
    if not path.is_file():
        raise ConfigError(f"{path}: file not found; pass an existing {what} file")
    try:
        if path.suffix == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        return pd.read_parquet(path)
    except pd.errors.EmptyDataError:
        raise ConfigError(f"{path}: the file is empty; it needs a header row with {', '.join(columns)}") from None
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        detail = " ".join(str(exc).split())[:200]
        raise ConfigError(f"{path}: cannot be read as {path.suffix[1:]} ({detail})") from None


def text(value: object) -> str:
    """A cell as text; missing values (NaN, None, NA, NaT) become ''."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    return str(value).strip()


def whole(raw: object) -> int | None:
    """A whole number from a cell ("3", 3, 3.0), else None (true/false is not a number)."""
    if isinstance(raw, (bool, np.bool_)):
        return None
    if isinstance(raw, (int, np.integer)):
        return int(raw)
    try:
        number = float(text(raw))
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def is_time(value: str) -> bool:
    """Whether the text is an ISO 8601 time (a trailing Z allowed)."""
    try:
        datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        return False
    return True


def flag(raw: object) -> bool | None:
    """A true/false cell (true/false/1/0 in any case, or a boolean); None when it is neither."""
    if isinstance(raw, (bool, np.bool_)):
        return bool(raw)
    if isinstance(raw, (int, float, np.integer, np.floating)) and not isinstance(raw, bool):
        return {0: False, 1: True}.get(raw) if not math.isnan(raw) else None  # parquet may hold 0/1 or 0.0/1.0
    return _FLAGS.get(text(raw).lower())


def write_table(table: pd.DataFrame, path: Path, what: str, columns: list[str]) -> Path:
    """Write a table to .csv or .parquet (by the file name), the required `columns`
    first; the parent folder is created, and the file is written beside its final
    name and renamed, so a reader never sees half a file."""
    if path.suffix not in SUFFIXES:
        raise ConfigError(f"{path}: write {what} to a .csv or .parquet file")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ConfigError(f"cannot write {path}: missing column `{missing[0]}`")
    ordered = table[columns + [c for c in table.columns if c not in columns]]
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    if path.suffix == ".csv":
        ordered.to_csv(partial, index=False, encoding="utf-8")
    else:
        ordered.to_parquet(partial, index=False)
    partial.replace(path)
    return path


def participant_id(raw: object, where: str) -> str:
    """A row's participant id: present, and pseudonymous (an e-mail address is refused)."""
    pid = text(raw)
    if not pid:
        raise ConfigError(f"{where}, field `participant_id`: missing; every row needs a pseudonymous id")
    if "@" in pid:
        raise ConfigError(f"{where}, field `participant_id`: {pid[:40]!r} looks like an e-mail address; "
                          "use pseudonymous ids")
    return pid
