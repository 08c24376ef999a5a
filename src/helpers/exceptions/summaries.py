"""Put this workspace's agent-vs-human summary beside the paper's own figures.

One long table, one row per agent, with a `source` column that says where each
row comes from: this run (against the human data it was compared with, named
by its label, e.g. illustrative) or the paper (`paper-reported`, against the
paper's participants). The two are never merged into one number.
"""

from __future__ import annotations

import pandas as pd

from helpers.exceptions import reference

COLUMNS = ["source", "model", "variant", "buckets", "significant", "mean_abs_diff", "note"]


def beside_paper(summary: pd.DataFrame, human_label: str, variants: list[str] | None = None) -> pd.DataFrame:
    """stats.summarize output beside the paper-reported significant-bucket counts
    and mean absolute differences for the same variants (all of them when None)."""
    ours = summary.assign(source=f"this workspace vs {human_label}", note="")
    ours = ours.reindex(columns=COLUMNS)
    table = reference.paper_reported()
    wanted = variants if variants is not None else list(summary["variant"].unique())
    table = table[table["metric"].isin(["significant_buckets", "mean_abs_diff"]) & table["variant"].isin(wanted)]
    rows = []
    for (agent, variant), group in table.groupby(["agent", "variant"], sort=False):
        by_metric = group.set_index("metric")
        sig = by_metric["value"].get("significant_buckets")
        buckets = by_metric["denominator"].get("significant_buckets", by_metric["denominator"].get("mean_abs_diff"))
        # Each figure keeps its section and bucket count: the paper's mean gap for 4o
        # comes from a 30-bucket comparison, its significance count from all 60.
        note = "; ".join(f"{r.source}: {r.note} ({r.metric}, {r.denominator:.0f} buckets)" for r in group.itertuples())
        mad = by_metric["value"].get("mean_abs_diff")
        rows.append({"source": f"{reference.LABEL} (the paper's participants)", "model": agent, "variant": variant,
                     "buckets": buckets, "significant": sig, "mean_abs_diff": float("nan") if mad is None else mad,
                     "note": note})
    paper = pd.DataFrame(rows, columns=COLUMNS)
    both = pd.concat([ours, paper], ignore_index=True) if len(paper) else ours.reset_index(drop=True)
    return both.astype({"buckets": "Int64", "significant": "Int64", "mean_abs_diff": float})
