"""The run steps of the exceptions-study notebooks (01-03 and 06; 04 and 05 open
their study here too): the study a notebook's arguments name, the run's widgets,
the plan they make, the estimate shown before the run button, the run itself
with a progress bar, and the bucket table.

The widgets are one mo.ui.dictionary, so a notebook keeps one `controls` global
whose `.value` holds every choice; each notebook asks only for the widgets it has.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from helpers.errors import UserError
from helpers.exceptions import (MODES, Estimate, RunConfig, RunResult, Scenario, experiment, load_scenarios,
                                load_variants, select, stats, transcripts)
from helpers.humans import MoralExceptQA, load_moralexceptqa
from helpers.llm import Limits
from helpers.llm.capabilities import EFFORTS
from helpers.notebook.comparison import HumanSide
from helpers.notebook.params import NotebookParams, check_run_arguments
from helpers.notebook.progress import ProgressBar
from helpers.notebook.shutdowns import shutdown_callout
from helpers.notebook.tables import table as ui_table


@dataclass(frozen=True)
class RunPlan:
    """What the run button runs: the config, the scenarios it covers, and how."""

    config: RunConfig
    scenarios: list[Scenario]
    limits: Limits
    max_cost: float | None = None  # dollars; None: no limit
    batch: bool = False  # the Batch API (openai/ models only)


@dataclass(frozen=True)
class Study:
    """What a notebook's first cell reads: its parameters, the scenarios (or vignettes)
    it measures, the human side it compares with, and the prompt variants it offers."""

    params: NotebookParams
    scenarios: list[Scenario]
    human: HumanSide | None = None
    variants: dict | None = None  # name -> Variant; None: the notebook has no variant picker


def open_study(cli_args: Mapping[str, Any], defaults: Mapping[str, Any] | None = None, *,
               variants: bool = False) -> Study:
    """Notebooks 01-05: the notebook's defaults overridden by its command line, the
    scenarios file they name and the human data (--human, else the survey's export,
    else the illustrative set) without the answers --exclude names. Every argument a widget will take is checked first,
    so a bad one is one UserError, not a widget's traceback. variants: read
    variants.toml too, for a variant picker."""
    params = NotebookParams.from_cli({**(defaults or {}), **dict(cli_args)})
    scenarios = load_scenarios(params.scenarios)
    _check(params, scenarios)
    return Study(params, scenarios, HumanSide.load(params.human, scenarios, params.exclude),
                 load_variants() if variants else None)


def open_moralexceptqa(cli_args: Mapping[str, Any]) -> tuple[Study, MoralExceptQA]:
    """Notebook 06: its parameters over MoralExceptQA's vignettes, and the dataset."""
    params = NotebookParams.from_cli(dict(cli_args))
    if params.exclude:  # said, not ignored: a filter that did nothing would still be believed
        raise UserError(f"--exclude {','.join(params.exclude)}: notebook 06 compares with MoralExceptQA's published "
                        "shares, which have no exclusion variables; --exclude is for notebooks 01-05")
    data = load_moralexceptqa(params.moralexceptqa)
    _check(params, data.scenarios)
    return Study(params, data.scenarios), data


def _check(params: NotebookParams, scenarios: list[Scenario]) -> None:
    check_run_arguments(params, scenarios)
    if params.max_cost < 0:  # the widget it seeds starts at 0
        raise UserError(f"--max-cost must be at least 0 dollars, got {params.max_cost}")


