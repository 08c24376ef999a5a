"""The pricing environment: its benchmarks against closed forms checked by
numerical optimisation, and repeated play over the OpenAI protocol."""

import re

import numpy as np
import pytest
from games_openai import ScriptedOpenAI
from scipy.optimize import minimize, minimize_scalar

from helpers.economics import duopoly
from helpers.llm.asking import AskConfig
from helpers.errors import UserError

MARKETS = [duopoly.Market(), duopoly.Market(a=20, b=3, d=1, cost=1, p_max=30),
           duopoly.Market(a=5, b=1, d=0.9, cost=0.5, p_max=40)]


def numeric_best_response(market, rival, kappa=0.0):
    def utility(p):
        return (1 - kappa) * market.profit(p, rival) + kappa * market.profit(p, p)
    # Demand is cut at zero, so profit is flat above the choke price: find the
    # peak's neighbourhood on a grid, then refine there.
    grid = np.linspace(market.cost, market.p_max, 4001)
    step = grid[1] - grid[0]
    start = grid[int(np.argmax([utility(p) for p in grid]))]
    return minimize_scalar(lambda p: -utility(p), bounds=(max(market.cost, start - step), start + step),
                           method="bounded", options={"xatol": 1e-10}).x


@pytest.mark.parametrize("market", MARKETS)
def test_best_response_and_nash_against_numerical_optimisation(market):
    for rival in np.linspace(market.cost, market.collusive_price(), 7):
        closed = market.best_response(rival)
        if market.demand(rival, closed) > 0:  # the closed form is the interior solution
            assert numeric_best_response(market, rival) == pytest.approx(closed, abs=1e-6)
    price = market.p_max  # iterate best responses from a far start: they converge to p_N
    for _ in range(60):
        price = numeric_best_response(market, price)
    assert price == pytest.approx(market.nash_price(), abs=1e-6)
    assert market.best_response(market.nash_price()) == pytest.approx(market.nash_price())


@pytest.mark.parametrize("market", MARKETS)
def test_collusive_price_maximises_joint_profit(market):
    def joint(p):
        return market.profit(p[0], p[1]) + market.profit(p[1], p[0])
    # Over the whole allowed square, asymmetric prices included (one firm may
    # price itself out): a grid for the global peak, then a local refinement.
    grid = np.linspace(market.cost, market.p_max, 301)
    values = np.array([[joint((x, y)) for y in grid] for x in grid])
    i, j = np.unravel_index(np.argmax(values), values.shape)
    best = minimize(lambda p: -joint(p), x0=[grid[i], grid[j]], method="Nelder-Mead",
                    options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 5000})
    assert best.x == pytest.approx([market.collusive_price()] * 2, abs=1e-5)
    assert market.collusive_price() > market.nash_price()
    assert market.profit(market.collusive_price(), market.collusive_price()) > \
        market.profit(market.nash_price(), market.nash_price())


@pytest.mark.parametrize("market", MARKETS)
@pytest.mark.parametrize("kappa", [0.0, 0.3, 0.7, 1.0])
def test_homo_moralis_equilibrium_price(market, kappa):
    p = market.moralis_price(kappa)
    # p(κ) solves the first-order condition: a local best response to itself.
    local = minimize_scalar(lambda x: -market.utility(x, p, kappa), bounds=(p - 0.5, p + 0.5),
                            method="bounded", options={"xatol": 1e-10}).x
    assert local == pytest.approx(p, abs=1e-6)
    # It is an equilibrium unless a far jump pays; the check agrees with a global search.
    global_best = numeric_best_response(market, p, kappa)
    assert market.is_equilibrium(p, kappa) == (abs(global_best - p) < 1e-4)
    if market is not MARKETS[2]:
        assert market.is_equilibrium(p, kappa)
    if kappa == 0:
        assert p == pytest.approx(market.nash_price())
    if kappa == 1:
        assert p == pytest.approx(market.collusive_price())


def test_default_market_numbers():
    m = duopoly.Market()  # q = 10 - 2p + 1.5p', c = 2
    assert m.nash_price() == pytest.approx(14 / 2.5)  # (10 + 4) / (4 - 1.5) = 5.6
    assert m.collusive_price() == pytest.approx(11.0)  # (10 + 0.5*2) / 1
    assert m.demand(5.6, 5.6) == pytest.approx(7.2) and m.profit(11, 11) == pytest.approx(40.5)
    assert m.demand(15, 2) == 0.0  # never below zero
    # The rival at 15 sells nothing once p_i <= 13.33; beyond its lowest
    # sell-nothing price, (10 + 1.5 p_i) / 2, its price wins firm i no more sales.
    assert m.demand(9, 15) == pytest.approx(m.demand(9, (10 + 1.5 * 9) / 2)) == pytest.approx(9.625)
    assert m.demand(9, 11) == pytest.approx(10 - 18 + 16.5)
    table = m.benchmarks(0.5).set_index("benchmark")
    assert list(table.index) == ["Bertrand-Nash (κ = 0)", "homo moralis equilibrium (κ = 0.5)",
                                 "joint profit (collusive, κ = 1)"]
    assert table["equilibrium"].all()
    assert not m.is_equilibrium(m.collusive_price(), 0.0)  # a cartel price tempts a selfish firm
    # Close substitutes (d/b = 0.9): at κ = 0.7 the first-order price is not an equilibrium.
    close = MARKETS[2]
    assert not close.is_equilibrium(close.moralis_price(0.7), 0.7)


