"""A repeated two-firm pricing game played by model agents, with its benchmarks.

Demand is linear and differentiated (each firm's sales fall with its own price
and rise with the rival's), and is stated to the firms in their prompt:

    q_i = max(0, a - b·p_i + d·min(p_j, (a + d·p_i) / b)),   profit_i = (p_i - c)·q_i,

with b > d > 0. The min() is what keeps linear demand consistent: once the
rival's price is so high that it sells nothing ((a + d·p_i) / b is the lowest
such price), raising it further wins firm i no more customers; firm i then
faces the demand of a single-product market (the standard Singh-Vives linear
demand from quadratic utility). Without it a firm could price itself out and
make its rival's sales grow without bound, an artefact of the formula.

Benchmarks (interior solutions of the first-order conditions, where both firms sell):
- best response:        BR(p_j) = (a + b·c + d·p_j) / (2b)  (while the rival still sells)
- Bertrand-Nash price:  p_N = (a + b·c) / (2b - d)
- joint-profit price:   p_M = (a + (b - d)·c) / (2(b - d))   (both firms at the
  price that maximises their summed profit: the collusive benchmark)
- homo moralis firms, u = (1-κ)·profit(p, p_j) + κ·profit(p, p), in a symmetric
  equilibrium:  p(κ) = (a + (b - κ·d)·c) / (2b - d - κ·d),  so p(0) = p_N and
  p(1) = p_M: a firm that asks "what if my rival priced as I do" prices as a
  cartel would, without any agreement. p(κ) solves the first-order condition;
  with very close substitutes a κ-firm can do better by a large jump (pricing
  itself out of the current market), so `is_equilibrium` checks on a fine
  grid of the allowed prices that no deviation pays, and benchmarks() says so.

Each round both firms see the market's rules, the allowed price range and the
last rounds' prices, sales and their own profits, and answer with a price. An
answer that is not a number inside the range is counted invalid and the firm's
previous price stands that round (round 1: the stated starting price), so the
game can go on; invalid rounds are flagged in the table. A failed call stops
that session at that round (it is made again on the next run), as does a
missing answer when calls are not being made.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.economics import choices
from helpers.llm.asking import AskConfig, ask
from helpers.llm.engine import Limits
from helpers.errors import UserError
from helpers.economics.games import format_number

HISTORY = 5  # rounds shown in each prompt (the most recent ones)


@dataclass(frozen=True)
class Market:
    a: float = 10.0  # demand intercept
    b: float = 2.0  # own-price effect
    d: float = 1.5  # cross-price effect (substitutes: 0 < d < b)
    cost: float = 2.0  # marginal cost, the same for both firms
    p_max: float = 15.0  # highest allowed price (the lowest is the cost)
    start: float | None = None  # price of both firms before round 1 (default: mid-range)

    def __post_init__(self) -> None:
        if not 0 < self.d < self.b:
            raise UserError(f"demand needs 0 < d < b (own price matters more), got b={self.b}, d={self.d}")
        if self.a <= 0 or self.cost < 0:
            raise UserError(f"demand needs a > 0 and cost >= 0, got a={self.a}, cost={self.cost}")
        if self.a - (self.b - self.d) * self.cost <= 0:
            raise UserError("no demand at prices equal to cost: raise a or lower the cost")
        if not self.collusive_price() < self.p_max:
            raise UserError(f"p_max {self.p_max} must lie above the collusive price "
                            f"{self.collusive_price():.2f} so that every benchmark is allowed")
        if self.start is not None and not self.cost <= self.start <= self.p_max:
            raise UserError(f"start price must lie between cost {self.cost} and p_max {self.p_max}")

    @property
    def start_price(self) -> float:
        return self.start if self.start is not None else round((self.cost + self.p_max) / 2, 2)

    def demand(self, own: float, rival: float) -> float:
        # A rival priced out of the market counts as priced at the lowest price
        # at which it sells nothing (see the module docstring).
        rival = min(rival, (self.a + self.d * own) / self.b)
        return max(0.0, self.a - self.b * own + self.d * rival)

    def profit(self, own: float, rival: float) -> float:
        return (own - self.cost) * self.demand(own, rival)

    def best_response(self, rival: float) -> float:
        return (self.a + self.b * self.cost + self.d * rival) / (2 * self.b)

    def nash_price(self) -> float:
        return (self.a + self.b * self.cost) / (2 * self.b - self.d)

    def collusive_price(self) -> float:
        return (self.a + (self.b - self.d) * self.cost) / (2 * (self.b - self.d))

    def moralis_price(self, kappa: float) -> float:
        """Symmetric equilibrium price of two homo moralis firms with this κ."""
        if not 0 <= kappa <= 1:
            raise UserError(f"κ must lie between 0 and 1, got {kappa}")
        return (self.a + (self.b - kappa * self.d) * self.cost) / (2 * self.b - self.d - kappa * self.d)

    def utility(self, own: float, rival: float, kappa: float) -> float:
        """Homo moralis' utility: (1-κ)·profit(own, rival) + κ·profit(own, own)."""
        return (1 - kappa) * self.profit(own, rival) + kappa * self.profit(own, own)

    def is_equilibrium(self, price: float, kappa: float, points: int = 4001) -> bool:
        """True if no allowed price (on a fine grid) gives a κ-firm more utility
        than `price` when its rival charges `price`."""
        here = self.utility(price, price, kappa)
        grid = np.linspace(self.cost, self.p_max, points)
        best = max(self.utility(p, price, kappa) for p in grid)
        return bool(best <= here + 1e-9 * max(1.0, abs(here)))

    def benchmarks(self, kappa: float | None = None) -> pd.DataFrame:
        """Benchmark prices with each firm's sales and profit at a symmetric price,
        and whether the price is an equilibrium for firms of that κ (the joint-profit
        price is one for κ = 1 firms, never for κ = 0 ones)."""
        rows = [("Bertrand-Nash (κ = 0)", self.nash_price(), 0.0),
                ("joint profit (collusive, κ = 1)", self.collusive_price(), 1.0)]
        if kappa is not None and 0 < kappa < 1:
            rows.insert(1, (f"homo moralis equilibrium (κ = {kappa:g})", self.moralis_price(kappa), kappa))
        return pd.DataFrame([{"benchmark": name, "price": p, "quantity": self.demand(p, p),
                              "profit": self.profit(p, p), "equilibrium": self.is_equilibrium(p, k)}
                             for name, p, k in rows])

    def rules(self) -> str:
        n = format_number
        return (f"You set the price of your firm's product. One rival firm sells a similar product, and "
                f"each round both firms set their prices at the same time. Your cost is {n(self.cost)} per "
                f"unit. You sell {n(self.a)} - {n(self.b)} × your price + {n(self.d)} × the rival's price "
                f"units (never fewer than 0; a rival priced so high that it sells nothing counts as priced "
                f"at the lowest such price), and your profit is (your price - {n(self.cost)}) × units sold. "
                f"Prices must be between {n(self.cost)} and {n(self.p_max)}.")


