"""Figures the paper reports, read from a data file (never typed into code).

Everything returned here is labelled `paper-reported` so that tables and plots
cannot present it as a result of this workspace.
"""

from __future__ import annotations

import pandas as pd

from helpers import paths

LABEL = "paper-reported"


def paper_reported() -> pd.DataFrame:
    """All paper-reported figures with their source (section) and a note."""
    table = pd.read_csv(paths.paper_reported_file(), dtype={"scenario": "string"})
    table["level"] = table["level"].astype("Int64")
    table["label"] = LABEL
    return table


def human_marks() -> pd.DataFrame:
    """The human refusal rates the paper quotes for particular buckets."""
    table = paper_reported()
    marks = table[table["metric"] == "human_refusal_rate"]
    return marks[["scenario", "level", "value", "source", "note", "label"]].rename(
        columns={"value": "refusal_rate"}
    ).reset_index(drop=True)
