"""Telling generated (illustrative) answers from real people's by their content.

The illustrative generator marks every row twice: study = "illustrative" and a
participant id starting "illustrative-". Detection reads those marks, not the
file name or a label, so an illustrative table saved to any CSV and loaded again
is still illustrative. A table with both kinds of rows is refused: one number
computed from a mix would be neither a measurement of people nor an
illustration, and nothing downstream could say which.
"""

from __future__ import annotations

import pandas as pd

from helpers.errors import ConfigError

STUDY = "illustrative"  # the `study` of every generated row
ID_PREFIX = "illustrative-"  # how every generated participant id starts


def marked_rows(table: pd.DataFrame) -> pd.Series:
    """True for each row that carries an illustrative mark (study or id prefix)."""
    marked = pd.Series(False, index=table.index)
    if "study" in table.columns:
        marked |= table["study"].astype(str).str.strip() == STUDY
    if "participant_id" in table.columns:
        marked |= table["participant_id"].astype(str).str.strip().str.startswith(ID_PREFIX)
    return marked


def is_illustrative(table: pd.DataFrame, source: str = "human responses") -> bool:
    """Whether a human-responses table is the generated illustrative set.

    All rows marked: True; none: False; some: a ConfigError naming `source`,
    because illustrative and real answers must never meet in one dataset or
    comparison.
    """
    marked = marked_rows(table)
    count = int(marked.sum())
    if 0 < count < len(table):
        first = int(marked.to_numpy().argmax()) + 1
        raise ConfigError(f"{source}: {count} of {len(table)} rows are illustrative (study '{STUDY}' or "
                          f"participant id '{ID_PREFIX}...', first at row {first}) and the others are real; "
                          "keep generated answers out of real data: remove those rows or use separate files")
    return count > 0 and count == len(table)