def prompt(market: Market, history: list[dict], round_no: int) -> str:
    """A firm's prompt for a round; history rows hold own/rival price, sales, profit."""
    lines = [market.rules()]
    if not history:
        lines.append(f"Before the first round both prices were {market.start_price:.2f}.")
    else:
        lines.append("Recent rounds:")
        for h in history[-HISTORY:]:
            lines.append(f"Round {h['round']}: your price {h['own']:.2f}, rival's price {h['rival']:.2f}, "
                         f"you sold {h['quantity']:.2f} units, your profit {h['profit']:.2f}.")
    lines.append(f"Round {round_no}: what price do you set? Reply with the price only.")
    return "\n".join(lines)


def parse_price(text: str, market: Market) -> float | None:
    """The price that opens the answer, if it lies in [cost, p_max] (rules in helpers.economics.choices)."""
    value = choices.parse_number(text)
    if value is None or not market.cost <= value <= market.p_max:
        return None
    return float(value)


COLUMNS = ["pair", "session", "round", "firm", "model", "status", "price", "carried", "quantity",
           "profit", "text"]


def play(config: AskConfig, market: Market, firms: tuple[str, str], *, rounds: int, sessions: int = 1,
         pair: str = "", make_calls: bool = True, limits: Limits = Limits(), progress=None) -> pd.DataFrame:
    """Sessions of the repeated game between two model agents (model names).

    Returns one row per session x round x firm (COLUMNS). Firm f of session s
    samples with index 2s + f, so each session is its own reproducible, cached
    trajectory.
    progress(round, rounds) is called after each round.
    """
    if rounds < 1 or sessions < 1:
        raise UserError(f"rounds and sessions must be at least 1, got {rounds} and {sessions}")
    pair = pair or f"{firms[0]} vs {firms[1]}"
    prices = {s: [market.start_price, market.start_price] for s in range(sessions)}
    histories = {s: ([], []) for s in range(sessions)}
    alive = set(range(sessions))
    rows: list[dict] = []
    for t in range(1, rounds + 1):
        answers = {}
        order = sorted(alive)
        for f in (0, 1):
            cfg = dataclasses.replace(config, models=(firms[f],), samples=1)
            # Each firm of each session draws its own answers (sample 2s + f): two
            # copies of one model facing the same prompt are still two agents.
            result = ask(cfg, [prompt(market, histories[s][f], t) for s in order], make_calls=make_calls,
                         limits=limits, sample_of=[2 * s + f for s in order])
            for s, (_, answer) in zip(order, result.answers.iterrows()):
                answers[(s, f)] = answer
        for s in sorted(alive):
            new, status, text = [], [], []
            for f in (0, 1):
                answer = answers[(s, f)]
                parsed = parse_price(answer["text"], market) if answer["status"] == "ok" else None
                status.append(answer["status"] if answer["status"] != "ok" else
                              ("ok" if parsed is not None else "invalid"))
                new.append(parsed if parsed is not None else prices[s][f])
                text.append(answer["text"] if answer["status"] == "ok" else "")
            if any(st in ("failed", "not run") for st in status):
                alive.discard(s)
                for f in (0, 1):
                    rows.append({"pair": pair, "session": s, "round": t, "firm": f + 1, "model": firms[f],
                                 "status": status[f], "price": np.nan, "carried": False,
                                 "quantity": np.nan, "profit": np.nan, "text": text[f]})
                continue
            prices[s] = new
            for f in (0, 1):
                own, rival = new[f], new[1 - f]
                q, pi = market.demand(own, rival), market.profit(own, rival)
                histories[s][f].append({"round": t, "own": own, "rival": rival, "quantity": q, "profit": pi})
                rows.append({"pair": pair, "session": s, "round": t, "firm": f + 1, "model": firms[f],
                             "status": status[f], "price": own, "carried": status[f] == "invalid",
                             "quantity": q, "profit": pi, "text": text[f]})
        if progress is not None:
            progress(t, rounds)
        if not alive:
            break
    return pd.DataFrame(rows, columns=COLUMNS)


