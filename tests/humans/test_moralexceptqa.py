"""MoralExceptQA as scenarios and human rates: read from the shared copy (never
from the repository), mapped faithfully, and bad files explained in one line."""

import pandas as pd
import pytest

from helpers.humans import moralexceptqa as mx
from helpers import paths
from helpers.exceptions import stats
from helpers.errors import ConfigError

SHARED = paths.moralexceptqa_file()
needs_data = pytest.mark.skipif(not SHARED.is_file(), reason=f"MoralExceptQA is not at {SHARED}")


@pytest.fixture(scope="module")
def data():
    return mx.load_moralexceptqa(SHARED)


@needs_data
def test_nine_acts_at_six_ordered_levels(data):
    assert len(data.scenarios) == 9 and len(data.rows) == 54
    assert all(len(s.levels) == 6 for s in data.scenarios)
    assert len({s.id for s in data.scenarios}) == 9
    assert len(data.human) == 54
    assert all(sorted(g) == [1, 2, 3, 4, 5, 6] for _, g in data.human.groupby("scenario")["level"])
    by_condition = data.human.set_index("condition")["level"].groupby(level=0).first()
    assert [by_condition[c] for c in mx.CONDITIONS] == [1, 2, 3, 4, 5, 6]


@needs_data
def test_every_level_renders_the_published_vignette(data):
    ids = {row.context: row.scenario for row in data.human.itertuples()}
    by_id = {s.id: s for s in data.scenarios}
    for row in data.rows.itertuples():
        scenario = by_id[ids[row.context]]
        rendered = scenario.render(mx.CONDITIONS.index(row.condition) + 1)
        published = " ".join(row.scenario.replace("\u2019", "'").split())
        assert rendered == f"{published} {mx.QUESTION}"


@needs_data
def test_human_refusal_is_one_minus_the_acceptable_share(data):
    merged = data.human.merge(data.rows.rename(columns={"human.response": "published"}),
                              on=["context", "condition"])
    assert (merged["refusal_rate"] - (1 - merged["published"])).abs().max() < 1e-12
    # Refusals fall from $100 to the threat in every act (level 6 far below level 1 on average).
    wide = data.human.pivot(index="scenario", columns="level", values="refusal_rate")
    assert (wide[6] < wide[5]).all() and wide[1].mean() - wide[6].mean() > 0.5


@needs_data
def test_sample_sizes_are_whole_counts(data):
    h = data.human
    assert h["n"].between(*mx.N_RANGE).all()
    assert ((h["k"] - h["k"].round()).abs() < 1e-6).all()
    assert h["n_note"].str.startswith("inferred").all()
    fixed = mx.load_moralexceptqa(SHARED, n=100)
    assert (fixed.human["n"] == 100).all() and fixed.human["n_note"].eq("assumed n = 100").all()


@needs_data
def test_plugs_into_the_statistics(data):
    model = data.human[["scenario", "level"]].assign(model="m", variant="baseline", refusal_rate=0.9,
                                                     measure="exact", yes=0, no=0)
    comparison = stats.compare(model, data.human)
    assert len(comparison) == 54 and comparison["p"].notna().all()
    expected = (0.9 - data.human["refusal_rate"]).abs().mean()
    assert stats.mean_absolute_difference(model, data.human) == pytest.approx(expected)


def test_infer_n():
    assert mx.infer_n(11 / 63) == (63, True)
    assert mx.infer_n(52 / 60) == (60, True)
    assert mx.infer_n(0.5) == (60, True)  # fits every even size; the one nearest 60
    assert mx.infer_n(0.123456789) == (mx.DEFAULT_N, False)


CONDITION_TEXT = {
    "hundred": "will give Hank one hundred dollars to paint the fence.",
    "thousand": "will give Hank one thousand dollars to paint the fence.",
    "tenthousand": "will give Hank ten thousand dollars to paint the fence.",
    "hunthousand": "will give Hank one hundred thousand dollars to paint the fence.",
    "million": "will give Hank one million dollars to paint the fence.",
    "gun": "tells Hank to paint the fence. If Hank refuses, the stranger will hurt him.",
}


