"""Figures in the style of the paper's, each drawn from a tidy table.

All figures share one agent order and one palette (agent_styles), draw humans
in black (a line with ±1 SE from human responses; X marks for paper-reported
rates, labelled as such) and put level 1, the most severe exception, on the left.
A scenario's control (level 0, the same situation with no violation) is drawn
apart: a hollow diamond at "C", left of a dotted line, never joined to the curve
of levels 1..k, so it reads as a check of the model, not as one more level.

- figure1: refusal rate vs level per scenario, every agent (Sec. 2.1)
- figure2: the same with one colour per ethical framework (Sec. 2.2)
- figure3: base vs labels-SFT vs explanations-SFT vs human (Sec. 2.4)
- figure4: fine-tuned models on scenarios they were not trained on (transfer)
- significance_heatmap: scenario x level, signed model - human difference, * where significant
"""

from __future__ import annotations

import math
import textwrap

import matplotlib

matplotlib.use("Agg")  # no display here; marimo renders the figure object itself

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from matplotlib.lines import Line2D  # noqa: E402

from helpers.exceptions.scenarios import CONTROL, Scenario  # noqa: E402
from helpers.exceptions.stats import estimand_label  # noqa: E402

HUMAN_COLOUR = "black"
PAPER_LABEL = "human (paper-reported)"
CONTROL_LABEL = "control (no violation)"
CONTROL_MARKER = {"marker": "D", "ms": 5, "mfc": "white", "mew": 1.3, "ls": "none"}
# Variants in the order the paper introduces them; unknown ones follow, sorted.
VARIANT_ORDER = ["baseline", "consequentialist", "deontological", "virtue", "cot", "cot_guided"]
SIGNIFICANCE_NAMES = {"significant": "z-test p < 0.05, unadjusted (as in the paper)",
                      "significant_exact": "exact test p < 0.05 (binomial or Fisher)",
                      "significant_holm": "significant after Holm adjustment",
                      "significant_fdr_bh": "significant after Benjamini-Hochberg"}


def agent_label(model: str, variant: str) -> str:
    return model if variant == "baseline" else f"{model} ({variant})"


def agent_styles(table: pd.DataFrame) -> dict[str, tuple]:
    """Agent label -> colour, in the fixed order every figure uses (by model, then
    by the paper's variant order). The same agents always get the same colours."""
    pairs = table[["model", "variant"]].drop_duplicates()
    rank = {v: i for i, v in enumerate(VARIANT_ORDER)}
    ordered = sorted(map(tuple, pairs.to_numpy()),
                     key=lambda mv: (mv[0], rank.get(mv[1], len(rank)), mv[1]))
    colours = sns.color_palette("colorblind", 10)
    return {agent_label(m, v): colours[i % len(colours)] for i, (m, v) in enumerate(ordered)}


def _grid(n_panels: int, columns: int, width: float = 3.0, height: float = 2.6):
    columns = max(1, min(columns, n_panels))
    rows = math.ceil(n_panels / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(width * columns, height * rows),
                             sharey=True, squeeze=False)
    for ax in list(axes.flat)[n_panels:]:
        ax.set_visible(False)
    return fig, axes


def refusal_curves(rates: pd.DataFrame, scenarios: list[Scenario], *,
                   human: pd.DataFrame | None = None, human_label: str = "human",
                   paper_marks: pd.DataFrame | None = None, title: str | None = None,
                   columns: int = 5) -> plt.Figure:
    """Refusal rate vs level, one panel per scenario, one colour per agent.

    rates: stats.refusal_rates output (model, variant, scenario, level,
    refusal_rate, se). human: per-bucket human rates (scenario, level,
    refusal_rate, optional se), drawn as a black line; human_label names its
    source (e.g. "human (illustrative)"). paper_marks: reference.human_marks().
    """
    sns.set_theme(style="whitegrid", context="paper")
    fig, axes = _grid(len(scenarios), columns)
    styles = agent_styles(rates) if len(rates) else {}
    table = rates.assign(agent=[agent_label(m, v) for m, v in zip(rates["model"], rates["variant"])])
    controls = False
    for ax, scenario in zip(axes.flat, scenarios):
        shown = table[(table["scenario"] == scenario.id) & (table["level"] == CONTROL)]
        for agent, colour in styles.items():
            part = table[(table["agent"] == agent) & (table["scenario"] == scenario.id)].sort_values("level")
            levels, control = part[part["level"] != CONTROL], part[part["level"] == CONTROL]
            if len(levels):
                ax.errorbar(levels["level"], levels["refusal_rate"], yerr=levels["se"].fillna(0), marker="o",
                            ms=3, lw=1.2, capsize=2, color=colour, label=agent)
            if len(control):
                ax.errorbar(control["level"], control["refusal_rate"], yerr=control["se"].fillna(0), capsize=2,
                            color=colour, **CONTROL_MARKER)
                controls = True
        if human is not None:
            part = human[human["scenario"] == scenario.id].sort_values("level")
            if len(part):
                se = part["se"].fillna(0) if "se" in part else None
                ax.errorbar(part["level"], part["refusal_rate"], yerr=se, marker="s", ms=3, lw=1.6,
                            capsize=2, color=HUMAN_COLOUR, label=human_label)
        if paper_marks is not None:
            marks = paper_marks[paper_marks["scenario"] == scenario.id]
            if len(marks):
                ax.scatter(marks["level"], marks["refusal_rate"], marker="X", s=45,
                           color=HUMAN_COLOUR, zorder=5, label=PAPER_LABEL)
        ax.set_title(scenario.title, fontsize=9)
        ticks = list(range(1, len(scenario.levels) + 1))
        if len(shown):  # the control apart: its own tick, left of a dotted line
            ax.axvline(0.5, color="grey", ls=":", lw=1)
            ticks = [CONTROL, *ticks]
        ax.set_xticks(ticks, ["C" if t == CONTROL else str(t) for t in ticks])
        ax.set_ylim(-0.05, 1.05)
        ax.set_xlabel("level (1 = most severe" + ("; C = control)" if len(shown) else ")"), fontsize=7)
    for ax in axes[:, 0]:
        ax.set_ylabel(estimand_label(rates), fontsize=7)  # which estimand (exact: probability or likelier answer)
    handles: dict[str, object] = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    if controls:  # one grey entry for every agent's diamond
        handles[CONTROL_LABEL] = Line2D([], [], color="grey", **CONTROL_MARKER)
    # Legend in the fixed agent order, humans last (matplotlib lists scatters first).
    order = [lab for lab in [*styles, CONTROL_LABEL, human_label, PAPER_LABEL] if lab in handles]
    fig.legend([handles[lab] for lab in order], order, loc="lower center",
               ncol=min(4, max(1, len(handles))), frameon=False)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.05 + 0.02 * math.ceil(len(handles) / 4), 1, 1))
    return fig


