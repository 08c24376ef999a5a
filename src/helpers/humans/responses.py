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

from pathlib import Path

import numpy as np
import pandas as pd

from helpers.errors import ConfigError
from helpers.humans import cells
from helpers.exceptions.scenarios import Scenario
from helpers.humans.provenance import is_illustrative
from helpers.humans.quality import validate_flags

COLUMNS = ["participant_id", "scenario", "level", "decision", "explanation", "timestamp", "study"]
DECISIONS = ("yes", "no")










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
        pid = cells.participant_id(pid, where)
        scenario = cells.text(scenario)
        if scenario not in levels:
            known = ", ".join(sorted(levels))
            raise ConfigError(f"{where}, field `scenario`: unknown scenario {scenario!r}; known ids are {known}")
        level = cells.whole(raw_level)
        if level is None or not 1 <= level <= levels[scenario]:
            raise ConfigError(f"{where}, field `level`: {cells.text(raw_level)!r} is not a level of '{scenario}'; "
                              f"use a whole number from 1 to {levels[scenario]}")
        decision = cells.text(raw_decision).lower()
        if not decision:
            raise ConfigError(f"{where}, field `decision`: missing; write yes or no")
        if decision not in DECISIONS:
            raise ConfigError(f"{where}, field `decision`: {cells.text(raw_decision)[:40]!r} is not yes or no")
        stamp = cells.text(stamp)
        if not stamp:
            raise ConfigError(f"{where}, field `timestamp`: missing; write an ISO 8601 time such as 2024-12-05T14:03:00Z")
        if not cells.is_time(stamp):
            raise ConfigError(f"{where}, field `timestamp`: {stamp[:40]!r} is not ISO 8601 "
                              "(e.g. 2024-12-05T14:03:00Z)")
        study = cells.text(study)
        if not study:
            raise ConfigError(f"{where}, field `study`: missing; name the study each row comes from")
        if (pid, scenario) in seen:
            raise ConfigError(f"{where}, field `scenario`: participant {pid!r} answered '{scenario}' already "
                              f"in row {seen[pid, scenario]}; each participant answers a scenario once")
        seen[pid, scenario] = row
        for column, value in zip(COLUMNS, (pid, scenario, level, decision, cells.text(explanation), stamp, study)):
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
    return validate_human(cells.read_table(path, "human responses", COLUMNS), scenarios, source=str(path))


def write_human(table: pd.DataFrame, path: str | Path) -> Path:
    """Write a human-responses table to .csv or .parquet (by the file name).

    The required columns come first; the parent folder is created. The file is
    written next to its final name and renamed, so a reader never sees half a file.
    """
    return cells.write_table(table, Path(path), "human responses", COLUMNS)


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