def summary(table: pd.DataFrame, market: Market, last: int = 5) -> pd.DataFrame:
    """Per pair, over the last `last` rounds played: the mean of the prices the
    agents chose (valid answers only: a price carried over after an invalid
    answer is the environment's, not the agent's), the mean profit and the
    profit gain Δ = (profit - Nash profit) / (collusive profit - Nash profit)
    (0 = competitive, 1 = collusive) over rounds where both firms answered
    validly, how many such rounds there were, and the share of invalid answers."""
    nash = market.profit(market.nash_price(), market.nash_price())
    cartel = market.profit(market.collusive_price(), market.collusive_price())
    rows = []
    for pair, group in table.groupby("pair", sort=False):
        played = group[group["status"].isin(["ok", "invalid"])]
        row = {"pair": pair, "rounds": 0, "mean_price": np.nan, "mean_profit": np.nan, "profit_gain": np.nan,
               "valid_rounds": 0, "invalid_share": np.nan}
        if not played.empty:
            tail = played[played["round"] >= played["round"].max() - last + 1]
            chosen = tail[tail["status"] == "ok"]
            both = chosen.groupby(["session", "round"]).filter(lambda g: len(g) == 2)
            profit = float(both["profit"].mean()) if len(both) else np.nan
            row.update(rounds=int(played["round"].max()), mean_price=float(chosen["price"].mean()) if len(chosen)
                       else np.nan, mean_profit=profit, profit_gain=(profit - nash) / (cartel - nash),
                       valid_rounds=len(both) // 2,
                       invalid_share=float((played["status"] == "invalid").mean()))
        rows.append(row)
    return pd.DataFrame(rows, columns=["pair", "rounds", "mean_price", "mean_profit", "profit_gain",
                                       "valid_rounds", "invalid_share"])
