"""Exclusion variables of human responses, and filtering on them in the open.

The survey's export (`make survey`, docs/survey.md) marks answers it would be
reasonable to leave out, one true/false column per reason, and deletes nothing:

    excl_attention  the participant failed at least one attention check
    excl_fast       this answer came faster than the study's minimum time
    excl_paste      text was pasted into this explanation
    excluded        the study's own rule: any of the reasons its settings name

An analysis chooses which of these to apply (notebooks 01-05: `--exclude
attention,paste`). apply_exclusions drops those rows from the analysis copy only,
never from a file, and returns the sentence saying exactly what it dropped, which
the notebooks show beside their figures. Files without the columns (older
exports, other studies) have no exclusion variables; asking to filter them on
one is an error, not a silent no-op.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from helpers.humans import cells
from helpers.errors import ConfigError, UserError

# rule name (what --exclude takes) -> the column it reads
RULES: dict[str, str] = {"attention": "excl_attention", "fast": "excl_fast", "paste": "excl_paste",
                         "study": "excluded"}
VARIABLES: tuple[str, ...] = tuple(RULES.values())
# What a true value means, in the words of a note ("excluding failed attention check, ...").
REASONS: dict[str, str] = {"attention": "failed attention check", "fast": "answered too fast",
                           "paste": "pasted text", "study": "excluded by the study's own rule"}
WHERE = "the survey's export (`make survey`, see docs/survey.md) writes it"




def present(table: pd.DataFrame) -> tuple[str, ...]:
    """The exclusion variables this table has, in the export's order."""
    return tuple(c for c in VARIABLES if c in table.columns)


def validate_flags(table: pd.DataFrame, source: str = "human responses") -> pd.DataFrame:
    """A copy with each exclusion variable present read as bool.

    A value other than true/false/1/0 (any case) is a ConfigError naming the
    source, the data row (1-based, header not counted) and the column. Tables
    without these columns come back unchanged.
    """
    columns = present(table)
    if not columns:
        return table
    out = table.copy()
    for column in columns:
        values = []
        for row, raw in enumerate(table[column].tolist(), start=1):
            flag = cells.flag(raw)
            if flag is None:
                shown = cells.text(raw)
                what = f"{shown[:40]!r} is not true or false" if shown else "missing"
                raise ConfigError(f"{source}: row {row}, field `{column}`: {what}; write true or false (or 1/0)")
            values.append(flag)
        out[column] = pd.Series(values, index=table.index, dtype=bool)
    return out


def parse_rules(rules: Iterable[str]) -> tuple[str, ...]:
    """Rule names in the order given, duplicates removed; an unknown one is a UserError."""
    chosen: list[str] = []
    for rule in rules:
        rule = str(rule).strip()
        if rule not in RULES:
            raise UserError(f"--exclude must be one of {', '.join(RULES)}, got {rule!r}")
        if rule not in chosen:
            chosen.append(rule)
    return tuple(chosen)


def label_tag(rules: Iterable[str]) -> str:
    """What a figure's human label adds: 'excl. attention, paste' ('' for no rules)."""
    rules = tuple(rules)
    return f"excl. {', '.join(rules)}" if rules else ""


def apply_exclusions(table: pd.DataFrame, rules: Iterable[str], *,
                     source: str = "the human data") -> tuple[pd.DataFrame, str]:
    """The rows no chosen rule flags, and the sentence saying what was dropped.

    rules: names from RULES (attention, fast, paste, study); an answer is dropped
    when any chosen variable is true. The table itself is not changed (the kept
    rows are a copy), and no file is touched. With no rules the table comes back
    whole and the note says which variables were there to use ("" when none).
    A rule whose column the data lack, or a filter that drops every answer, is a
    UserError naming `source`.
    """
    rules = parse_rules(rules)
    has = present(table)
    if not rules:
        note = f"no exclusions applied (the data has {', '.join(has)})" if has else ""
        return table, note
    for rule in rules:
        if RULES[rule] not in table.columns:
            raise UserError(f"--exclude {rule}: {source} has no exclusion variable `{RULES[rule]}` "
                            f"({REASONS[rule]}); {WHERE}")
    flags = validate_flags(table, source)
    drop = np.zeros(len(flags), dtype=bool)
    for rule in rules:
        drop |= flags[RULES[rule]].to_numpy(dtype=bool)
    # The kept rows keep their index (row i of a loaded file is index i - 1), so a
    # dropped answer can always be traced back to its line in the file.
    dropped, kept = flags[drop], flags[~drop]
    reasons = ", ".join(REASONS[r] for r in rules)
    columns = " or ".join(f"`{RULES[r]}`" for r in rules)
    if not len(kept):
        raise UserError(f"--exclude {','.join(rules)}: every answer of {source} ({len(table)}) has {columns} "
                        "true, so nothing is left to analyse; choose fewer rules")
    people = dropped["participant_id"].nunique() if "participant_id" in table else 0
    note = (f"excluding {reasons} ({columns} true): {len(dropped)} of {len(table)} answers "
            f"({people} participant{'' if people == 1 else 's'}) dropped; {len(kept)} kept")
    return kept, note
