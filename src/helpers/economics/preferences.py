"""Homo economicus and homo moralis: the exact best action in each game.

Homo moralis (Alger & Weibull) values an action x against the others' play y as

    u(x) = (1 - κ) · π(x, y) + κ · π(x, x),

its own material payoff plus, with weight κ in [0, 1], the payoff it would get
if everyone acted as it does ("what if everyone did as I do"). κ = 0 is homo
economicus, who maximises its own payoff only.

How π(x, y) and π(x, x) are read in each kind of game:

- Symmetric games (prisoner's dilemma, public goods): π(x, y) is my expected
  payoff given the belief the prompt states (the chance the other player picks
  the cooperative action; in the linear public goods game the others'
  contributions add the same to every choice of mine, so no belief is needed).
  π(x, x) is my payoff if the others chose exactly as I do.
- Two-role games (dictator, ultimatum responder, trust investor and trustee):
  we use the usual symmetrisation, where a strategy says what to do in each role
  and roles are assigned by chance. Payoffs are counted over a pair of games, one
  in each role (twice the expected payoff under a fair draw of roles, which
  changes no choice). π(x, x) is then what I get over both roles when the other
  role is also played my way; in the responder and trustee decisions, the other
  role's move is the one stated in the prompt (this offer, this transfer).
  Terms my choice cannot change (the other's move in the other role) are left
  out: they shift every action's utility equally.

All arithmetic is on exact fractions, so ties are found exactly: `best` returns
every action that attains the maximum, and `tie` says when there is more than
one. `derivation` is a short first-person text that explains the choice; it is
the explanation in the synthetic training examples.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from helpers.errors import UserError
from helpers.economics.games import Action, Setting, format_number as fmt

ECONOMICUS = Fraction(0)


@dataclass(frozen=True)
class Decision:
    """A choice among actions, with the two payoff views of each action.

    selfish: π(x, y) per action id; kantian: π(x, x) per action id; stake: the
    payoff scale (utilities are divided by it in choice models); reasons: a
    sentence on how each view was computed, for the derivation text; verb: what a
    unit of an amount does ("put in", "pass"), empty for labelled choices.
    """

    actions: tuple[Action, ...]
    selfish: dict[str, Fraction]
    kantian: dict[str, Fraction]
    stake: Fraction
    reasons: str
    verb: str = ""

    def utility(self, kappa: Fraction) -> dict[str, Fraction]:
        return {a.id: (1 - kappa) * self.selfish[a.id] + kappa * self.kantian[a.id] for a in self.actions}


@dataclass(frozen=True)
class Choice:
    kappa: Fraction
    best: tuple[str, ...]  # every utility-maximising action id, in the decision's order
    utilities: dict[str, Fraction]
    derivation: str

    @property
    def tie(self) -> bool:
        return len(self.best) > 1


def as_kappa(value: float | int | str | Fraction) -> Fraction:
    """κ as an exact fraction (0.3 -> 3/10), checked to lie in [0, 1]."""
    try:
        # repr(float(x)) is the shortest decimal that round-trips: 0.3 -> 3/10
        # (numpy floats included), not the binary float's exact value.
        kappa = Fraction(repr(float(value))) if isinstance(value, float) else Fraction(value)
    except (ValueError, ZeroDivisionError):
        raise UserError(f"κ must be a number between 0 and 1, got {value!r}") from None
    if not 0 <= kappa <= 1:
        raise UserError(f"κ must lie between 0 and 1, got {fmt(kappa)}")
    return kappa


def decision(setting: Setting) -> Decision:
    """The payoff views of every action in a game setting."""
    v = setting.values()
    actions = tuple(setting.actions())
    build = _KINDS[setting.game.kind]
    selfish, kantian, reasons, verb = build(v, actions)
    return Decision(actions, selfish, kantian, setting.stake(), reasons, verb)


def _signed(value: Fraction) -> str:
    return f"+{fmt(value)}" if value > 0 else fmt(value)


def _pd(v, actions):
    q, t, r, p, s = v["p_cooperate"], v["temptation"], v["reward"], v["punishment"], v["sucker"]
    c, d = actions
    selfish = {"cooperate": q * r + (1 - q) * s, "defect": q * t + (1 - q) * p}
    kantian = {"cooperate": r, "defect": p}
    reasons = (f"I expect {c.label} to give me {fmt(q)} × {fmt(r)} + {fmt(1 - q)} × {fmt(s)} = "
               f"{fmt(selfish['cooperate'])} and {d.label} {fmt(q)} × {fmt(t)} + {fmt(1 - q)} × {fmt(p)} = "
               f"{fmt(selfish['defect'])}. If the other picked as I do, {c.label} would give {fmt(r)} "
               f"and {d.label} {fmt(p)}.")
    return selfish, kantian, reasons, ""


def _linear(actions, own_slope, kantian_slope, base=Fraction(0)):
    selfish = {a.id: base + own_slope * a.amount for a in actions}
    kantian = {a.id: base + kantian_slope * a.amount for a in actions}
    return selfish, kantian


def _public_goods(v, actions):
    e, n, m = v["endowment"], v["players"], v["multiplier"]
    own, kant = m / n - 1, m - 1
    reasons = (f"Each point I put in costs me 1 and returns {fmt(m)}/{fmt(n)} = {fmt(m / n)} to me: "
               f"{_signed(own)}. If everyone put in as I do, it would return {fmt(m)}: {_signed(kant)}.")
    return (*_linear(actions, own, kant, e), reasons, "put in")


def _dictator(v, actions):
    e, m = v["endowment"], v["multiplier"]
    reasons = (f"Each point I pass costs me 1: -1. If everyone passed as I do, I would also receive in "
               f"my other role, so a point passed costs 1 and brings {fmt(m)}: {_signed(m - 1)}.")
    return (*_linear(actions, Fraction(-1), m - 1, e), reasons, "pass")


def _ultimatum(v, actions):
    pie, offer = v["pie"], v["offer"]
    acc, rej = actions
    selfish = {"accept": offer, "reject": Fraction(0)}
    kantian = {"accept": pie, "reject": Fraction(0)}
    reasons = (f"{acc.label.capitalize()} gives me {fmt(offer)}, {rej.label} 0. If every responder "
               f"facing this offer did as I do, {acc.label} would give me {fmt(offer)} + "
               f"{fmt(pie - offer)} = {fmt(pie)} across my two roles, {rej.label} 0.")
    return selfish, kantian, reasons, ""


def _trust_investor(v, actions):
    e, m, b = v["endowment"], v["multiplier"], v["expected_return"]
    own, kant = b * m - 1, m - 1
    reasons = (f"Each point I send costs me 1 and I expect {fmt(b * 100)}% of {fmt(m)} = {fmt(b * m)} "
               f"back: {_signed(own)}. If everyone acted as I do, each point sent would become "
               f"{fmt(m)} across my two roles: {_signed(kant)}.")
    return (*_linear(actions, own, kant, e), reasons, "send")


def _trust_trustee(v, actions):
    received, e, sent = v["received"], v["endowment"], v["sent"]
    selfish = {a.id: received - a.amount for a in actions}
    kantian = {a.id: e - sent + received for a in actions}
    reasons = ("Each point I send back costs me 1: -1. If everyone acted as I do, I would get it "
               "back in my other role: 0.")
    return selfish, kantian, reasons, "send back"


_KINDS = {"prisoners_dilemma": _pd, "public_goods": _public_goods, "dictator": _dictator,
          "ultimatum_responder": _ultimatum, "trust_investor": _trust_investor,
          "trust_trustee": _trust_trustee}


def choose(dec: Decision, kappa: float | Fraction) -> Choice:
    """The utility-maximising action(s) of homo moralis with this κ, exactly."""
    kappa = as_kappa(kappa)
    utilities = dec.utility(kappa)
    top = max(utilities.values())
    best = tuple(a.id for a in dec.actions if utilities[a.id] == top)
    return Choice(kappa, best, utilities, derivation(dec, kappa, best))


def best_actions(setting: Setting, kappa: float | Fraction) -> tuple[str, ...]:
    """Shortcut: the optimal action ids in a game setting."""
    return choose(decision(setting), kappa).best


def _term(value: Fraction) -> str:
    """A factor in a product: negative numbers in brackets, "0.5 × (-1)"."""
    return f"({fmt(value)})" if value < 0 else fmt(value)


def _weights(kappa: Fraction) -> str:
    if kappa == 0:
        return "With κ = 0 only my own payoff counts."
    if kappa == 1:
        return "With κ = 1 only the everyone-as-me payoff counts."
    return f"With κ = {fmt(kappa)} I weigh my own payoff by {fmt(1 - kappa)} and the everyone-as-me payoff by {fmt(kappa)}."


def derivation(dec: Decision, kappa: Fraction, best: tuple[str, ...]) -> str:
    """A short first-person explanation of the optimal choice."""
    labels = {a.id: a.label for a in dec.actions}
    head = f"{dec.reasons} {_weights(kappa)}"
    if dec.verb:  # amounts: every kind here is linear, so the per-point value decides
        amounts = [a for a in dec.actions if a.amount is not None]
        low, high = min(amounts, key=lambda a: a.amount), max(amounts, key=lambda a: a.amount)
        span = high.amount - low.amount
        own = (dec.selfish[high.id] - dec.selfish[low.id]) / span
        kant = (dec.kantian[high.id] - dec.kantian[low.id]) / span
        net = (1 - kappa) * own + kappa * kant
        weighted = f"{fmt(1 - kappa)} × {_term(own)} + {fmt(kappa)} × {_term(kant)} = {fmt(net)} per point"
        if net > 0:
            end = f"so I {dec.verb} as much as I can: {high.label}."
        elif net < 0:
            end = f"so I {dec.verb} nothing: {low.label}."
        else:
            end = "so every amount is equally good to me."
        return f"{head} Weighted: {weighted}, {end}"
    u = dec.utility(kappa)
    parts = "; ".join(f"{labels[a.id]}: {fmt(1 - kappa)} × {_term(dec.selfish[a.id])} + {fmt(kappa)} × "
                      f"{_term(dec.kantian[a.id])} = {fmt(u[a.id])}" for a in dec.actions)
    if len(best) > 1:
        end = f"The choices are equally good to me ({' and '.join(labels[b] for b in best)})."
    else:
        end = f"So I pick {labels[best[0]]}."
    return f"{head} {parts}. {end}"


def switch_points(dec: Decision) -> list[Fraction]:
    """The κ values in (0, 1) where the set of optimal actions changes, sorted.

    Each action's utility is linear in κ, so the optimum can only change where
    two utilities cross; a crossing counts if the optimal set differs on its two
    sides or the crossing itself is a tie of optimal actions.
    """
    candidates = set()
    ids = [a.id for a in dec.actions]
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            ds = dec.selfish[a] - dec.selfish[b]
            dk = dec.kantian[a] - dec.kantian[b]
            if ds != dk:
                k = ds / (ds - dk)
                if 0 < k < 1:
                    candidates.add(k)
    points = []
    for k in sorted(candidates):
        if len(choose(dec, k).best) > 1:
            points.append(k)
    return points


def optimal_cooperation(dec: Decision, kappa: float | Fraction) -> Fraction:
    """Cooperation level (0..1) of the optimal choice; the mean over ties."""
    choice = choose(dec, kappa)
    level = {a.id: a.cooperation for a in dec.actions}
    return sum((level[b] for b in choice.best), Fraction(0)) / len(choice.best)
