"""The human-responses format: one row per participant x scenario.

Required columns, in this order (others are allowed and kept):

    participant_id  pseudonymous id (never a name or an e-mail address)
    scenario        a scenario id from scenarios.toml
    level           the level the participant saw, 1-based (1 = most severe)
    decision        yes / no (grant the exception or not)
    explanation     the participant's reason in their own words (may be empty)
    timestamp       when the answer was given, ISO 8601 (e.g. 2024-12-05T14:03:00+00:00)
    study           which study the row comes from (e.g. "workshop-2025-03")

The survey's export adds data-quality columns after these (timings, edits,
pasted text, attention checks) and four exclusion variables, excl_attention,
excl_fast, excl_paste and excluded (true/false, checked here; see
helpers.humans.quality, which filters on them when asked and says so).

Files are CSV or parquet. Loading is strict, because a silently dropped row
changes a refusal rate: every problem is one line naming the file, the data row
(1-based, header not counted) and the field. The survey's export and the
illustrative generator both produce this format, so everything downstream
(helpers.exceptions.stats, the notebooks) reads one shape. Which data a notebook
uses (a file, the survey's export or the illustrative set) is decided in
helpers.humans.source.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.errors import ConfigError
from helpers.exceptions.scenarios import Scenario
from helpers.humans.provenance import is_illustrative
from helpers.humans.quality import validate_flags

COLUMNS = ["participant_id", "scenario", "level", "decision", "explanation", "timestamp", "study"]
DECISIONS = ("yes", "no")
SUFFIXES = (".csv", ".parquet")


def _read(path: Path) -> pd.DataFrame:
    if path.suffix not in SUFFIXES:
        raise ConfigError(f"{path}: human responses must be a .csv or .parquet file")
    if not path.is_file():
        raise ConfigError(f"{path}: file not found; pass an existing human-responses file")
    try:
        if path.suffix == ".csv":
            # Everything as text, nothing turned into NaN: we parse and check each field ourselves.
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        return pd.read_parquet(path)
    except pd.errors.EmptyDataError:
        raise ConfigError(f"{path}: the file is empty; it needs a header row with {', '.join(COLUMNS)}") from None
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        detail = " ".join(str(exc).split())[:200]
        raise ConfigError(f"{path}: cannot be read as {path.suffix[1:]} ({detail})") from None


def _text(value: object) -> str:
    """A cell as text; missing values (NaN, None) become ''."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if value is pd.NA or value is pd.NaT:
        return ""
    return str(value).strip()


def _level(raw: object) -> int | None:
    if isinstance(raw, (bool, np.bool_)):
        return None
    if isinstance(raw, (int, np.integer)):
        return int(raw)
    text = _text(raw)
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number.is_integer() else None


def _timestamp(text: str) -> bool:
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        return False
    return True


