"""The answer viewer of notebooks 02 and 03: pick a bucket, read the run's own
answers (or conversations), a few sampled ones, and the answers that state no
decision. An exact-mode run has no text, so answers are sampled for reading only."""

from __future__ import annotations

from typing import Any

import pandas as pd

from helpers.exceptions import RunResult, Scenario, transcripts
from helpers.notebook.runs import RunPlan, examples_plan, run_plan


def viewer_controls(result: RunResult, scenarios: list[Scenario], examples: int, label: str = "answers per variant"):
    """Scenario, level and how many sampled answers, over the buckets the run has."""
    import marimo as mo

    responses = result.responses
    ids = sorted(set(responses["scenario"])) or [s.id for s in scenarios]
    shown = [s for s in scenarios if s.id in ids]
    levels = [str(v) for v in sorted(set(responses["level"]))] or ["1"]
    return mo.ui.dictionary({
        "scenario": mo.ui.dropdown(options={s.title: s.id for s in shown},
                                   value=next(s.title for s in shown if s.id == ids[0]), label="scenario"),
        "level": mo.ui.dropdown(options=levels, value=str(max(responses["level"], default=1)), label="level"),
        "examples": mo.ui.number(start=1, value=examples, label=label),
    })


def viewed(values: dict[str, Any], scenarios: list[Scenario]) -> tuple[Scenario, int]:
    """The scenario and level the viewer's widgets point at."""
    return next(s for s in scenarios if s.id == values["scenario"]), int(values["level"])


def run_answers(result: RunResult, scenarios: list[Scenario], values: dict[str, Any], what: str, mode: str):
    """The run's own answers to the viewed bucket (three per variant)."""
    import marimo as mo

    scenario, level = viewed(values, scenarios)
    text = transcripts.bucket_markdown(result.responses, scenario, level, limit=3)
    return mo.md(f"**This run's {what}** ({mode} mode):\n\n{text}")


def sample(plan: RunPlan, scenarios: list[Scenario], values: dict[str, Any], *, make_calls: bool) -> RunResult:
    """A few sampled answers per variant to the viewed bucket, through the cache."""
    scenario, level = viewed(values, scenarios)
    return run_plan(examples_plan(plan, scenario, level, int(values["examples"])), make_calls=make_calls,
                    title="Sampling answers to read")


def sampled_answers(examples: RunResult, scenarios: list[Scenario], values: dict[str, Any], exact: bool,
                    reading_only: str = "for reading only"):
    """The sampled answers, parsed, and how many are still to be sampled."""
    import marimo as mo

    scenario, level = viewed(values, scenarios)
    missing = examples.stats.missing
    note = f"\n\n_{missing} answers are not cached yet: press the button to sample them._" if missing else ""
    title = "**Sampled answers**" + (f" ({reading_only})" if exact else "")
    return mo.md(f"{title}:\n\n" + transcripts.bucket_markdown(examples.responses, scenario, level, limit=20) + note)


def invalid_answers(result: RunResult, examples: RunResult, exact: bool) -> tuple[pd.DataFrame, str]:
    """Answers that state no decision, counted over the run's answers (sample mode)
    or over the sampled ones (exact mode, whose answers have no text); and which."""
    source = examples.responses if exact else result.responses
    which = ("the answers sampled for reading above (an exact run has no text to parse)" if exact
             else "this run's answers")
    return transcripts.invalid_summary(source), which
