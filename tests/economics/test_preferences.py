"""Homo moralis' optimal actions, checked by hand at several κ, ties included.

Hand derivations (u = (1-κ)·own + κ·everyone-as-me; per-point values for amounts):
- PD T=5 R=3 P=1 S=0, q=0.5: own X 1.5, Y 3; as-me X 3, Y 1.
  u(X) - u(Y) = (1-κ)(-1.5) + 2κ = 3.5κ - 1.5  ->  switch at κ = 3/7.
- Public goods n=4: per point own m/4 - 1, as-me m - 1.
  m=1.2: -0.7(1-κ) + 0.2κ = 0.9κ - 0.7 -> 7/9;  m=1.6: 1.2κ - 0.6 -> 1/2.
- Dictator: per point own -1, as-me m - 1: (1-κ)(-1) + κ(m-1) = κm - 1 -> 1/m.
- Trust investor m=3, return b: own 3b - 1, as-me 2: b=0 -> 1/3, b=0.2 -> 1/6, b=0.5 always send.
- Trustee: own -1, as-me 0 per point: return nothing unless κ = 1 (then all tie).
- Ultimatum responder, offer o of 10: accept o vs 0 and 10 vs 0: accept whenever o > 0.
"""

from fractions import Fraction as F
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.errors import UserError
from helpers.economics.games import load_games, parse_games
from helpers.economics.preferences import as_kappa, best_actions, choose, decision, optimal_cooperation, switch_points


REPO = Path(__file__).resolve().parents[2]
PD_TOML = ('[[games]]\nid = "pd"\nkind = "prisoners_dilemma"\ntitle = "PD"\n'
           'labels = {cooperate = "X", defect = "Y"}\n'
           'prompt = "{choices} {temptation} {reward} {punishment} {sucker} {p_cooperate}"\n'
           'settings = [{temptation = 5, reward = 3, punishment = 1, sucker = 0, p_cooperate = 0}]\n')


@pytest.fixture(scope="module")
def games():
    return {g.id: g for g in load_games(REPO / "games.toml")}


def setting(games, game_id, index):
    return games[game_id].settings[index - 1]


ALL_PG = ("20", "15", "10", "5", "0")
ALL_10 = ("10", "8", "6", "4", "2", "0")
HAND = [
    ("prisoners_dilemma", 1, F(0), ("defect",)),
    ("prisoners_dilemma", 1, F(2, 5), ("defect",)),
    ("prisoners_dilemma", 1, F(3, 7), ("cooperate", "defect")),  # exact tie
    ("prisoners_dilemma", 1, F(1, 2), ("cooperate",)),
    ("prisoners_dilemma", 1, F(1), ("cooperate",)),
    ("prisoners_dilemma", 2, F(1, 4), ("cooperate", "defect")),  # R=4: own 2 vs 3, as-me 4 vs 1: 4κ - 1 -> 1/4
    ("prisoners_dilemma", 3, F(1, 2), ("defect",)),  # T=8: own 1.5 vs 4.5, as-me 3 vs 1: 5κ - 3 -> 3/5
    ("public_goods", 1, F(3, 4), ("0",)),
    ("public_goods", 1, F(7, 9), ALL_PG),
    ("public_goods", 1, F(4, 5), ("20",)),
    ("public_goods", 2, F(1, 2), ALL_PG),
    ("public_goods", 2, F(0), ("0",)),
    ("dictator", 1, F(0), ("0",)),
    ("dictator", 1, F(99, 100), ("0",)),
    ("dictator", 1, F(1), ALL_10),  # m = 1: giving only ties at κ = 1
    ("dictator", 2, F(1, 2), ALL_10),
    ("dictator", 2, F(51, 100), ("10",)),
    ("dictator", 3, F(1, 5), ("0",)),
    ("dictator", 3, F(3, 10), ("10",)),
    ("trust_investor", 1, F(1, 3), ALL_10),
    ("trust_investor", 1, F(3, 10), ("0",)),
    ("trust_investor", 2, F(1, 5), ("10",)),
    ("trust_investor", 3, F(0), ("10",)),
    ("trust_trustee", 1, F(0), ("0",)),
    ("trust_trustee", 1, F(9, 10), ("0",)),
    ("trust_trustee", 1, F(1), ("15", "12", "9", "6", "3", "0")),
    ("ultimatum_responder", 1, F(0), ("accept",)),
    ("ultimatum_responder", 1, F(1, 2), ("accept",)),
    ("ultimatum_responder", 3, F(1), ("accept",)),
]