def validate_human(table: pd.DataFrame, scenarios: list[Scenario], source: str = "human responses") -> pd.DataFrame:
    """Check a human-responses table and return a clean copy.

    The copy has the required columns first (level as int, decision 'yes'/'no',
    the others as text) followed by any extra columns; the exclusion variables
    among them (excl_attention, excl_fast, excl_paste, excluded) as bool. `source` names the data
    in error messages (the file path when loading). Illustrative rows mixed with
    real ones are refused (helpers.humans.provenance).
    """
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise ConfigError(f"{source}: missing column `{missing[0]}`; the required columns are {', '.join(COLUMNS)}")
    if table.empty:
        raise ConfigError(f"{source}: no rows; the file has a header but no responses")
    levels = {s.id: len(s.levels) for s in scenarios}
    clean: dict[str, list] = {c: [] for c in COLUMNS}
    seen: dict[tuple[str, str], int] = {}
    for row, record in enumerate(table[COLUMNS].itertuples(index=False), start=1):
        where = f"{source}: row {row}"
        pid, scenario, raw_level, raw_decision, explanation, stamp, study = record
        pid = _text(pid)
        if not pid:
            raise ConfigError(f"{where}, field `participant_id`: missing; every row needs a pseudonymous id")
        if "@" in pid:
            raise ConfigError(f"{where}, field `participant_id`: {pid[:40]!r} looks like an e-mail address; "
                              "use pseudonymous ids")
        scenario = _text(scenario)
        if scenario not in levels:
            known = ", ".join(sorted(levels))
            raise ConfigError(f"{where}, field `scenario`: unknown scenario {scenario!r}; known ids are {known}")
        level = _level(raw_level)
        if level is None or not 1 <= level <= levels[scenario]:
            raise ConfigError(f"{where}, field `level`: {_text(raw_level)!r} is not a level of '{scenario}'; "
                              f"use a whole number from 1 to {levels[scenario]}")
        decision = _text(raw_decision).lower()
        if not decision:
            raise ConfigError(f"{where}, field `decision`: missing; write yes or no")
        if decision not in DECISIONS:
            raise ConfigError(f"{where}, field `decision`: {_text(raw_decision)[:40]!r} is not yes or no")
        stamp = _text(stamp)
        if not stamp:
            raise ConfigError(f"{where}, field `timestamp`: missing; write an ISO 8601 time such as 2024-12-05T14:03:00Z")
        if not _timestamp(stamp):
            raise ConfigError(f"{where}, field `timestamp`: {stamp[:40]!r} is not ISO 8601 "
                              "(e.g. 2024-12-05T14:03:00Z)")
        study = _text(study)
        if not study:
            raise ConfigError(f"{where}, field `study`: missing; name the study each row comes from")
        if (pid, scenario) in seen:
            raise ConfigError(f"{where}, field `scenario`: participant {pid!r} answered '{scenario}' already "
                              f"in row {seen[pid, scenario]}; each participant answers a scenario once")
        seen[pid, scenario] = row
        for column, value in zip(COLUMNS, (pid, scenario, level, decision, _text(explanation), stamp, study)):
            clean[column].append(value)
    out = pd.DataFrame(clean)
    is_illustrative(out, source)  # refuses a mix of generated and real rows
    out["level"] = out["level"].astype(int)
    extras = [c for c in table.columns if c not in COLUMNS]
    for column in extras:
        out[column] = table[column].to_numpy()
    # The survey export's exclusion variables (helpers.humans.quality), when there:
    # read as true/false now, so a filter later cannot stumble on a bad cell.
    return validate_flags(out, source)


def load_human(path: str | Path, scenarios: list[Scenario]) -> pd.DataFrame:
    """Load and validate a human-responses file (.csv or .parquet).

    scenarios: the scenarios the responses refer to (ids and level counts are
    checked against them). Returns the validated table (see validate_human).
    Any problem is a ConfigError naming the file, row and field.
    """
    path = Path(path)
    return validate_human(_read(path), scenarios, source=str(path))


def write_human(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a human-responses table to .csv or .parquet (by the file name).

    The required columns come first; the parent folder is created. The file is
    written next to its final name and renamed, so a reader never sees half a file.
    """
    path = Path(path)
    if path.suffix not in SUFFIXES:
        raise ConfigError(f"{path}: write human responses to a .csv or .parquet file")
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise ConfigError(f"cannot write {path}: missing column `{missing[0]}`")
    ordered = table[COLUMNS + [c for c in table.columns if c not in COLUMNS]]
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    if path.suffix == ".csv":
        ordered.to_csv(partial, index=False, encoding="utf-8")
    else:
        ordered.to_parquet(partial, index=False)
    partial.replace(path)
    return path


def bucket_rates(responses: pd.DataFrame) -> pd.DataFrame:
    """Per (scenario, level): n answers, refusal_rate = no / n and its binomial SE,
    the shape plots.refusal_curves draws as the human line."""
    grouped = responses.groupby(["scenario", "level"])["decision"]
    out = pd.DataFrame({"n": grouped.size(), "no": grouped.apply(lambda d: int((d == "no").sum()))}).reset_index()
    out["refusal_rate"] = out["no"] / out["n"]
    out["se"] = np.sqrt(out["refusal_rate"] * (1 - out["refusal_rate"]) / out["n"])
    return out


def describe(responses: pd.DataFrame) -> str:
    """One line: participants, answers and studies in a human-responses table
    (and "illustrative (generated)" when its rows carry the illustrative marks)."""
    studies = ", ".join(sorted(responses["study"].astype(str).unique()))
    made_up = " (illustrative: generated, not people)" if is_illustrative(responses) else ""
    return (f"{responses['participant_id'].nunique()} participants, {len(responses)} answers, "
            f"study: {studies}{made_up}")