def run_controls(study: Study, *, pickers: bool = True, reasoning: bool = False, batch: bool = False):
    """The run's widgets, seeded by the study's parameters, as one mo.ui.dictionary,
    and the run button.

    pickers: scenario and level pickers, a control box where a scenario has a control
    (and a variant picker when the study read variants); reasoning: a reasoning-turn length; batch: a Batch API box.
    """
    import marimo as mo

    params, scenarios = study.params, study.scenarios
    widgets: dict[str, Any] = {"models": mo.ui.text(value=", ".join(params.models), full_width=True,
                                                    label="models (provider/model, comma-separated)")}
    if study.variants is not None:
        wanted = params.variants or ("baseline",)
        widgets["variants"] = mo.ui.multiselect(options=list(study.variants), label="variants",
                                                value=[v for v in wanted if v in study.variants])
    if pickers:
        ids = set(params.scenario_ids)
        widgets["scenarios"] = mo.ui.multiselect(options={s.title: s.id for s in scenarios}, label="scenarios",
                                                 value=[s.title for s in scenarios if not ids or s.id in ids])
        top = max(len(s.levels) for s in scenarios)
        widgets["levels"] = mo.ui.multiselect(options=[str(i) for i in range(1, top + 1)], label="levels",
                                              value=[str(i) for i in (params.levels or range(1, top + 1))])
        if any(s.control is not None for s in scenarios):
            widgets["control"] = mo.ui.checkbox(value=not params.no_control,
                                                label="control (level 0: no violation)")
    widgets["mode"] = mo.ui.dropdown(options=list(MODES), value=params.mode, label="mode")
    widgets["samples"] = mo.ui.number(start=1, value=params.samples,
                                      label="samples per bucket (sample mode; chains for multi-turn variants)")
    if reasoning:
        widgets["reasoning_tokens"] = mo.ui.number(start=1, value=params.reasoning_tokens,
                                                   label="tokens per reasoning turn")
    # Reasoning models (openai/ only) take an effort; "default" sends none.
    widgets["reasoning_effort"] = mo.ui.dropdown(options=["default", *EFFORTS],
                                                 value=params.reasoning_effort or "default",
                                                 label="reasoning effort (openai/ reasoning models)")
    widgets["max_cost"] = mo.ui.number(start=0, step=0.5, value=params.max_cost, label="max cost ($)")
    if batch:
        widgets["batch"] = mo.ui.checkbox(label="Batch API (openai/ only: half price, up to 24 h)")
    return mo.ui.dictionary(widgets), mo.ui.run_button(label="Run the missing calls")


def controls_view(controls, *buttons):
    """The widgets of run_controls laid out in rows, the buttons on the last."""
    import marimo as mo

    rows = [[k for k in keys if k in controls] for keys in
            (("models",), ("variants", "scenarios", "levels", "control"),
             ("mode", "samples", "reasoning_tokens", "reasoning_effort"))]
    last = [controls[k] for k in ("max_cost", "batch") if k in controls]
    return mo.vstack([mo.hstack([controls[k] for k in row]) for row in rows if row] + [mo.hstack([*last, *buttons])])


def _effort(chosen: str | None, default: str | None) -> str | None:
    if chosen is None:
        return default
    return None if chosen == "default" else chosen


def configure(values: dict[str, Any], study: Study) -> RunPlan:
    """The RunPlan the widgets' values describe; a UserError for one a run cannot take."""
    params, levels = study.params, values.get("levels")
    config = RunConfig(
        models=tuple(m.strip() for m in values["models"].split(",") if m.strip()),
        variants=tuple(values.get("variants") or ("baseline",)), mode=values["mode"], samples=int(values["samples"]),
        temperature=params.temperature, max_tokens=params.max_tokens, base_url=params.base_url,
        reasoning_tokens=int(values.get("reasoning_tokens", params.reasoning_tokens)),
        reasoning_effort=_effort(values.get("reasoning_effort"), params.reasoning_effort),
        reasoning_budget=params.reasoning_budget,
        levels=tuple(sorted(int(v) for v in levels)) or None if levels is not None else None,
        control=bool(values.get("control", not params.no_control)),
    )
    chosen = select(study.scenarios, list(values.get("scenarios") or []))
    return RunPlan(config, chosen, Limits(rpm=params.rpm), values.get("max_cost"), bool(values.get("batch")))


