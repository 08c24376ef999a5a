"""Synthetic fine-tuning data: what homo moralis with a chosen κ would answer.

Each example is one game from games.toml (its prompt template and answer
words) with payoffs drawn at random from the ranges below, and the answer the
κ-agent gives: the optimal action's label, then (with explanations) the short
derivation from preferences.py. The file is OpenAI's chat fine-tuning JSONL,
the format the human-data fine-tuning writes, so the local LoRA path and
OpenAI's service train on it unchanged:

    {"messages": [{"role": "user", "content": "<prompt>"},
                  {"role": "assistant", "content": "Y. With a 50% chance ..."}]}

Rules: games take turns (so every game gets its share of examples) and the
examples are then shuffled; a draw equal to one of the file's evaluation
settings is drawn again, so measuring on games.toml tests choices the model was
not trained on; a draw where several actions are optimal (a tie) is drawn again
by default (`ties="skip"`), or answered with one of the optimal actions picked
at random (`ties="random"`). The same games, κ, size and seed give the same
file, byte for byte. These data are synthetic: they come from a model of
preferences, not from people; the sidecar `<file>.meta.json` says so.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from helpers import paths
from helpers.errors import ConfigError, UserError
from helpers.economics.games import Game, Setting
from helpers.economics.games import format_number as fmt
from helpers.economics.preferences import as_kappa, choose, decision

GENERATOR_VERSION = 1  # bump when a change here changes the examples generated
TIES = ("skip", "random")
MAX_DRAWS = 200  # redraws per example before giving up on a game


def _steps(low: float, high: float, step: float) -> list[Fraction]:
    lo, hi, st = Fraction(str(low)), Fraction(str(high)), Fraction(str(step))
    count = int((hi - lo) / st)
    return [lo + i * st for i in range(count + 1)]


def _pd(rng: random.Random) -> dict:
    sucker, punishment, reward, temptation = sorted(rng.sample(range(0, 11), 4))
    return {"temptation": temptation, "reward": reward, "punishment": punishment, "sucker": sucker,
            "p_cooperate": rng.choice(_steps(0, 1, 0.1))}


def _public_goods(rng: random.Random) -> dict:
    players = rng.randint(2, 6)
    # Multipliers between 1 and the group size: a social dilemma (MPCR below 1).
    return {"endowment": rng.choice([10, 20, 40]), "players": players,
            "multiplier": rng.choice(_steps(1.1, players - 0.1, 0.1))}


def _dictator(rng: random.Random) -> dict:
    return {"endowment": rng.choice([10, 20, 50, 100]),
            "multiplier": rng.choice([Fraction(x) for x in ("1", "1.5", "2", "2.5", "3", "4", "5")])}


def _ultimatum(rng: random.Random) -> dict:
    pie = rng.choice([10, 20, 50, 100])
    return {"pie": pie, "offer": pie * rng.choice(_steps(0.1, 0.5, 0.1))}


def _trust_investor(rng: random.Random) -> dict:
    return {"endowment": rng.choice([10, 20, 50]), "multiplier": rng.choice([2, 3, 4]),
            "expected_return": rng.choice(_steps(0, 0.6, 0.1))}


def _trust_trustee(rng: random.Random) -> dict:
    endowment = rng.choice([10, 20])
    return {"endowment": endowment, "sent": endowment * rng.choice(_steps(0.2, 1, 0.2)),
            "multiplier": rng.choice([2, 3, 4])}


# Where training payoffs come from, per kind of game (documented in the README).
DRAWS: dict[str, Callable[[random.Random], dict]] = {
    "prisoners_dilemma": _pd, "public_goods": _public_goods, "dictator": _dictator,
    "ultimatum_responder": _ultimatum, "trust_investor": _trust_investor,
    "trust_trustee": _trust_trustee,
}


@dataclass(frozen=True)
class Example:
    setting: Setting
    action: str  # the action id answered
    tie: bool  # several actions were optimal (only with ties="random")
    messages: list[dict[str, str]]


def _draw(game: Game, kappa: Fraction, rng: random.Random, explain: bool, ties: str,
          exclude: set) -> Example:
    for _ in range(MAX_DRAWS):
        try:
            setting = game.with_params(DRAWS[game.kind](rng))
        except ConfigError:  # e.g. a share of this amount is not a whole number of cents
            continue
        if tuple(setting.params.items()) in exclude:
            continue
        choice = choose(decision(setting), kappa)
        if choice.tie and ties == "skip":
            continue
        action = rng.choice(choice.best) if choice.tie else choice.best[0]
        label = next(a.label for a in setting.actions() if a.id == action)
        answer = f"{label}. {choice.derivation}" if explain else label
        messages = [{"role": "user", "content": setting.render()},
                    {"role": "assistant", "content": answer}]
        return Example(setting, action, choice.tie, messages)
    raise UserError(f"game '{game.id}': no usable payoff draw in {MAX_DRAWS} tries at κ = {fmt(kappa)} "
                    "(every draw was a tie or an evaluation setting); use --ties random")


def generate(games: list[Game], kappa: float | Fraction, size: int, seed: int = 0, *,
             explain: bool = True, ties: str = "skip") -> list[Example]:
    """`size` synthetic examples of homo moralis with this κ (κ = 0: homo economicus).

    games: the games to draw from (their prompts and answer words); seed: makes
    the set reproducible; explain: add the derivation after the label; ties:
    "skip" redraws tied cases, "random" answers one optimal action at random.
    """
    kappa = as_kappa(kappa)
    if size < 1:
        raise UserError(f"--size must be at least 1, got {size}")
    if ties not in TIES:
        raise UserError(f"--ties must be one of {', '.join(TIES)}, got {ties!r}")
    if not games:
        raise UserError("no games to draw from; check --game or the games file")
    unknown = [g.kind for g in games if g.kind not in DRAWS]
    if unknown:
        raise UserError(f"no payoff ranges for games of kind '{unknown[0]}'")
    rng = random.Random(seed)
    exclude = {(g.id, tuple(s.params.items())) for g in games for s in g.settings}
    examples = []
    for i in range(size):
        game = games[i % len(games)]
        own = {p for gid, p in exclude if gid == game.id}
        examples.append(_draw(game, kappa, rng, explain, ties, own))
    rng.shuffle(examples)
    return examples


def to_jsonl(examples: list[Example]) -> str:
    """The examples as chat fine-tuning JSONL text (one example per line)."""
    return "".join(json.dumps({"messages": e.messages}, ensure_ascii=False) + "\n" for e in examples)


def write(examples: list[Example], path: str | Path, *, kappa: float | Fraction, seed: int,
          explain: bool, ties: str = "skip", games_file: str = "") -> Path:
    """Write the JSONL and its sidecar `<path>.meta.json` (κ, seed, "synthetic")."""
    path = Path(path)
    if path.suffix != ".jsonl":
        raise UserError(f"--out {path}: use a .jsonl file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_jsonl(examples), encoding="utf-8")
    kappa = as_kappa(kappa)
    meta = {"data": "synthetic", "source": "homo moralis optimal choices (helpers.economics.preferences)",
            "kappa": fmt(kappa), "agent": agent_name(kappa), "examples": len(examples), "seed": seed,
            "explanations": explain, "ties": ties, "games_file": games_file,
            "games": sorted({e.setting.game.id for e in examples}),
            "ties_answered": sum(e.tie for e in examples), "generator_version": GENERATOR_VERSION}
    paths.meta_sidecar(path).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    return path


def agent_name(kappa: float | Fraction) -> str:
    """'homo economicus' for κ = 0, else 'homo moralis (κ = ...)'."""
    kappa = as_kappa(kappa)
    return "homo economicus" if kappa == 0 else f"homo moralis (κ = {fmt(kappa)})"


def default_path(kappa: float | Fraction, size: int, seed: int, explain: bool) -> Path:
    """Where the notebooks keep a generated set: cache/synthetic/."""
    kind = "explanations" if explain else "labels"
    name = f"synthetic_kappa{fmt(as_kappa(kappa))}_{kind}_n{size}_seed{seed}.jsonl"
    return paths.synthetic_dir() / name
