"""Measure `prompting.parse_answer` on a labelled corpus of answers.

The corpus (tests/data/answers_corpus.csv, written for this workspace) is a CSV
with columns scenario (an id from scenarios.toml), text (one model answer),
label (yes / no / invalid: what a careful human reader codes), clear_cut
(true / false: false when the answer hedges, refuses or could be read either
way) and an optional note.

How a reading is scored:
- a *misread* is a decision opposite to the label (yes read as no, no read as
  yes), or a decision read from an answer labelled invalid. Misreads bias a
  bucket's rate, so none is allowed, whatever clear_cut says;
- an answer labelled yes or no and read `invalid` is not a misread (it is
  counted and shown in every run) but it loses data, so its share among the
  clear-cut yes/no answers is reported; a not-clear-cut answer labelled yes or
  no (a hedged lean) may be read either as its label or as invalid.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from helpers.errors import ConfigError
from helpers.exceptions.prompting import action_of, parse_answer
from helpers.exceptions.scenarios import Scenario

LABELS = ["yes", "no", "invalid"]
COLUMNS = ["scenario", "text", "label", "clear_cut"]
_BOOLEAN = {"true": True, "false": False}


def load_corpus(path: str | Path, scenarios: list[Scenario]) -> pd.DataFrame:
    """The corpus as a table (clear_cut as bool), checked row by row."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
            header = rows[0].keys() if rows else []
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such corpus file; pass the path of a CSV with columns "
                          f"{', '.join(COLUMNS)}") from None
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ConfigError(f"{path}: column '{missing[0]}' is missing; a corpus needs columns "
                          f"{', '.join(COLUMNS)} (note is optional)")
    known = {s.id for s in scenarios}
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        if row["scenario"] not in known:
            raise ConfigError(f"{path}, line {line}: unknown scenario '{row['scenario']}'; "
                              f"known ids are {', '.join(sorted(known))}")
        if row["label"] not in LABELS:
            raise ConfigError(f"{path}, line {line}: label '{row['label']}' must be one of "
                              f"{', '.join(LABELS)}")
        if row["clear_cut"].lower() not in _BOOLEAN:
            raise ConfigError(f"{path}, line {line}: clear_cut '{row['clear_cut']}' must be true or false")
    table = pd.DataFrame(rows, columns=COLUMNS + ["note"]).fillna("")
    table["clear_cut"] = table["clear_cut"].str.lower().map(_BOOLEAN).astype(bool)
    return table


def read(corpus: pd.DataFrame, scenarios: list[Scenario]) -> pd.DataFrame:
    """The corpus with `parsed`: parse_answer given the scenario's action, as in a run."""
    actions = {s.id: action_of(s.render(1)) for s in scenarios}
    out = corpus.copy()
    out["parsed"] = [parse_answer(text, actions[sid]) for text, sid in zip(out["text"], out["scenario"])]
    return out


@dataclass(frozen=True)
class Score:
    confusion: pd.DataFrame   # label x parsed, counts, every label and reading present
    misreads: pd.DataFrame    # the misread rows (see the module docstring)
    clear_cut_decisions: int  # clear-cut answers labelled yes or no
    clear_cut_invalid: int    # ... of which read invalid

    @property
    def clear_cut_invalid_share(self) -> float:
        return self.clear_cut_invalid / self.clear_cut_decisions if self.clear_cut_decisions else float("nan")

    def lines(self) -> list[str]:
        """The confusion table and the two figures, as text."""
        table = self.confusion.copy()
        table.index = [f"label {x}" for x in table.index]
        table.columns = [f"read {x}" for x in table.columns]
        return [table.to_string(),
                f"misreads: {len(self.misreads)}",
                f"clear-cut yes/no answers read invalid: {self.clear_cut_invalid} of "
                f"{self.clear_cut_decisions} ({self.clear_cut_invalid_share:.1%})"]


def score(parsed: pd.DataFrame) -> Score:
    """Score a table from `read`."""
    confusion = pd.crosstab(parsed["label"], parsed["parsed"]).reindex(
        index=LABELS, columns=LABELS, fill_value=0)
    decision = parsed["parsed"] != "invalid"
    wrong = decision & (parsed["parsed"] != parsed["label"])
    decisions = parsed[parsed["clear_cut"] & parsed["label"].isin(["yes", "no"])]
    return Score(confusion=confusion, misreads=parsed[wrong],
                 clear_cut_decisions=len(decisions),
                 clear_cut_invalid=int((decisions["parsed"] == "invalid").sum()))
