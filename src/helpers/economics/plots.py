"""Figures for the economic notebooks, each drawn from a tidy table.

- theory: the optimal cooperation level against κ, one panel per game, one line
  per payoff setting (what homo economicus and homo moralis would do)
- cooperation: measured cooperation per setting and agent (95% CI) against the
  predictions of κ = 0 and the chosen κ
- kappa_profiles: the profile log-likelihood of κ per agent, 95% set shaded
- losses: fine-tuning loss per step per agent
- price_paths: prices over rounds per pair of agents against the benchmarks
"""

from __future__ import annotations

import math

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from helpers.economics.preferences import Decision, optimal_cooperation  # noqa: E402

PREDICTION = {"economicus": ("black", "_", 260), "moralis": ("0.45", "D", 60)}


def _grid(n: int, columns: int, width: float = 3.2, height: float = 2.6, sharey: bool = True):
    columns = max(1, min(columns, n))
    rows = math.ceil(n / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, height * rows), sharey=sharey,
                             squeeze=False)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    return fig, axes


def _colours(labels: list[str]) -> dict[str, tuple]:
    palette = sns.color_palette("colorblind", 10)
    return {label: palette[i % len(palette)] for i, label in enumerate(labels)}


def theory(decisions: dict[str, Decision], kappa: float, titles: dict[str, str] | None = None) -> plt.Figure:
    """Optimal cooperation (0..1, mean over ties) against κ, per game and setting."""
    sns.set_theme(style="whitegrid", context="paper")
    games = list(dict.fromkeys(item.split("#")[0] for item in decisions))
    fig, axes = _grid(len(games), 3)
    grid = np.linspace(0, 1, 201)
    for ax, game in zip(axes.flat, games):
        items = [i for i in decisions if i.split("#")[0] == game]
        for colour, item in zip(sns.color_palette("viridis", len(items)), items):
            levels = [float(optimal_cooperation(decisions[item], round(k, 3))) for k in grid]
            ax.plot(grid, levels, color=colour, lw=1.4, label=f"setting {item.split('#')[1]}")
        ax.axvline(kappa, color="black", lw=0.8, ls=":")
        ax.set_title((titles or {}).get(game, game), fontsize=9)
        ax.set_xlabel("κ (0 = homo economicus)", fontsize=7)
        ax.set_ylim(-0.05, 1.05)
        ax.legend(fontsize=6, loc="upper left", frameon=False)
    for ax in axes[:, 0]:
        ax.set_ylabel("optimal cooperation")
    fig.suptitle(f"What each agent type would choose (dotted line: κ = {kappa:g})", fontsize=10)
    fig.tight_layout()
    return fig


def cooperation(rates: pd.DataFrame, predicted: pd.DataFrame, labels: dict[str, str], kappa: float,
                titles: dict[str, str] | None = None, ylabel: str = "cooperation",
                ticks: dict[str, str] | None = None) -> plt.Figure:
    """Measured cooperation per setting with 95% CIs against the κ predictions.

    rates: measures.cooperation_rates; predicted: measures.predicted_cooperation
    for κ = 0 and κ; labels: model name -> agent label; ticks: item -> x label
    (default: the setting number after "#").
    """
    sns.set_theme(style="whitegrid", context="paper")
    games = list(dict.fromkeys(rates["game"]))
    fig, axes = _grid(len(games), 3, width=3.4 if len(games) > 1 else 6.5)
    colours = _colours(list(labels.values()))
    agents = list(labels)
    offsets = np.linspace(-0.2, 0.2, max(1, len(agents))) if len(agents) > 1 else [0.0]
    for ax, game in zip(axes.flat, games):
        part = rates[rates["game"] == game]
        items = list(dict.fromkeys(part["item"]))
        x = {item: i for i, item in enumerate(items)}
        for offset, model in zip(offsets, agents):
            mine = part[(part["model"] == model) & (part["n"] > 0)]
            if len(mine):
                xs = [x[i] + offset for i in mine["item"]]
                err = np.vstack([mine["cooperation"] - mine["ci_low"], mine["ci_high"] - mine["cooperation"]])
                ax.errorbar(xs, mine["cooperation"], yerr=np.clip(np.nan_to_num(err), 0, None), fmt="o", ms=4,
                            capsize=2, color=colours[labels[model]], label=labels[model])
        # Settings are categories, so predictions are marks, not lines between them.
        for name, k in (("economicus", 0.0), ("moralis", kappa)):
            pred = predicted[(predicted["kappa"] == k) & predicted["item"].isin(items)]
            colour, marker, size = PREDICTION[name]
            label = "predicted, κ = 0" if name == "economicus" else f"predicted, κ = {kappa:g}"
            ax.scatter([x[i] for i in pred["item"]], pred["cooperation"], color=colour, marker=marker, s=size,
                       facecolors="none" if marker == "D" else colour, linewidths=1.5, zorder=1, label=label)
        ax.set_xticks(range(len(items)))
        ax.set_xticklabels([(ticks or {}).get(i, i.split("#")[-1]) for i in items], fontsize=7)
        ax.set_title((titles or {}).get(game, game), fontsize=9)
        ax.set_xlabel("payoff setting", fontsize=7)
        ax.set_ylim(-0.05, 1.05)
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel)
    _legend(fig, axes)
    return fig


