"""What the economic notebooks (07, 08) share: typed parameters from the command
line, and progress bars for fine-tuning and play.

    python notebooks/07_economic_games.py --kappa 0.3 --samples 4
    marimo export html notebooks/08_moral_applications.py -o out.html -- --rounds 4 --train-size 24
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.economics.agents import TrainPlan
from helpers.errors import UserError
from helpers.economics.games import default_games
from helpers.economics.preferences import as_kappa

KNOWN = {"model", "base-url", "games", "kappa", "samples", "temperature", "max-tokens", "train-size",
         "train-epochs", "train-steps", "explain", "finetune", "rounds", "sessions", "rpm", "seed"}


def _flag(value: Any) -> bool:
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on", ""):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise UserError(f"expected true or false, got {value!r}")


@dataclass(frozen=True)
class EconParams:
    """Parameters of notebooks 07 and 08; CLI arguments seed the widgets."""

    models: tuple[str, ...] = ()  # more agents to measure besides the offline ones (e.g. openai/...)
    base_url: str | None = None
    games: Path = field(default_factory=default_games)
    kappa: float = 0.5  # the homo moralis agent's κ (homo economicus is always κ = 0)
    samples: int = 2
    temperature: float = 1.0
    max_tokens: int = 8
    train: TrainPlan = TrainPlan()
    finetune: bool = True
    rounds: int = 6
    sessions: int = 1
    rpm: float | None = None

    @classmethod
    def from_cli(cls, args: dict[str, Any]) -> EconParams:
        """Build from mo.cli_args(); unknown names and bad values are UserErrors."""
        unknown = sorted(set(args) - KNOWN)
        if unknown:
            raise UserError(f"unknown notebook argument --{unknown[0]}; known: "
                            + ", ".join(f"--{k}" for k in sorted(KNOWN)))
        models = args.get("model", [])
        models = models if isinstance(models, list) else str(models).split(",")
        try:
            plan = TrainPlan(size=int(args.get("train-size", TrainPlan.size)),
                             seed=int(args.get("seed", TrainPlan.seed)),
                             explain=_flag(args["explain"]) if "explain" in args else TrainPlan.explain,
                             epochs=int(args.get("train-epochs", TrainPlan.epochs)),
                             max_steps=int(args["train-steps"]) if "train-steps" in args else None)
            params = cls(models=tuple(str(m).strip() for m in models if str(m).strip()),
                         base_url=args.get("base-url"),
                         games=Path(args["games"]) if "games" in args else default_games(),
                         kappa=float(as_kappa(str(args.get("kappa", 0.5)))),
                         samples=int(args.get("samples", 2)),
                         temperature=float(args.get("temperature", 1.0)),
                         max_tokens=int(args.get("max-tokens", 8)), train=plan,
                         finetune=_flag(args.get("finetune", True)), rounds=int(args.get("rounds", 6)),
                         sessions=int(args.get("sessions", 1)),
                         rpm=float(args["rpm"]) if "rpm" in args else None)
        except ValueError as exc:
            raise UserError(f"bad notebook argument: {exc}") from None
        if params.kappa == 0:
            raise UserError("--kappa must be above 0: it is the homo moralis agent's κ "
                            "(the homo economicus agent, κ = 0, is always there)")
        for name, value in (("samples", params.samples), ("rounds", params.rounds),
                            ("sessions", params.sessions), ("train-size", plan.size),
                            ("train-epochs", plan.epochs)):
            if value < 1:
                raise UserError(f"--{name} must be at least 1, got {value}")
        return params