@pytest.mark.parametrize("kwargs,message", [
    ({"d": 2.5}, "0 < d < b"), ({"a": -1}, "a > 0"), ({"p_max": 9}, "must lie above the collusive price"),
    ({"start": 1}, "start price must lie between"), ({"a": 1, "cost": 5}, "no demand at prices equal to cost"),
])
def test_bad_markets(kwargs, message):
    with pytest.raises(UserError, match=message):
        duopoly.Market(**kwargs)


@pytest.mark.parametrize("text,price", [("6.5", 6.5), ("$7", 7.0), ("Price: 12.25", 12.25), ("I set 3", 3.0),
                                        ("1.5", None), ("16", None), ("about 5", None)])
def test_parse_price_inside_the_range(text, price):
    assert duopoly.parse_price(text, duopoly.Market()) == price


def scripted(prompt: str) -> str:
    round_no = int(re.findall(r"Round (\d+): what price", prompt)[0])
    return {1: "6.5", 2: "I am not sure", 3: "Price: 8"}.get(round_no, "7")


def test_play_over_the_openai_protocol_is_cached_and_carries_invalid_prices():
    market = duopoly.Market()
    with ScriptedOpenAI(scripted) as server:
        config = AskConfig(models=("openai/pricer",), temperature=0.7, max_tokens=6, base_url=server.base_url)
        table = duopoly.play(config, market, ("openai/pricer", "openai/pricer"), rounds=4, sessions=2)
        calls = server.completions()
        # The two sessions ask one firm the same request each round, so the fetcher
        # asks for both answers in one call (n = 2): 8 calls carry the 16 answers.
        assert sum(r["body"].get("n", 1) for r in calls) == 2 * 2 * 4, "every firm, session and round is its own answer"
        assert len(calls) == 8 and len({r["body"]["seed"] for r in calls}) == 8
        again = duopoly.play(config, market, ("openai/pricer", "openai/pricer"), rounds=4, sessions=2)
        assert len(server.completions()) == 8, "a rerun makes no calls"
        later = server.completions()[2]["body"]["messages"][0]["content"]
    assert table.equals(again)
    assert set(table["status"]) == {"ok", "invalid"}
    r2 = table[table["round"] == 2]
    assert (r2["status"] == "invalid").all() and r2["carried"].all() and (r2["price"] == 6.5).all()
    r3 = table[table["round"] == 3]
    assert (r3["price"] == 8).all() and not r3["carried"].any()
    assert np.allclose(r3["quantity"], market.demand(8, 8)) and np.allclose(r3["profit"], market.profit(8, 8))
    assert "Round 1: your price 6.50, rival's price 6.50, you sold 6.75 units, your profit 30.38." in later
    summary = duopoly.summary(table, market, last=2).iloc[0]
    assert summary["rounds"] == 4 and summary["invalid_share"] == 0.25
    assert summary["mean_price"] == 7.5  # rounds 3 and 4: 8 and 7
    assert summary["valid_rounds"] == 4  # 2 rounds x 2 sessions
    # Over rounds 2-3, the carried price of round 2 is the environment's, not an agent's.
    summary = duopoly.summary(table, market, last=3).iloc[0]
    assert summary["mean_price"] == 7.5 and summary["valid_rounds"] == 4
    assert summary["mean_profit"] == pytest.approx((market.profit(8, 8) + market.profit(7, 7)) / 2)


def test_missing_answers_stop_a_session_without_inventing_prices(tmp_path):
    with ScriptedOpenAI(scripted) as server:
        config = AskConfig(models=("openai/pricer",), base_url=server.base_url)
        table = duopoly.play(config, duopoly.Market(), ("openai/pricer", "openai/pricer"), rounds=3,
                             make_calls=False)
        assert server.completions() == []
    assert list(table["status"]) == ["not run", "not run"] and table["price"].isna().all()


def test_summary_profit_gain():
    market = duopoly.Market()
    rows = []
    for pair, price in (("competitive", market.nash_price()), ("cartel", market.collusive_price())):
        for t in (1, 2):
            for f in (1, 2):
                rows.append({"pair": pair, "session": 0, "round": t, "firm": f, "model": "m", "status": "ok",
                             "price": price, "carried": False, "quantity": market.demand(price, price),
                             "profit": market.profit(price, price), "text": ""})
    import pandas as pd

    rows += [{**r, "pair": "mute", "status": "invalid", "carried": True} for r in rows[:4]]
    summary = duopoly.summary(pd.DataFrame(rows), market).set_index("pair")
    assert summary.loc["competitive", "profit_gain"] == pytest.approx(0.0)
    assert summary.loc["cartel", "profit_gain"] == pytest.approx(1.0)
    # A pair that never answered validly has no prices of its own and no profit gain.
    assert np.isnan(summary.loc["mute", "mean_price"]) and np.isnan(summary.loc["mute", "profit_gain"])
    assert summary.loc["mute", "invalid_share"] == 1.0 and summary.loc["mute", "valid_rounds"] == 0
