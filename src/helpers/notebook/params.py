"""The notebooks' shared typed parameters, read once from `mo.cli_args()`.

Every notebook reads `mo.cli_args()` once into NotebookParams, which seeds its
widgets; so `marimo export html nb.py -- --mode sample --samples 5` and
`python nb.py --mode sample` run the same analysis as moving the widgets.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers import paths
from helpers.cli.option import read_args
from helpers.cli.params import NOTEBOOK, TRAINING
from helpers.errors import UserError


@dataclass(frozen=True)
class NotebookParams:
    """What notebooks 01-06 take; built by `from_cli`, whose
    defaults, types and ranges are helpers.cli.params.NOTEBOOK."""

    models: tuple[str, ...]
    scenarios: Path
    mode: str
    samples: int
    temperature: float
    base_url: str | None
    max_cost: float  # dollars; the notebook refuses runs estimated above it
    rpm: float | None
    human: Path | None  # a human-responses file; None: data/human_responses.csv or illustrative
    exclude: tuple[str, ...]  # exclusion rules (helpers.humans.quality.RULES); () = none
    moralexceptqa: Path
    variants: tuple[str, ...]  # prompt variants; () = the notebook's own choice
    scenario_ids: tuple[str, ...]  # () = every scenario
    levels: tuple[int, ...] | None  # None = the notebook's own choice
    no_control: bool  # skip the scenarios' controls (level 0)
    max_tokens: int
    reasoning_tokens: int
    examples: int  # sampled answers per variant shown in an answer viewer
    reasoning_effort: str | None  # openai/ reasoning models; None = each model's default
    reasoning_budget: int  # reasoning tokens per answer on top of max_tokens

    @classmethod
    def from_cli(cls, args: dict[str, Any]) -> NotebookParams:
        """Build from mo.cli_args(); unknown names and bad values are UserErrors.

        The fine-tuning notebooks pass the same arguments to TrainingParams too,
        so its names are known here (and ignored).
        """
        values = read_args(args, NOTEBOOK, also=(o.name for o in TRAINING))
        values["scenarios"] = values["scenarios"] or paths.default_scenarios()
        values["moralexceptqa"] = values["moralexceptqa"] or paths.moralexceptqa_file()
        return cls(**values)


def check_run_arguments(params: NotebookParams, scenarios: list) -> None:
    """Raise a UserError for a run argument a notebook's widgets could not take
    (an unknown scenario or variant, a level no scenario has); the ranges of
    single values were checked by from_cli."""
    from helpers.exceptions import experiment
    from helpers.exceptions.scenarios import select

    select(scenarios, list(params.scenario_ids))
    top = max(len(s.levels) for s in scenarios)
    for level in params.levels or ():
        if level > top:
            raise UserError(f"--level {level}: the scenarios have levels 1 to {top}")
    experiment.RunConfig(models=params.models, variants=params.variants or ("baseline",), mode=params.mode,
                         samples=params.samples, max_tokens=params.max_tokens,
                         reasoning_tokens=params.reasoning_tokens, base_url=params.base_url,
                         reasoning_effort=params.reasoning_effort, reasoning_budget=params.reasoning_budget)