def _legend(fig, axes, rows_hint: int = 3) -> None:
    handles: dict[str, object] = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=min(3, max(1, len(handles))),
               frameon=False, fontsize=7)
    fig.tight_layout(rect=(0, 0.06 + 0.03 * math.ceil(len(handles) / rows_hint), 1, 1))


def kappa_profiles(fits: dict[str, object]) -> plt.Figure:
    """Profile log-likelihood (relative to its maximum) against κ, one line per agent."""
    sns.set_theme(style="whitegrid", context="paper")
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    colours = _colours(list(fits))
    for label, fit in fits.items():
        prof = fit.profile
        if fit.n == 0 or prof["loglik"].isna().all():
            continue
        rel = prof["loglik"] - prof["loglik"].max()
        ax.plot(prof["kappa"], rel, color=colours[label], lw=1.5, label=f"{label} (κ̂ = {fit.kappa:.2f})")
        inside = prof[prof["inside"]]
        ax.axvspan(inside["kappa"].min(), inside["kappa"].max(), color=colours[label], alpha=0.08)
    ax.axhline(-3.84 / 2, color="black", lw=0.8, ls=":", label="95% likelihood-ratio cut-off")
    ax.set_xlabel("κ")
    ax.set_ylabel("log-likelihood - max")
    ax.set_ylim(bottom=max(-25, ax.get_ylim()[0]))
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def losses(agents: list) -> plt.Figure:
    """Training loss per optimisation step of each fine-tuned agent."""
    sns.set_theme(style="whitegrid", context="paper")
    fig, ax = plt.subplots(figsize=(5.5, 2.8))
    colours = _colours([a.label for a in agents])
    for agent in agents:
        if agent.losses:
            ax.plot(range(1, len(agent.losses) + 1), agent.losses, marker="o", ms=3, color=colours[agent.label],
                    label=agent.label)
    ax.set_xlabel("optimisation step")
    ax.set_ylabel("training loss")
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def price_paths(table: pd.DataFrame, benchmarks: pd.DataFrame) -> plt.Figure:
    """Prices over rounds, one panel per pair of agents; benchmark prices as lines.

    table: duopoly.play rows (pair, session, round, firm, price, carried);
    benchmarks: Market.benchmarks(). Crosses mark rounds where an invalid answer
    left the previous price standing.
    """
    sns.set_theme(style="whitegrid", context="paper")
    pairs = list(dict.fromkeys(table["pair"])) or ["(no play)"]
    fig, axes = _grid(len(pairs), 3, width=3.6, height=2.8)
    styles = [("black", "--"), ("0.4", "-."), ("0.6", ":")]
    for ax, pair in zip(axes.flat, pairs):
        part = table[(table["pair"] == pair) & table["price"].notna()]
        for (session, firm), path in part.groupby(["session", "firm"]):
            ax.plot(path["round"], path["price"], marker="o", ms=3, lw=1.2,
                    color=sns.color_palette("colorblind")[int(firm) - 1], alpha=0.9,
                    label=f"firm {firm}")
            carried = path[path["carried"]]
            ax.scatter(carried["round"], carried["price"], marker="x", s=30, color="red", zorder=5,
                       label="invalid answer: price carried over")
        for (colour, style), row in zip(styles, benchmarks.itertuples()):
            ax.axhline(row.price, color=colour, ls=style, lw=1, label=f"{row.benchmark}: {row.price:.2f}")
        ax.set_title(pair, fontsize=8)
        ax.set_xlabel("round", fontsize=7)
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    for ax in axes[:, 0]:
        ax.set_ylabel("price")
    _legend(fig, axes)
    return fig


def moralis_prices(market, kappa: float) -> plt.Figure:
    """The symmetric homo moralis equilibrium price p(κ) from κ = 0 (Bertrand-Nash)
    to κ = 1 (joint profit), with the chosen κ marked; hollow where p(κ) is not
    an equilibrium (a far price would pay a κ-firm more)."""
    sns.set_theme(style="whitegrid", context="paper")
    fig, ax = plt.subplots(figsize=(5.0, 2.8))
    grid = np.linspace(0, 1, 41)
    prices = [market.moralis_price(k) for k in grid]
    stable = [market.is_equilibrium(p, k, points=801) for p, k in zip(prices, grid)]
    ax.plot(grid, prices, color="0.3", lw=1.2)
    ax.scatter(grid[stable], np.array(prices)[stable], s=12, color="0.3")
    unstable = ~np.array(stable)
    if unstable.any():
        ax.scatter(grid[unstable], np.array(prices)[unstable], s=14, facecolors="none", edgecolors="red",
                   label="not an equilibrium")
        ax.legend(fontsize=7, frameon=False)
    ax.axvline(kappa, color="black", ls=":", lw=0.8)
    ax.set_xlabel("κ of both firms")
    ax.set_ylabel("equilibrium price p(κ)")
    fig.tight_layout()
    return fig
