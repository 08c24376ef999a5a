"""Load and validate the one-shot games (games.toml) and render their prompts.

A game has a `kind` that fixes its parameters, its actions and (in
preferences.py) its payoffs; the file gives the prompt template, the words the
model answers with, and one or more payoff settings. Two styles of action:

- labelled kinds (prisoner's dilemma, ultimatum responder) have fixed action
  ids (`cooperate`/`defect`, `accept`/`reject`); `labels` maps each id to the
  one word the model must answer with;
- amount kinds (public goods, dictator, trust) choose an amount: `shares` lists
  fractions of the amount at stake (the endowment, or what the trustee received),
  so the same game can vary its endowment and keep a sensible menu.

Numbers are kept as exact fractions (a TOML 1.2 is 6/5), so the preference
module can find ties exactly. Validation is strict and every error is one line
naming the file, the game, the setting and the field.
"""

from __future__ import annotations

import math
import re
import string
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from helpers.economics import choices
from helpers import paths
from helpers.config import check_entry, read_text, table_entries, type_name
from helpers.errors import ConfigError
from helpers.economics.kinds import KINDS, Kind, format_number

LABEL_PATTERN = re.compile(r"^[A-Za-z]+$")
REQUIRED = {"id": str, "kind": str, "title": str, "prompt": str, "settings": list}
OPTIONAL = {"labels": dict, "shares": list, "provenance": str}


@dataclass(frozen=True)
class Action:
    id: str  # "cooperate", "accept", or the amount as written ("5")
    label: str  # the word or number the model answers with
    cooperation: Fraction  # 0 (least cooperative) .. 1 (most)
    amount: Fraction | None = None


@dataclass(frozen=True)
class Setting:
    """One payoff setting of a game: the unit a model is asked about."""

    game: Game
    index: int  # 1-based, in file order
    params: dict[str, Fraction] = field(hash=False)

    @property
    def kind(self) -> Kind:
        return KINDS[self.game.kind]

    def values(self) -> dict[str, Fraction]:
        """Parameters plus the kind's derived values."""
        return {**self.params, **self.kind.derived(self.params)}

    def actions(self) -> list[Action]:
        """The allowed actions, most cooperative first."""
        kind = self.kind
        if kind.labelled:
            return [Action(a, self.game.labels[a], Fraction(c)) for a, c in zip(kind.actions, kind.cooperation)]
        base = self.values()[kind.amount_of]
        amounts = sorted({share * base for share in self.game.shares}, reverse=True)
        return [Action(format_number(a), format_number(a), a / base, a) for a in amounts]

    def stake(self) -> Fraction:
        """The scale of the payoffs (largest minus smallest in a matrix game, the
        amount at stake otherwise); utilities are divided by it in choice models."""
        v = self.values()
        if self.game.kind == "prisoners_dilemma":
            return v["temptation"] - v["sucker"]
        if self.game.kind == "ultimatum_responder":
            return v["pie"]
        return v[self.kind.amount_of]

    def listed_actions(self) -> list[Action]:
        """The actions in the order the prompt lists them ({choices}): a labelled
        game's most cooperative first, amounts from small to large (they read best
        that way). A person choosing on the survey page sees them in this order too."""
        actions = self.actions()
        return actions if self.kind.labelled else actions[::-1]

    def choices_text(self) -> str:
        labels = [a.label for a in self.listed_actions()]
        if self.kind.labelled:
            return " or ".join(labels)
        return ", ".join(labels[:-1]) + " or " + labels[-1]

    def render(self) -> str:
        """The prompt for this setting."""
        values = {name: format_number(v) for name, v in self.values().items()}
        for name in self.kind.probabilities:
            values[f"{name}_percent"] = format_number(self.params[name] * 100)
        if self.kind.labelled:
            values.update(self.game.labels)
        values["choices"] = self.choices_text()
        return self.game.prompt.format(**values)

    def parse(self, text: str) -> str:
        """The chosen action id, or "invalid" (rules in helpers.economics.choices)."""
        if self.kind.labelled:
            return choices.parse_label(text, self.game.labels)
        return choices.parse_amount(text, {a.id: a.amount for a in self.actions()})

    def describe(self) -> str:
        """A short label such as "temptation=5, reward=3, ..." for tables."""
        return ", ".join(f"{k}={format_number(v)}" for k, v in self.params.items())


