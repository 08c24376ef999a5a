"""The notebooks' shared typed parameters, read once from `mo.cli_args()`.

Every notebook reads `mo.cli_args()` once into NotebookParams, which seeds its
widgets; so `marimo export html nb.py -- --mode sample --samples 5` and
`python nb.py --mode sample` run the same analysis as moving the widgets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers import paths
from helpers.errors import UserError
from helpers.llm.models import DEFAULT_MODEL

KNOWN = {"model", "scenarios", "mode", "samples", "temperature", "base-url", "max-cost", "rpm",
         "human", "study", "moralexceptqa",
         "variant", "scenario", "level", "max-tokens", "reasoning-tokens", "examples",
         # notebooks 04 and 05 (fine-tuning) read these through helpers.notebook.training.TrainingParams
         "labels-size", "explanations-size", "epochs", "max-steps", "seed", "train-scenario"}


def _items(value: Any) -> list[str]:
    """A repeated argument (a list) or a comma-separated one, as stripped strings."""
    values = value if isinstance(value, list) else str(value).split(",")
    return [str(v).strip() for v in values if str(v).strip()]


@dataclass(frozen=True)
class NotebookParams:
    models: tuple[str, ...] = (DEFAULT_MODEL,)
    scenarios: Path = field(default_factory=paths.default_scenarios)
    mode: str = "exact"
    samples: int = 10
    temperature: float = 1.0
    base_url: str | None = None
    max_cost: float = 5.0  # dollars; the notebook refuses runs estimated above it
    rpm: float | None = None
    human: Path | None = None  # a human-responses file; None: data/human_responses.csv or illustrative
    study: str = "survey"  # the study name the survey stores with each participant
    moralexceptqa: Path = field(default_factory=paths.moralexceptqa_file)
    variants: tuple[str, ...] = ()  # prompt variants; () = the notebook's own choice
    scenario_ids: tuple[str, ...] = ()  # () = every scenario
    levels: tuple[int, ...] | None = None  # None = the notebook's own choice
    max_tokens: int = 48
    reasoning_tokens: int = 256
    examples: int = 2  # sampled answers per variant shown in an answer viewer

    @classmethod
    def from_cli(cls, args: dict[str, Any]) -> NotebookParams:
        """Build from mo.cli_args(); unknown names and bad values are UserErrors."""
        unknown = sorted(set(args) - KNOWN)
        if unknown:
            raise UserError(f"unknown notebook argument --{unknown[0]}; known: "
                            + ", ".join(f"--{k}" for k in sorted(KNOWN)))
        models = args.get("model", DEFAULT_MODEL)
        models = models if isinstance(models, list) else str(models).split(",")
        try:
            return cls(
                models=tuple(str(m).strip() for m in models if str(m).strip()),
                scenarios=Path(args["scenarios"]) if "scenarios" in args else paths.default_scenarios(),
                mode=str(args.get("mode", "exact")),
                samples=int(args.get("samples", 10)),
                temperature=float(args.get("temperature", 1.0)),
                base_url=args.get("base-url"),
                max_cost=float(args.get("max-cost", 5.0)),
                rpm=float(args["rpm"]) if "rpm" in args else None,
                human=Path(args["human"]) if "human" in args else None,
                study=str(args.get("study", "survey")),
                moralexceptqa=Path(args["moralexceptqa"]) if "moralexceptqa" in args else paths.moralexceptqa_file(),
                variants=tuple(_items(args.get("variant", ""))),
                scenario_ids=tuple(_items(args.get("scenario", ""))),
                levels=tuple(int(v) for v in _items(args["level"])) if "level" in args else None,
                max_tokens=int(args.get("max-tokens", 48)),
                reasoning_tokens=int(args.get("reasoning-tokens", 256)),
                examples=int(args.get("examples", 2)),
            )
        except ValueError as exc:
            raise UserError(f"bad notebook argument: {exc}") from None


def check_run_arguments(params: NotebookParams, scenarios: list) -> None:
    """Raise a UserError for a run argument a notebook's widgets could not take
    (an unknown scenario or variant, a level no scenario has, a bad count)."""
    from helpers.exceptions import experiment
    from helpers.exceptions.scenarios import select

    select(scenarios, list(params.scenario_ids))
    top = max(len(s.levels) for s in scenarios)
    for level in params.levels or ():
        if not 1 <= level <= top:
            raise UserError(f"--level {level}: the scenarios have levels 1 to {top}")
    if params.examples < 1:
        raise UserError(f"--examples must be at least 1, got {params.examples}")
    experiment.RunConfig(models=params.models, variants=params.variants or ("baseline",), mode=params.mode,
                         samples=params.samples, max_tokens=params.max_tokens,
                         reasoning_tokens=params.reasoning_tokens, base_url=params.base_url)