@pytest.mark.parametrize("game_id,index,kappa,expected", HAND)
def test_hand_checked_optimal_actions(games, game_id, index, kappa, expected):
    choice = choose(decision(setting(games, game_id, index)), kappa)
    assert choice.best == expected
    assert choice.tie == (len(expected) > 1)


@pytest.mark.parametrize("game_id,index,points", [
    ("prisoners_dilemma", 1, [F(3, 7)]), ("prisoners_dilemma", 2, [F(1, 4)]),
    ("prisoners_dilemma", 3, [F(3, 5)]), ("prisoners_dilemma", 4, [F(11, 31)]),
    ("public_goods", 1, [F(7, 9)]), ("public_goods", 2, [F(1, 2)]), ("public_goods", 3, [F(1, 3)]),
    ("public_goods", 4, [F(1, 12)]), ("dictator", 1, []), ("dictator", 2, [F(1, 2)]),
    ("dictator", 3, [F(1, 4)]), ("trust_investor", 1, [F(1, 3)]), ("trust_investor", 2, [F(1, 6)]),
    ("trust_investor", 3, []), ("trust_trustee", 1, []), ("ultimatum_responder", 1, []),
])
def test_switch_points_match_closed_forms(games, game_id, index, points):
    assert switch_points(decision(setting(games, game_id, index))) == points


def test_public_goods_threshold_formula(games):
    # κ* = (n - m) / (m (n - 1)) for the linear public goods game, for any n and m in (1, n).
    pg = games["public_goods"]
    for n, m in [(2, F(3, 2)), (3, F(6, 5)), (5, F(4)), (6, F(11, 10))]:
        s = pg.with_params({"endowment": 20, "players": n, "multiplier": m})
        assert switch_points(decision(s)) == [(n - m) / (m * (n - 1))]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 20), min_size=4, max_size=4, unique=True),
       st.fractions(0, 1, max_denominator=20), st.fractions(0, 1, max_denominator=50))
def test_prisoners_dilemma_agrees_with_its_closed_form(payoffs, q, kappa):
    s_, p_, r_, t_ = sorted(payoffs)
    (pd_game,) = parse_games(PD_TOML)
    s = pd_game.with_params({"temptation": t_, "reward": r_, "punishment": p_, "sucker": s_, "p_cooperate": q})
    gap = (1 - kappa) * (q * (r_ - t_) + (1 - q) * (s_ - p_)) + kappa * (r_ - p_)
    expected = ("cooperate",) if gap > 0 else ("defect",) if gap < 0 else ("cooperate", "defect")
    assert best_actions(s, kappa) == expected


def test_derivation_explains_the_choice(games):
    pd1 = setting(games, "prisoners_dilemma", 1)
    econ = choose(decision(pd1), 0)
    assert econ.derivation.endswith("So I pick Y.")
    assert "only my own payoff counts" in econ.derivation
    assert "0.5 × 5 + 0.5 × 1 = 3" in econ.derivation
    moral = choose(decision(pd1), F(1, 2))
    assert "X: 0.5 × 1.5 + 0.5 × 3 = 2.25; Y: 0.5 × 3 + 0.5 × 1 = 2" in moral.derivation
    assert moral.derivation.endswith("So I pick X.")
    tie = choose(decision(pd1), F(3, 7))
    assert "equally good" in tie.derivation and "X and Y" in tie.derivation
    dictator = choose(decision(setting(games, "dictator", 2)), F(7, 10))
    assert "0.3 × (-1) + 0.7 × 1 = 0.4 per point" in dictator.derivation
    assert dictator.derivation.endswith("so I pass as much as I can: 10.")
    assert choose(decision(setting(games, "dictator", 2)), F(1, 2)).derivation.endswith(
        "so every amount is equally good to me.")
    assert choose(decision(setting(games, "public_goods", 1)), 0).derivation.endswith("so I put in nothing: 0.")


def test_optimal_cooperation_averages_ties(games):
    assert optimal_cooperation(decision(setting(games, "public_goods", 2)), F(1, 2)) == F(1, 2)
    assert optimal_cooperation(decision(setting(games, "prisoners_dilemma", 1)), F(3, 7)) == F(1, 2)
    assert optimal_cooperation(decision(setting(games, "public_goods", 3)), F(1, 2)) == 1


@pytest.mark.parametrize("value,expected", [(0.3, F(3, 10)), ("0.25", F(1, 4)), (1, F(1)), (F(2, 7), F(2, 7))])
def test_as_kappa(value, expected):
    assert as_kappa(value) == expected


@pytest.mark.parametrize("value", [-0.1, 1.01, "abc"])
def test_bad_kappa_is_a_user_error(value):
    with pytest.raises(UserError, match="κ must"):
        as_kappa(value)