@dataclass(frozen=True)
class Game:
    id: str
    kind: str
    title: str
    prompt: str
    raw_settings: tuple[tuple[tuple[str, Fraction], ...], ...]
    labels: dict[str, str] = field(default_factory=dict, hash=False)
    shares: tuple[Fraction, ...] = ()
    provenance: str = ""

    @property
    def settings(self) -> list[Setting]:
        return [Setting(self, i, dict(raw)) for i, raw in enumerate(self.raw_settings, start=1)]

    def with_params(self, params: dict[str, Fraction | int | float]) -> Setting:
        """A setting of this game with other parameters (validated like the file's)."""
        where = f"game '{self.id}': parameters"
        return Setting(self, 0, _params(where, KINDS[self.kind], params, self))


def _number(where: str, name: str, value: object) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (int, float, Fraction)):
        raise ConfigError(f"{where}: `{name}` must be a number, got {type_name(value)}")
    if isinstance(value, float) and not math.isfinite(value):  # TOML allows nan and inf; no payoff is either
        raise ConfigError(f"{where}: `{name}` must be a finite number, got {value}")
    # repr() keeps a TOML decimal exact: 1.2 becomes 6/5, not the nearest binary float.
    return Fraction(repr(float(value))) if isinstance(value, float) else Fraction(value)


def _params(where: str, kind: Kind, raw: dict, game: Game | None = None) -> dict[str, Fraction]:
    unknown = sorted(set(raw) - set(kind.params))
    if unknown:
        raise ConfigError(f"{where}: unknown parameter `{unknown[0]}`; a {kind.name} game has "
                          f"{', '.join(kind.params)}")
    missing = [p for p in kind.params if p not in raw]
    if missing:
        raise ConfigError(f"{where}: missing parameter `{missing[0]}`")
    params = {name: _number(where, name, raw[name]) for name in kind.params}
    for name in kind.probabilities:
        if not 0 <= params[name] <= 1:
            raise ConfigError(f"{where}: `{name}` must lie between 0 and 1, got {format_number(params[name])}")
    for name in kind.integers:
        if params[name].denominator != 1:
            raise ConfigError(f"{where}: `{name}` must be a whole number, got {format_number(params[name])}")
    if message := kind.check(params):
        raise ConfigError(f"{where}: {message}")
    if game is not None and not kind.labelled:
        base = {**params, **kind.derived(params)}[kind.amount_of]
        for share in game.shares:
            if (share * base * 100).denominator != 1:
                raise ConfigError(f"{where}: share {format_number(share)} of {kind.amount_of} "
                                  f"{format_number(base)} is not a whole number of cents; "
                                  "choose shares or amounts that divide evenly")
    return params


def _check_prompt(where: str, prompt: str, kind: Kind, labels: dict[str, str]) -> None:
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(prompt) if f is not None}
    except ValueError as exc:
        raise ConfigError(f"{where}: `prompt` has unbalanced braces ({exc})") from None
    sample = {p: Fraction(1) for p in kind.params}
    allowed = ({"choices", *kind.params, *kind.derived(sample), *kind.actions}
               | {f"{p}_percent" for p in kind.probabilities})
    unknown = sorted(fields - allowed)
    if unknown:
        raise ConfigError(f"{where}: `prompt` has unknown placeholder {{{unknown[0]}}}; "
                          f"allowed: {', '.join('{' + a + '}' for a in sorted(allowed))}")
    if "choices" not in fields:
        raise ConfigError(f"{where}: `prompt` must contain {{choices}} (the allowed answers)")
    for name in kind.params:
        if name not in fields and f"{name}_percent" not in fields:
            raise ConfigError(f"{where}: `prompt` must show the parameter {{{name}}}; "
                              "the model must see everything its payoff depends on")


def _labels(where: str, kind: Kind, raw: dict | None) -> dict[str, str]:
    if not kind.labelled:
        if raw is not None:
            raise ConfigError(f"{where}: `labels` is for two-action games; a {kind.name} game uses `shares`")
        return {}
    if raw is None:
        raise ConfigError(f"{where}: missing required key `labels` (one word for each of "
                          f"{', '.join(kind.actions)})")
    if set(raw) != set(kind.actions):
        extra = sorted(set(raw) - set(kind.actions)) or sorted(set(kind.actions) - set(raw))
        raise ConfigError(f"{where}: `labels` must name exactly {', '.join(kind.actions)}; "
                          f"check `{extra[0]}`")
    for action, label in raw.items():
        if not isinstance(label, str) or not LABEL_PATTERN.match(label):
            raise ConfigError(f"{where}: `labels.{action}` must be one word of letters, got {label!r}")
    if len({v.lower() for v in raw.values()}) != len(raw):
        raise ConfigError(f"{where}: `labels` must differ (ignoring case), got {sorted(raw.values())}")
    return {a: raw[a] for a in kind.actions}


