"""Plots: the right panels, axes, agents and legend entries, one palette throughout."""

import pandas as pd
import pytest

from helpers.exceptions import plots
from helpers.exceptions import reference
from helpers.exceptions import stats
from helpers.exceptions.scenarios import load_scenarios


@pytest.fixture
def scen(repo):
    return load_scenarios(repo / "scenarios.toml")[:3]


def rates(scen, models=(("local/a", "baseline"), ("local/a", "cot"), ("openai/b", "baseline"))):
    rows = [{"model": m, "variant": v, "scenario": s.id, "level": lv, "refusal_rate": 1 - lv / 10,
             "se": 0.02, "yes": 5, "no": 5, "measure": "sampled"}
            for m, v in models for s in scen for lv in range(1, 7)]
    return pd.DataFrame(rows)


def legend_labels(fig):
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


def test_figure1_panels_axes_and_legend(scen):
    human = pd.DataFrame([{"scenario": s.id, "level": lv, "refusal_rate": 0.5, "se": 0.05}
                          for s in scen for lv in range(1, 7)])
    fig = plots.figure1(rates(scen), scen, human=human, human_label="human (illustrative)",
                        paper_marks=reference.human_marks(), columns=2)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == [s.title for s in scen]
    assert len(fig.axes) == 4  # a 2 x 2 grid with the spare panel hidden
    assert all(ax.get_ylim() == (-0.05, 1.05) for ax in visible)
    assert [t.get_text() for t in visible[0].get_xticklabels()] == ["1", "2", "3", "4", "5", "6"]
    assert legend_labels(fig) == ["local/a", "local/a (cot)", "openai/b", "human (illustrative)",
                                  "human (paper-reported)"]
    # Grocery prices carries the paper-reported mark at level 6; three agents + human per panel.
    assert len(visible[0].containers) == 4


def test_one_palette_and_order_across_figures(scen):
    one = plots.agent_styles(rates(scen))
    shuffled = rates(scen).sample(frac=1, random_state=0)
    assert plots.agent_styles(shuffled) == one
    fewer = plots.agent_styles(rates(scen, models=(("local/a", "baseline"), ("local/a", "cot"))))
    assert all(fewer[a] == one[a] for a in fewer)


@pytest.mark.parametrize("fn", [plots.figure2, plots.figure3, plots.figure4])
def test_other_figures_share_the_layout(fn, scen):
    fig = fn(rates(scen), scen)
    assert fig._suptitle is not None and fig._suptitle.get_text()
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()] == [s.title for s in scen]


def test_significance_heatmap_marks_significant_cells(scen):
    model = rates(scen, models=(("local/a", "baseline"),)).assign(
        yes=lambda t: 100 - (t["refusal_rate"] * 100).round().astype(int),
        no=lambda t: (t["refusal_rate"] * 100).round().astype(int))
    human = model[["scenario", "level"]].assign(refusal_rate=0.5, n=100)
    comparison = stats.compare(model, human)
    fig = plots.significance_heatmap(comparison, scen)
    ax = fig.axes[0]
    stars = sum(t.get_text() == "*" for t in ax.texts)
    assert stars == int(comparison["significant"].sum()) > 0
    assert [t.get_text() for t in ax.get_yticklabels()] == [s.title for s in scen]
    assert "unadjusted" in ax.get_title()
