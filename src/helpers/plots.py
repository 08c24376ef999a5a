"""Figures in the style of the paper's, each drawn from a tidy table.

Figure 1: refusal rate against exception level, one panel per scenario, one
colour per agent (model and prompt variant), ±1 SE bars where the rate was
sampled, and paper-reported human rates as black marks labelled as such.
"""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")  # no display here; marimo renders the figure object itself

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from .scenarios import Scenario  # noqa: E402


def _agent(row: pd.Series) -> str:
    return row["model"] if row["variant"] == "baseline" else f"{row['model']} ({row['variant']})"


def figure1(buckets: pd.DataFrame, scenarios: list[Scenario],
            human_marks: pd.DataFrame | None = None, columns: int = 5) -> plt.Figure:
    """Refusal rate vs level per scenario, model agents vs paper-reported human marks.

    buckets: the output of stats.refusal_rates; scenarios: which panels, in order;
    human_marks: reference.human_marks() (or None to leave them out).
    """
    sns.set_theme(style="whitegrid", context="paper")
    columns = max(1, min(columns, len(scenarios)))
    rows = math.ceil(len(scenarios) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.0 * columns, 2.6 * rows),
                             sharey=True, squeeze=False)
    table = buckets.assign(agent=buckets.apply(_agent, axis=1)) if len(buckets) else buckets
    agents = list(dict.fromkeys(table["agent"])) if len(table) else []
    palette = dict(zip(agents, sns.color_palette("colorblind", max(1, len(agents)))))
    for ax, scenario in zip(axes.flat, scenarios):
        for agent in agents:
            part = table[(table["agent"] == agent) & (table["scenario"] == scenario.id)]
            part = part.sort_values("level")
            if part.empty:
                continue
            ax.errorbar(part["level"], part["refusal_rate"], yerr=part["se"].fillna(0),
                        marker="o", ms=3, lw=1.2, capsize=2, color=palette[agent], label=agent)
        if human_marks is not None:
            marks = human_marks[human_marks["scenario"] == scenario.id]
            ax.scatter(marks["level"], marks["refusal_rate"], marker="X", s=45, color="black",
                       zorder=5, label="human (paper-reported)")
        ax.set_title(scenario.title, fontsize=9)
        ax.set_xticks(range(1, len(scenario.levels) + 1))
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlabel("exception level (1 = most severe)", fontsize=7)
    for ax in list(axes.flat)[len(scenarios):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("refusal rate")
    handles, labels = {}, []
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=min(4, len(handles)),
               frameon=False, bbox_to_anchor=(0.5, -0.02))
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig
