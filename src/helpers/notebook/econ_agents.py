"""The steps notebooks 07 (games) and 08 (dilemmas and pricing) share: their
arguments, the agents (the offline model and its versions fine-tuned toward
κ = 0 and a chosen κ), and asking them, each with a progress bar.

Fine-tuning is optional here: when LoRA is not available, or a training fails,
the notebook says why and goes on with the base model, as it always has.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from helpers import economics
from helpers.economics import agents, duopoly, play
from helpers.economics.agents import Agent, TrainPlan
from helpers.errors import UserError
from helpers.llm import AskConfig, AskResult, Limits
from helpers.notebook.economics import EconParams
from helpers.notebook.progress import ProgressBar
from helpers.notebook.shutdowns import shutdown_callout


def open_games(cli_args: Mapping[str, Any]) -> tuple[EconParams, list[economics.Game]]:
    """The notebook's parameters and the games file (--games) they name."""
    params = EconParams.from_cli(dict(cli_args))
    return params, economics.load_games(params.games)


def fine_tune(games: list[economics.Game], kappas: list[float], plan: TrainPlan, *, train: bool,
              enabled: bool = True) -> tuple[list[Agent], str]:
    """The offline model fine-tuned toward each κ on synthetic data, and a note
    saying why fine-tuning is unavailable ("" when it is not).

    train=False only loads adapters trained before. enabled=False (--finetune
    false) trains nothing. A training that fails becomes the note, not an error:
    the base model is measured either way.
    """
    note = agents.lora_status() or ""
    trained: list[Agent] = []
    if note or not enabled:
        return trained, note
    for kappa in kappas:
        with ProgressBar(f"fine-tuning toward κ = {kappa:g}") as bar:
            try:
                agent = agents.fine_tune(games, kappa, plan, train=train, progress=bar.step)
            except UserError as exc:
                note = str(exc)
                continue
        if agent is not None:
            trained.append(agent)
    return trained, note


def training_status(trained: list[Agent], note: str, without: str) -> str:
    """One markdown line on the fine-tuned agents; `without`: what the notebook
    does when fine-tuning is unavailable."""
    if note:
        return f"**Fine-tuning unavailable:** {note}. {without}"
    if trained:
        return agents.training_line(trained)
    return "No fine-tuned agents yet: press **Fine-tune the offline model** (adapters are cached)."


def agent_list(trained: list[Agent], models: list[str]) -> list[Agent]:
    """The base model, the fine-tuned agents, then any other models to measure."""
    others = [m.strip() for m in models if m.strip()]
    return [agents.base_agent(), *trained, *(Agent(f"other: {m}", m, None) for m in others)]


def ask_config(agent_models: list[Agent], samples: int, params: EconParams) -> AskConfig:
    """How every agent is asked: answers per item and the sampling settings."""
    models = tuple(dict.fromkeys(a.model for a in agent_models))  # one model asked once, whatever its labels
    return AskConfig(models=models, samples=samples, temperature=params.temperature,
                     max_tokens=params.max_tokens, base_url=params.base_url,
                     reasoning_effort=params.reasoning_effort, reasoning_budget=params.reasoning_budget)


def shutdowns(config: AskConfig):
    """The warning about the agents' openai/ models that OpenAI shuts down (empty if none)."""
    return shutdown_callout(config.models, config.base_url)


def ask(config: AskConfig, items: list, params: EconParams, *, make_calls: bool, title: str
        ) -> tuple[pd.DataFrame, AskResult]:
    """play.play of the items (game settings or dilemmas) with a progress bar."""
    with ProgressBar(title) as bar:
        return play.play(config, items, make_calls=make_calls, limits=Limits(rpm=params.rpm),
                         progress=bar.answers)


def play_pricing(config: AskConfig, market: duopoly.Market, players: list[Agent], params: EconParams, *,
                 rounds: int, sessions: int, make_calls: bool) -> pd.DataFrame:
    """Each agent against a copy of itself in the repeated pricing game, one
    progress bar over every round; one row per session x round x firm."""
    tables = []
    with ProgressBar("Repeated pricing", total=len(players) * rounds) as bar:
        for agent in players:
            tables.append(duopoly.play(config, market, (agent.model, agent.model), rounds=rounds, sessions=sessions,
                                       pair=agent.label, make_calls=make_calls, limits=Limits(rpm=params.rpm),
                                       progress=bar.rounds_of(agent.label)))
    return pd.concat(tables, ignore_index=True)
