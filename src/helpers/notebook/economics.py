"""The economic notebooks' (07, 08) typed parameters, read from `mo.cli_args()`.

    python notebooks/07_economic_games.py --kappa 0.3 --samples 4
    marimo export html notebooks/08_moral_applications.py -o out.html -- --rounds 4 --train-size 24
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.cli.option import read_args
from helpers.cli.params import ECONOMICS
from helpers.economics.agents import TrainPlan
from helpers.economics.games import default_games


@dataclass(frozen=True)
class EconParams:
    """Parameters of notebooks 07 and 08; CLI arguments seed the widgets. Built by
    `from_cli`, whose defaults, types and ranges are helpers.cli.params.ECONOMICS."""

    models: tuple[str, ...]  # more agents to measure besides the offline ones (e.g. openai/...)
    base_url: str | None
    games: Path
    kappa: float  # the homo moralis agent's κ (homo economicus is always κ = 0)
    samples: int
    temperature: float
    max_tokens: int
    train: TrainPlan
    finetune: bool
    rounds: int
    sessions: int
    rpm: float | None
    reasoning_effort: str | None  # openai/ reasoning models; None = each model's default
    reasoning_budget: int  # reasoning tokens per answer on top of max_tokens
    human_games: Path | None  # human game choices; None: data/human_games.csv or illustrative

    @classmethod
    def from_cli(cls, args: dict[str, Any]) -> EconParams:
        """Build from mo.cli_args(); unknown names and bad values are UserErrors."""
        v = read_args(args, ECONOMICS)
        plan = TrainPlan(size=v.pop("train_size"), seed=v.pop("seed"), explain=v.pop("explain"),
                         epochs=v.pop("train_epochs"), max_steps=v.pop("train_steps"))
        return cls(**{**v, "games": v["games"] or default_games(), "kappa": float(v["kappa"]), "train": plan})
