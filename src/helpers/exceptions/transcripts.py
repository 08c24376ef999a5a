"""Read the answers behind a refusal rate: whole conversations per bucket, and
the answers parse_answer could not read (`invalid`) with examples.

Conversations are rebuilt from the response rows: the variant's turns (the
same rendering that made the cache keys, so they are what the model saw), the
reasoning answers stored in `reasoning`, and the final answer in `text` (or, in
exact mode, the final turn's P(no) / (P(yes) + P(no))).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd

from helpers.exceptions.prompting import Messages, build_messages
from helpers.exceptions.scenarios import CONTROL, Scenario

ROLE_NAMES = {"user": "Prompt", "assistant": "Model"}


def conversation(row, scenario: Scenario, variants_file: str | Path | None = None) -> Messages:
    """The messages of one response row, including the model's final answer if it wrote one."""
    reasoning = row["reasoning"] if isinstance(row["reasoning"], (list, tuple)) else []
    messages = build_messages(scenario, int(row["level"]), row["variant"], list(reasoning), variants_file)
    if isinstance(row.get("text"), str):
        messages.append({"role": "assistant", "content": row["text"]})
    return messages


def _quote(text: str) -> str:
    # A blockquote keeps a model's markdown (headings, lists) from restyling the page.
    return "\n".join(f"> {line}" if line.strip() else ">" for line in text.splitlines() or [""])


def _outcome(row) -> str:
    if row["status"] != "ok":
        return f"**{row['status']}** (no decision; never counted as a refusal)"
    if row["mode"] == "exact":
        top = row.get("top_decision")
        likelier = f"; likelier answer: {top}" if isinstance(top, str) else ""
        return (f"final turn: P(no) / (P(yes) + P(no)) = **{row['p_refusal']:.3f}** "
                f"(yes/no mass {row['yes_no_mass']:.2f}{likelier})")
    return f"parsed decision: **{row['decision']}**"


def bucket_markdown(responses: pd.DataFrame, scenario: Scenario, level: int, *,
                    variants: list[str] | None = None, limit: int = 3,
                    variants_file: str | Path | None = None) -> str:
    """Markdown with up to `limit` conversations per (model, variant) for one bucket."""
    rows = responses[(responses["scenario"] == scenario.id) & (responses["level"] == level)]
    if variants is not None:
        rows = rows[rows["variant"].isin(variants)]
    if rows.empty:
        return f"_No answers for {scenario.title}, level {level} yet._"
    which = "control, no violation" if level == CONTROL else f"level {level}"
    parts = [f"### {scenario.title}, {which} ({scenario.value(level)})"]
    for (model, variant), group in rows.groupby(["model", "variant"], sort=False):
        parts.append(f"#### {model}, `{variant}` ({len(group)} answer(s), showing up to {limit})")
        for _, row in group.head(limit).iterrows():
            parts.append(f"**Sample {row['sample']}** — {_outcome(row)}")
            for message in conversation(row, scenario, variants_file):
                parts.append(f"*{ROLE_NAMES.get(message['role'], message['role'])}:*\n\n{_quote(message['content'])}")
    return "\n\n".join(parts)


def invalid_summary(responses: pd.DataFrame, examples: int = 2, width: int = 160) -> pd.DataFrame:
    """Per (model, variant): parsed answers, how many were invalid, their share and
    a few invalid examples (shortened to `width` characters)."""
    parsed = responses[(responses["status"] == "ok") & responses["decision"].notna()]
    rows = []
    for (model, variant), group in parsed.groupby(["model", "variant"], sort=False):
        bad = group[group["decision"] == "invalid"]
        shown = [" ".join(str(t).split())[:width] for t in bad["text"].head(examples)]
        rows.append({"model": model, "variant": variant, "answers": len(group), "invalid": len(bad),
                     "invalid_share": len(bad) / len(group), "examples": " | ".join(shown)})
    return pd.DataFrame(rows, columns=["model", "variant", "answers", "invalid", "invalid_share", "examples"])


def example_config(config, level: int, samples: int):
    """A sample-mode copy of a run for one level with `samples` answers per bucket:
    the answers a viewer shows. Where the run itself sampled, these are its own
    (cached) answers; after an exact-mode run they are extra, sampled for reading.
    Level 0 is the control (design.levels_of)."""
    return replace(config, mode="sample", samples=samples, levels=(level,), control=False)