def synthetic(tmp_path, rows=None, drop=None, name="mx.csv"):
    """A small file in MoralExceptQA's layout, written for the test (not the dataset)."""
    rows = rows if rows is not None else [
        {"context": "fence", "condition": c, "study": "blue.house", "human.response": 0.1 * i,
         "scenario": f"Imagine that a stranger {t} Hank carries out the stranger\u2019s request."}
        for i, (c, t) in enumerate(CONDITION_TEXT.items())
    ] + [{"context": "queue", "condition": "x", "study": "lines", "human.response": 0.5, "scenario": "Other."}]
    table = pd.DataFrame(rows)
    if drop:
        table = table.drop(columns=[drop])
    path = tmp_path / name
    table.to_csv(path, index=False)
    return path


def test_a_small_file_in_the_same_layout(tmp_path):
    data = mx.load_moralexceptqa(synthetic(tmp_path))
    (scenario,) = data.scenarios
    assert scenario.id == "fence" and scenario.prompt.startswith("Imagine that a stranger {value} Hank carries out")
    assert scenario.render(6).startswith("Imagine that a stranger tells Hank to paint the fence. If Hank refuses")
    assert data.human["refusal_rate"].round(6).tolist() == [1.0, 0.9, 0.8, 0.7, 0.6, 0.5]


def test_users_point_at_their_own_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("EXCEPTIONS_MORALEXCEPTQA", str(synthetic(tmp_path, name="elsewhere.csv")))
    assert mx.load_moralexceptqa().path == tmp_path / "elsewhere.csv"


def _rows(**change):
    rows = [{"context": "fence", "condition": c, "study": "blue.house", "human.response": 0.5,
             "scenario": f"Imagine that a stranger {t}"} for c, t in CONDITION_TEXT.items()]
    index = change.pop("row", 0)
    rows[index].update(change)
    return rows


@pytest.mark.parametrize("rows, drop, message", [
    (None, "human.response", "missing column `human.response`"),
    ([{"context": "q", "condition": "x", "study": "lines", "human.response": 0.5, "scenario": "s"}], None,
     "no rows of study 'blue.house'"),
    (_rows(condition="billion"), None, "row 1, field `condition`: 'billion' is not one of hundred"),
    (_rows(row=2, **{"human.response": 1.5}), None, "row 3, field `human.response`: 1.5 is not a share"),
    (_rows(row=1, **{"human.response": "lots"}), None, "row 2, field `human.response`: 'lots'"),
    (_rows(row=3, scenario=""), None, "row 4, field `scenario`: the vignette text is missing"),
    (_rows(row=1, condition="hundred"), None, "row 2, field `condition`: context 'fence' has condition 'hundred' twice"),
])
def test_bad_files(tmp_path, rows, drop, message):
    path = synthetic(tmp_path, rows=rows, drop=drop)
    with pytest.raises(ConfigError) as err:
        mx.load_moralexceptqa(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_a_context_missing_a_condition(tmp_path):
    path = synthetic(tmp_path, rows=_rows()[:5])
    with pytest.raises(ConfigError, match="context 'fence' has no row for condition 'gun'"):
        mx.load_moralexceptqa(path)


def test_a_missing_file_says_where_to_get_it(tmp_path):
    with pytest.raises(ConfigError) as err:
        mx.load_moralexceptqa(tmp_path / "complete_file.csv")
    assert "MoralExceptQA file not found at" in str(err.value)
    assert "feradauto/MoralCoT" in str(err.value) and "\n" not in str(err.value)


def test_the_dataset_is_not_in_the_repository():
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    found = [p for p in repo.rglob("complete_file*.csv") if ".venv" not in p.parts]
    assert found == []