@dataclass(frozen=True)
class Run:
    """A notebook's run: its plan, the estimate made before it, and its result."""

    plan: RunPlan
    estimate: Estimate
    result: RunResult
    buckets: pd.DataFrame  # stats.refusal_rates of the answers: one row per bucket planned

    @property
    def config(self) -> RunConfig:
        return self.plan.config

    @property
    def measured(self) -> pd.DataFrame:
        """The buckets with at least one answer (the others wait for the run button)."""
        return self.buckets[self.buckets["n"] > 0]

    def report(self, note: str = ""):
        """The estimate (what the run needs and costs before the button), the run's
        `calls: X made, Y cached, Z failed` line and what is not cached yet, below a
        warning for any openai/ model OpenAI shuts down."""
        import marimo as mo

        config, stats = self.plan.config, self.result.stats
        lines = [f"**Before the run button** (nothing spent yet):\n\n```\n{self.estimate.table()}\n```"]
        lines += [f"**Warning:** {w}" for w in config.warnings()]
        if chains := config.chain_variants():
            lines.append(f"Multi-turn variants ({', '.join(chains)}): **{config.samples} reasoning sample(s) back "
                         f"each bucket**, reasoning turns of at most {config.reasoning_tokens} tokens.")
        missing = f" {stats.missing} calls are not cached yet: press the run button to make them." if stats.missing else ""
        lines.append(f"`{stats.line()}`{note}.{missing}{call_details(stats)}")
        return mo.vstack([shutdown_callout(config.models, config.base_url), mo.md("\n\n".join(lines))])


def call_details(stats) -> str:
    """Markdown bullets after a run's `calls:` line: why answers failed (one per kind,
    with counts), what may have been billed without an answer, what was learned."""
    return "".join(f"\n\n- {line}" for line in stats.lines()[1:])


def measure(values: dict[str, Any], study: Study, *, make_calls: bool, title: str = "Measuring buckets") -> Run:
    """Plan the run the widgets describe, estimate it, and run it (make_calls=False:
    read the cache only, spend nothing). title: the progress bar's."""
    plan = configure(values, study)
    guess = experiment.estimate(plan.config, plan.scenarios, plan.limits, batch=plan.batch)
    result = run_plan(plan, make_calls=make_calls, title=title)
    return Run(plan, guess, result, stats.refusal_rates(result.responses))


def run_plan(plan: RunPlan, *, make_calls: bool, title: str = "Measuring buckets") -> RunResult:
    """experiment.run of a plan with a progress bar; make_calls=False reads the cache only."""
    with ProgressBar(title) as bar:
        return experiment.run(plan.config, plan.scenarios, make_calls=make_calls, limits=plan.limits,
                              batch=plan.batch, max_cost=plan.max_cost, progress=bar.answers)


def examples_plan(plan: RunPlan, scenario: Scenario, level: int, samples: int) -> RunPlan:
    """Sampled answers of one bucket for reading (transcripts.example_config), no cost limit."""
    return replace(plan, config=transcripts.example_config(plan.config, level, samples), scenarios=[scenario],
                   max_cost=None, batch=False)


def estimand_note(buckets: pd.DataFrame) -> str:
    """One sentence putting the exact buckets' mean probability beside their mean
    likelier answer (measured), or nothing for a run with no exact bucket."""
    exact = buckets[buckets["measure"] == "exact"] if "measure" in buckets else buckets.iloc[0:0]
    if exact.empty or "rate_top" not in exact:
        return ""
    return (f"Measured here: mean probability **{exact['refusal_rate'].mean():.3f}**, mean likelier "
            f"answer **{exact['rate_top'].mean():.3f}** over {len(exact)} exact-mode buckets.")


def bucket_table(buckets: pd.DataFrame):
    """Every bucket of a run, rounded, one page of up to 100 rows."""
    import marimo as mo

    return ui_table(buckets.round(3), selection=None, page_size=min(len(buckets), 100) or 10)
