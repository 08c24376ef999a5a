"""The notebooks' validity card (helpers.notebook.validity) without an export: the
callout kinds, the verdict lookups later cells use, and the control switch of
the notebooks' arguments and widgets."""

import marimo as mo
import pandas as pd

from helpers.exceptions.validity import Thresholds
from helpers.notebook import runs
from helpers.notebook.params import NotebookParams
from helpers.notebook.validity import _kind, assess



def exact_table(mass=0.9, with_control=True):
    """Synthetic exact-mode buckets of ten scenarios: a control refused at 0.1, levels
    falling from 0.9 to 0.2 (a little apart per scenario)."""
    rows = [{"model": "m", "variant": "baseline", "scenario": f"s{s}", "level": lv, "n": 1, "yes": 0, "no": 0,
             "invalid": 0, "refusal_rate": (0.1 if lv == 0 else 0.9 - 0.14 * (lv - 1)) + 0.01 * s / 10,
             "yes_no_mass": mass, "measure": "exact"}
            for s in range(10) for lv in range(0 if with_control else 1, 7)]
    return pd.DataFrame(rows)


def test_cards_have_the_kind_of_their_verdict_and_later_cells_can_ask():
    table = pd.concat([exact_table().assign(model="good"), exact_table(mass=0.2).assign(model="low"),
                       exact_table(with_control=False).assign(model="bare")])
    found = assess(table, Thresholds())
    assert found.source == "given"
    assert [(c.model, _kind(c)) for c in found.cards] == [("good", "success"), ("low", "danger"), ("bare", "warn")]
    assert found.verdict("good") == "interpretable" and found.interpretable("good")
    assert found.verdict("low") == "not interpretable" and not found.interpretable("low")
    assert found.verdict("nobody") == "not measured" and not found.interpretable("nobody")
    assert found.lines().splitlines()[1] == "- low, `baseline`: **not interpretable** (failed: low yes/no mass)"
    assert list(found.table()["verdict"]) == ["interpretable", "not interpretable", "not interpretable"]
    assert isinstance(found.view(), mo.Html)


def test_no_measured_buckets_yet_is_a_note_not_an_error():
    empty = exact_table().assign(n=0)
    assert assess(empty, Thresholds()).cards == []
    assert "the cards follow the run" in assess(empty, Thresholds()).view().text


def test_notebooks_take_no_control_from_their_arguments_and_their_box(repo):
    from helpers.exceptions import load_scenarios

    scenarios = load_scenarios(repo / "scenarios.toml")
    values = {"models": "local/smollm2-135m-instruct", "mode": "exact", "samples": 1}
    on = runs.Study(NotebookParams.from_cli({}), scenarios)
    off = runs.Study(NotebookParams.from_cli({"no-control": ""}), scenarios)  # a bare --no-control
    assert runs.configure(values, on).config.control is True
    assert runs.configure(values, off).config.control is False
    assert runs.configure({**values, "control": True}, off).config.control is True, "the box decides"
    controls, _ = runs.run_controls(off)
    assert controls.value["control"] is False


def side_table():
    """summaries.beside_paper's shape: this run's rows, then the paper's, told apart by source."""
    return pd.DataFrame({"source": ["this workspace vs human (x)", "paper-reported (the paper's participants)"],
                         "model": ["m", "gpt-4o"], "variant": ["baseline", "baseline"], "mean_abs_diff": [0.3, 0.45]})


def test_the_paper_stands_beside_an_interpretable_run_only():
    good = assess(exact_table(), Thresholds())
    assert good.comparable and good.paper_note() == "" and good.tag("m", "baseline") == ""
    assert "Under the validity verdict" not in good.beside_paper(side_table()).text

    low = assess(exact_table(mass=0.2), Thresholds())
    assert not low.comparable
    assert low.tag("m", "baseline") == " (validity: **not interpretable**: failed: low yes/no mass)"
    assert low.paper_note().startswith("**Under the validity verdict:** **m** (`baseline`) is **not interpretable**")
    apart = low.beside_paper(side_table()).text
    assert "Under the validity verdict" in apart and apart.index("this workspace") < apart.index("Under the validity")


def test_paper_columns_are_moved_apart_with_their_row_keys():
    low = assess(exact_table(mass=0.2), Thresholds())
    columns = pd.DataFrame({"model": ["SFT labels"], "significant (vs x)": ["5/6"],
                            "paper-reported GPT-4o: significant": ["29/30"]})
    shown = low.beside_paper(columns).text
    assert shown.count("SFT labels") == 2 and "Under the validity verdict" in shown
    assert assess(exact_table().iloc[0:0], Thresholds()).comparable is False  # nothing measured vouches for nothing
