"""Notebook 07's human arm: which choices stand for people, what the notebook says
about them, and their cooperation and implied κ beside the agents'.

The data and the measures are helpers.economics.human_arm's; this module only
puts them in the notebook's words and tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from helpers.economics import measures
from helpers.economics.games import Game
from helpers.economics.human_arm import HumanGames, beside, human_cooperation, human_games_or_illustrative, human_kappa
from helpers.economics.preferences import Decision
from helpers.notebook.economics import EconParams


@dataclass(frozen=True)
class HumanArm:
    data: HumanGames
    rates: pd.DataFrame  # measures.cooperation_rates of the people
    fit: measures.KappaFit  # their implied κ, the interval over participants

    @property
    def label(self) -> str:
        return self.data.label


def human_arm(params: EconParams, games: list[Game], decisions: dict[str, Decision]) -> HumanArm:
    """The people's choices (--human-games, data/human_games.csv or illustrative)
    and their measures; a bad file is a UserError (one line) for `checked`."""
    data = human_games_or_illustrative(params.human_games, games)
    return HumanArm(data, human_cooperation(data, games, decisions), human_kappa(data, games, decisions))


def note(arm: HumanArm) -> str:
    """The markdown sentence saying which human choices the arm shows."""
    data = arm.data
    if not data.illustrative:
        return (f"Human choices: **{data.label}**, **measured** (real people): {data.describe()}. They saw the "
                "agents' prompts word for word (`helpers.economics.humans.prompt_for_people`).")
    return (f"Human choices: **{data.label}**: {data.describe()}. **Not real people**: made-up people, each "
            "with their own κ from a mixture of types (30% κ = 0, 50% κ in [0.2, 0.6], 20% κ in [0.7, 1]) "
            "choosing by the logit model the κ fit assumes (parameters: our choice; see "
            "`helpers.economics.human_illustrative`). Every human number below is **illustrative**. For real "
            "choices, run the survey's games module and export it to `data/human_games.csv`, or pass "
            "`--human-games FILE`.")


def cooperation_table(arm: HumanArm, agent_rates: pd.DataFrame, labels: dict[str, str],
                      decisions: dict[str, Decision]) -> pd.DataFrame:
    """Per game setting: the people's cooperation (95% interval, n) beside each agent's."""
    return beside(arm.rates, agent_rates, labels, arm.label, decisions).round(3)


def kappa_row(arm: HumanArm) -> dict:
    """The people's row of the implied-κ table (the agents' columns, and what it is)."""
    f = arm.fit
    return {"agent": arm.label, "implied κ": f.kappa, "95% low": f.ci_low, "95% high": f.ci_high,
            "temperature τ": f.temperature, "valid answers": f.n, "p vs random": f.p_uniform,
            "note": f"{arm.data.kind}; {f.method}" + (f"; {f.note}" if f.note else "")}


def with_people(agent_rates: pd.DataFrame, labels: dict[str, str], arm: HumanArm
                ) -> tuple[pd.DataFrame, dict[str, str]]:
    """The agents' rates and labels with the people added as one more line of the
    cooperation figure (their `model` is the arm's label)."""
    return pd.concat([agent_rates, arm.rates], ignore_index=True), {**labels, arm.label: arm.label}
