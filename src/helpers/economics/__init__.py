"""The sibling economics study: do model agents choose like homo economicus (own
payoff only) or homo moralis (who also asks "what if everyone did as I do", with
weight κ)? Nothing here knows about the exception scenarios.

Modules, from the inputs to the figures:
    kinds, games    games.toml: the kinds of game, loading and validation, prompts
    preferences     the exact best action of a κ-agent in each payoff setting
    dilemmas        autonomous-vehicle dilemmas scored the same way
    choices         reading a chosen action from a model's answer
    synthetic       fine-tuning data of what a κ-agent would answer
    agents          the base model and the models fine-tuned on synthetic data
    play, duopoly   asking models the games and dilemmas; a repeated pricing game
    measures        cooperation rates, incentive sensitivity, the implied κ
    plots           the notebooks' figures

The names below are the light core (reading games.toml loads no plotting or
statistics library); play, measures, duopoly, agents, synthetic and plots are
imported as modules, e.g. `from helpers.economics import measures`.
"""

from helpers.economics.choices import INVALID, parse_amount, parse_label
from helpers.economics.dilemmas import DEFAULT_FAMILY, Dilemma, family
from helpers.economics.games import Action, Game, Setting, all_settings, default_games, load_games, parse_games, select
from helpers.economics.kinds import KINDS, Kind, format_number
from helpers.economics.preferences import (Choice, Decision, as_kappa, best_actions, choose, decision,
                                           optimal_cooperation, switch_points)

__all__ = ["DEFAULT_FAMILY", "INVALID", "KINDS", "Action", "Choice", "Decision", "Dilemma", "Game", "Kind",
           "Setting", "all_settings", "as_kappa", "best_actions", "choose", "decision", "default_games", "family",
           "format_number", "load_games", "optimal_cooperation", "parse_amount", "parse_games", "parse_label",
           "select", "switch_points"]