def figure1(rates, scenarios, human=None, paper_marks=None, **kw) -> plt.Figure:
    """Figure 1: baseline refusal rates of every agent against humans."""
    return refusal_curves(rates, scenarios, human=human, paper_marks=paper_marks,
                          title=kw.pop("title", "Refusal rate by scenario and exception level"), **kw)


def figure2(rates, scenarios, human=None, paper_marks=None, **kw) -> plt.Figure:
    """Figure 2: one model under each ethical-framework prompt against humans."""
    return refusal_curves(rates, scenarios, human=human, paper_marks=paper_marks,
                          title=kw.pop("title", "Refusal rate under ethical-framework prompts"), **kw)


def figure3(rates, scenarios, human=None, paper_marks=None, **kw) -> plt.Figure:
    """Figure 3: base model vs labels-SFT vs explanations-SFT vs humans
    (name the fine-tuned models so their labels say which is which)."""
    return refusal_curves(rates, scenarios, human=human, paper_marks=paper_marks,
                          title=kw.pop("title", "Refusal rate before and after fine-tuning"), **kw)


def figure4(rates, scenarios, human=None, paper_marks=None, **kw) -> plt.Figure:
    """Figure 4: each fine-tuned model on scenarios it was not trained on; pass
    only the unseen buckets in `rates`."""
    return refusal_curves(rates, scenarios, human=human, paper_marks=paper_marks,
                          title=kw.pop("title", "Transfer: fine-tuned models on unseen scenarios"), **kw)


def significance_heatmap(comparison: pd.DataFrame, scenarios: list[Scenario],
                         alpha_column: str = "significant") -> plt.Figure:
    """One heatmap per agent: rows scenarios, columns levels, colour = model - human
    refusal rate (red: model stricter, blue: laxer), '*' where `alpha_column` is true;
    the human data named above when the comparison has one `human_data` label."""
    sns.set_theme(style="white", context="paper")
    agents = list(agent_styles(comparison))
    fig, axes = plt.subplots(1, max(1, len(agents)), figsize=(4.2 * max(1, len(agents)), 0.45 * len(scenarios) + 1.6),
                             squeeze=False)
    order = [s.id for s in scenarios]
    titles = {s.id: s.title for s in scenarios}
    levels = sorted(comparison["level"].unique()) if len(comparison) else []
    labelled = comparison.assign(agent=[agent_label(m, v) for m, v in zip(comparison["model"], comparison["variant"])])
    for ax, agent in zip(axes.flat, agents):
        part = labelled[labelled["agent"] == agent]
        diff = part.pivot_table(index="scenario", columns="level", values="diff").reindex(index=order, columns=levels)
        sig = part.pivot_table(index="scenario", columns="level", values=alpha_column,
                               aggfunc="max").reindex(index=order, columns=levels)
        marks = np.where(sig.fillna(False).astype(bool).to_numpy(), "*", "")
        sns.heatmap(diff, ax=ax, vmin=-1, vmax=1, cmap="RdBu_r", annot=marks, fmt="",
                    cbar_kws={"label": "model − human refusal rate"}, linewidths=0.5, linecolor="white")
        ax.set_yticklabels([titles.get(t.get_text(), t.get_text()) for t in ax.get_yticklabels()], rotation=0)
        ax.set_title(f"{agent}: {estimand_label(part)}\n* = {SIGNIFICANCE_NAMES.get(alpha_column, alpha_column)}",
                     fontsize=9)
        ax.set_xlabel("level (1 = most severe)")
        ax.set_ylabel("")
    # Which people "human" is (and any exclusion filter on them): the comparison says.
    humans = comparison["human_data"].dropna().unique() if "human_data" in comparison else []
    if len(humans) == 1:
        # Wrapped to the figure's width (about 11 characters an inch at 9 pt): one agent is a narrow figure.
        fig.suptitle(textwrap.fill(f"humans: {humans[0]}", max(30, int(fig.get_figwidth() * 11))), fontsize=9)
    fig.tight_layout()
    return fig