def _shares(where: str, kind: Kind, raw: list | None) -> tuple[Fraction, ...]:
    if kind.labelled:
        if raw is not None:
            raise ConfigError(f"{where}: `shares` is for amount games; a {kind.name} game uses `labels`")
        return ()
    if raw is None:
        raise ConfigError(f"{where}: missing required key `shares` (fractions of {kind.amount_of}, e.g. [0, 0.5, 1])")
    values = []
    for i, v in enumerate(raw, start=1):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ConfigError(f"{where}: `shares` entry {i} must be a number, got {type_name(v)}")
        if isinstance(v, float) and not math.isfinite(v):
            raise ConfigError(f"{where}: `shares` entry {i} must be a finite number, got {v}")
        share = _number(where, "shares", v)
        if not 0 <= share <= 1:
            raise ConfigError(f"{where}: `shares` entry {i} must lie between 0 and 1, got {format_number(share)}")
        values.append(share)
    if len(values) < 2:
        raise ConfigError(f"{where}: `shares` must have at least 2 entries, got {len(values)}")
    if len(set(values)) != len(values):
        raise ConfigError(f"{where}: `shares` lists a value twice; each must differ")
    if 0 not in values or 1 not in values:
        raise ConfigError(f"{where}: `shares` must include 0 and 1 (nothing and everything)")
    return tuple(sorted(values))


def _parse_one(source: str, index: int, raw: object) -> Game:
    where = check_entry(source, index, raw, table="games", noun="game", id_key="id",
                        required=REQUIRED, optional=OPTIONAL)
    if raw["kind"] not in KINDS:
        raise ConfigError(f"{where}: unknown kind {raw['kind']!r}; known kinds are {', '.join(KINDS)}")
    kind = KINDS[raw["kind"]]
    for key in ("title", "prompt"):
        if not raw[key].strip():
            raise ConfigError(f"{where}: `{key}` must not be empty")
    labels = _labels(where, kind, raw.get("labels"))
    shares = _shares(where, kind, raw.get("shares"))
    prompt = " ".join(raw["prompt"].split())
    _check_prompt(where, prompt, kind, labels)
    if not raw["settings"]:
        raise ConfigError(f"{where}: `settings` is empty; add at least one [[games.settings]] table")
    game = Game(raw["id"], kind.name, raw["title"].strip(), prompt, (), labels, shares,
                raw.get("provenance", ""))
    settings = []
    for i, setting in enumerate(raw["settings"], start=1):
        if not isinstance(setting, dict):
            raise ConfigError(f"{where}: setting #{i} must be a table, got {type_name(setting)}")
        params = _params(f"{where}: setting #{i}", kind, setting, game)
        settings.append(tuple(params.items()))
    for later, params in enumerate(settings):
        if params in settings[:later]:
            raise ConfigError(f"{where}: setting #{later + 1} repeats setting "
                              f"#{settings.index(params) + 1}; each setting must differ")
    return Game(game.id, game.kind, game.title, game.prompt, tuple(settings), labels, shares,
                game.provenance)


def parse_games(text: str, source: str = "games.toml") -> list[Game]:
    """Parse and validate games TOML text; `source` names it in errors."""
    raw_list = table_entries(text, source, "games")
    games: list[Game] = []
    for index, raw in enumerate(raw_list, start=1):
        game = _parse_one(source, index, raw)
        if any(g.id == game.id for g in games):
            raise ConfigError(f"{source}: game '{game.id}': `id` is used twice; ids must be unique")
        games.append(game)
    return games


def default_games() -> Path:
    """The workspace's games.toml (paths.games_file())."""
    return paths.games_file()


def load_games(path: str | Path | None = None) -> list[Game]:
    """Load games from a TOML file (default: the workspace's games.toml)."""
    path = Path(path) if path is not None else default_games()
    return parse_games(read_text(path, "--games"), source=str(path))


def select(games: list[Game], ids: list[str] | None) -> list[Game]:
    """Keep the games whose id is in `ids` (all when None), in file order."""
    if not ids:
        return games
    known = {g.id for g in games}
    missing = [i for i in ids if i not in known]
    if missing:
        raise ConfigError(f"unknown game id '{missing[0]}'; known ids are {', '.join(sorted(known))}")
    return [g for g in games if g.id in ids]


def all_settings(games: list[Game]) -> list[Setting]:
    """Every setting of every game, in file order."""
    return [s for g in games for s in g.settings]
