"""ILLUSTRATIVE human game choices: generated, not made by anyone.

No human choices in these games exist here yet (the survey's games module collects
them; the sibling study's summary in shared/seeds reports no human figures). So that
notebook 07's human arm can be built, shown and tested before a study has run, this
module makes a stand-in, clearly marked like helpers.humans.illustrative's: study =
"illustrative" in every row, participant ids "illustrative-001" ..., timestamps on
1 January 2000. helpers.humans.provenance finds those marks wherever the table is
saved, so everything computed from it is labelled illustrative. Replace it with real
choices (data/human_games.csv, or --human-games FILE) for any claim about people.

The behavioural model: a population of heterogeneous homo moralis. Each made-up
person has their own κ and their own noise, and chooses in every setting of
games.toml by the logit choice model the study estimates κ with
(helpers.economics.measures.simulate: P(a) ∝ exp(u_κ(a) / (τ · stake))). The
person's κ comes from a mixture of three types (TYPES):

    30%  self-interested     κ = 0
    50%  moderately moral    κ uniform on [0.2, 0.6]
    20%  strongly moral      κ uniform on [0.7, 1.0]

and their noise τ is log-normal around TEMPERATURE (median 0.15 stakes, log-sd
0.5). Every number here is OUR CHOICE, not a measurement and not a paper's figure:
the mix of a selfish minority, a moderately cooperative majority and a few strong
cooperators is the qualitative pattern of the experimental literature on one-shot
games, and τ = 0.15 makes a choice follow payoffs clearly but not always (a
choice worse by 0.3 stakes is still made about one time in eight). Two things the model
cannot do, so the illustrative set cannot show them: reject a positive ultimatum
offer on purpose (accepting is better for every κ) and reciprocate (beliefs are the
prompts' stated ones).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pandas as pd

from helpers.economics import measures
from helpers.economics.games import Game, all_settings
from helpers.economics.humans import COLUMNS
from helpers.economics.preferences import decision
from helpers.humans.illustrative import START
from helpers.humans.provenance import ID_PREFIX, STUDY

LABEL = "human (illustrative data)"  # how tables, figures and the card name this set
PARTICIPANTS = 200
SEED = 2025


@dataclass(frozen=True)
class Type:
    name: str
    share: float
    kappa_low: float
    kappa_high: float


TYPES = (Type("self-interested", 0.3, 0.0, 0.0), Type("moderately moral", 0.5, 0.2, 0.6),
         Type("strongly moral", 0.2, 0.7, 1.0))
TEMPERATURE = 0.15  # median τ, in stakes
TEMPERATURE_SPREAD = 0.5  # sd of log τ


def illustrative_people(participants: int = PARTICIPANTS, seed: int = SEED, *, types: tuple[Type, ...] = TYPES,
                        temperature: float = TEMPERATURE, spread: float = TEMPERATURE_SPREAD) -> pd.DataFrame:
    """The made-up people: participant_id, type, kappa, temperature (deterministic per seed).

    spread = 0 gives every person the same τ; a single type with kappa_low ==
    kappa_high gives everyone the same κ (what a check of the estimator needs).
    """
    if participants < 1:
        raise ValueError(f"participants must be at least 1, got {participants}")
    shares = np.array([t.share for t in types], dtype=float)
    if len(types) == 0 or np.any(shares < 0) or not np.isclose(shares.sum(), 1):
        raise ValueError("the types' shares must be non-negative and add up to 1")
    rng = np.random.default_rng([seed, 1])
    rows = []
    for index in range(1, participants + 1):
        kind = types[int(rng.choice(len(types), p=shares))]
        kappa = float(rng.uniform(kind.kappa_low, kind.kappa_high))
        tau = float(temperature * np.exp(spread * rng.standard_normal()))
        rows.append({"participant_id": f"{ID_PREFIX}{index:03d}", "type": kind.name,
                     "kappa": round(kappa, 2), "temperature": tau})
    return pd.DataFrame(rows)


def illustrative_human_games(games: list[Game], participants: int = PARTICIPANTS, seed: int = SEED,
                             **people) -> pd.DataFrame:
    """Generated choices in the human game-choices format (study "illustrative"):
    every person chooses once in every setting, in a random order of the settings.
    `people`: illustrative_people's keyword arguments (types, temperature, spread)."""
    settings = all_settings(games)
    decisions = {f"{s.game.id}#{s.index}": decision(s) for s in settings}
    crowd = illustrative_people(participants, seed, **people)
    rng = np.random.default_rng([seed, 2])
    rows = []
    for number, person in enumerate(crowd.itertuples(index=False)):
        # One draw per setting from this person's logit model: the estimator's own simulator.
        drawn = measures.simulate(decisions, person.kappa, person.temperature, per_item=1, seed=[seed, 3, number])
        chosen = dict(zip(drawn["item"], drawn["action"]))
        clock = START + timedelta(seconds=int(rng.integers(0, 3 * 3600)))
        for position, pick in enumerate(rng.permutation(len(settings)), start=1):
            setting = settings[pick]
            clock += timedelta(seconds=int(rng.integers(6, 40)))
            rows.append({"participant_id": person.participant_id, "game": setting.game.id,
                         "setting": setting.index, "choice": chosen[f"{setting.game.id}#{setting.index}"],
                         "timestamp": clock.isoformat(), "study": STUDY, "position": position})
    return pd.DataFrame(rows, columns=COLUMNS + ["position"])
