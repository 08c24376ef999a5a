"""The kinds of game games.toml can declare: their parameters, the checks on
them, and how their actions are made.

A kind fixes what a game is; the file only words it and sets its numbers. The
payoffs of each kind are in preferences.py. To add a kind: declare it here,
give it payoffs in preferences._KINDS and payoff ranges in synthetic.DRAWS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction


def format_number(value: Fraction | float | int) -> str:
    """A number as people write it: 5, 0.25, 1.2; non-terminating ones to 3 places."""
    value = Fraction(value)
    if value.denominator == 1:
        return str(value.numerator)
    for places in range(1, 7):
        scaled = value * 10**places
        if scaled.denominator == 1:
            return f"{float(value):.{places}f}"
    return f"{float(value):.3f}"


@dataclass(frozen=True)
class Kind:
    """What a kind of game needs: its parameters and how its actions are made."""

    name: str
    params: tuple[str, ...]
    probabilities: tuple[str, ...] = ()  # parameters that must lie in [0, 1]
    integers: tuple[str, ...] = ()  # parameters that must be whole numbers
    actions: tuple[str, ...] = ()  # labelled kinds: ids, most cooperative first
    cooperation: tuple[int, ...] = ()  # labelled kinds: 1 = the cooperative action
    amount_of: str = ""  # amount kinds: the value the shares are fractions of
    derived: Callable[[dict[str, Fraction]], dict[str, Fraction]] = lambda p: {}
    check: Callable[[dict[str, Fraction]], str | None] = lambda p: None

    @property
    def labelled(self) -> bool:
        return bool(self.actions)


def _pd_check(p):
    t, r, pu, s = p["temptation"], p["reward"], p["punishment"], p["sucker"]
    if not t > r > pu > s:
        return (f"payoffs must satisfy temptation > reward > punishment > sucker, got "
                f"{format_number(t)}, {format_number(r)}, {format_number(pu)}, {format_number(s)}")
    return None


def _positive(*names):
    def check(p):
        for name in names:
            if p[name] <= 0:
                return f"`{name}` must be positive, got {format_number(p[name])}"
        return None
    return check


def _chain(*checks):
    def check(p):
        return next((m for m in (c(p) for c in checks) if m), None)
    return check


KINDS: dict[str, Kind] = {k.name: k for k in [
    Kind("prisoners_dilemma", ("temptation", "reward", "punishment", "sucker", "p_cooperate"),
         probabilities=("p_cooperate",), actions=("cooperate", "defect"), cooperation=(1, 0),
         check=_pd_check),
    Kind("public_goods", ("endowment", "players", "multiplier"), integers=("players",),
         amount_of="endowment", derived=lambda p: {"others": p["players"] - 1},
         check=_chain(_positive("endowment", "multiplier"),
                      lambda p: None if p["players"] >= 2 else "`players` must be at least 2")),
    Kind("dictator", ("endowment", "multiplier"), amount_of="endowment",
         check=_positive("endowment", "multiplier")),
    Kind("ultimatum_responder", ("pie", "offer"), actions=("accept", "reject"), cooperation=(1, 0),
         derived=lambda p: {"proposer_keeps": p["pie"] - p["offer"]},
         check=_chain(_positive("pie"), lambda p: None if 0 <= p["offer"] <= p["pie"]
                      else f"`offer` must lie between 0 and pie ({format_number(p['pie'])})")),
    Kind("trust_investor", ("endowment", "multiplier", "expected_return"),
         probabilities=("expected_return",), amount_of="endowment",
         check=_positive("endowment", "multiplier")),
    Kind("trust_trustee", ("endowment", "sent", "multiplier"), amount_of="received",
         derived=lambda p: {"received": p["sent"] * p["multiplier"],
                            "investor_kept": p["endowment"] - p["sent"]},
         check=_chain(_positive("endowment", "sent", "multiplier"),
                      lambda p: None if p["sent"] <= p["endowment"]
                      else f"`sent` must be at most endowment ({format_number(p['endowment'])})")),
]}
