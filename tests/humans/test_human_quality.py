"""Exclusion variables (helpers.humans.quality): checked when loaded, applied only when
asked, only to the analysis copy, and always said."""

import pandas as pd
import pytest

from helpers.errors import ConfigError, UserError
from helpers.exceptions import plots
from helpers.exceptions.scenarios import parse_scenarios
from helpers.humans import quality, source
from helpers.humans import responses as human
from helpers.notebook.comparison import HumanSide

SCENARIOS = parse_scenarios('''
[[scenarios]]
id = "flour"
title = "Flour"
prompt = "The flour costs {value}. Buy it?"
levels = ["$25", "$12", "$10.01"]

[[scenarios]]
id = "radius"
title = "Radius"
prompt = "The address is {value} outside. Deliver?"
levels = ["15 miles", "1 mile", "0.01 miles"]
''')

HEADER = ("participant_id,scenario,level,decision,explanation,timestamp,study,"
          "excl_attention,excl_fast,excl_paste,excluded")
# p1 failed an attention check (both answers, and the study's rule follows it),
# p2 pasted one explanation, p3 answered one question too fast, p4 is clean.
ROWS = [
    "p1,flour,1,no,too much,2024-12-05T14:00:00Z,pilot,true,false,false,true",
    "p1,radius,2,no,too far,2024-12-05T14:01:00Z,pilot,TRUE,False,0,1",
    "p2,flour,3,yes,a cent,2024-12-05T14:02:00Z,pilot,false,false,true,false",
    "p2,radius,3,yes,close,2024-12-05T14:03:00Z,pilot,false,false,false,false",
    "p3,flour,2,no,no,2024-12-05T14:04:00Z,pilot,false,false,false,false",
    "p3,radius,1,no,far,2024-12-05T14:05:00Z,pilot,false,true,false,false",
    "p4,flour,3,yes,fine,2024-12-05T14:06:00Z,pilot,False,FALSE,0,0",
    "p4,radius,2,yes,ok,2024-12-05T14:07:00Z,pilot,false,false,false,false",
]


def write(tmp_path, rows=ROWS, header=HEADER):
    path = tmp_path / "answers.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def table(tmp_path):
    return human.load_human(write(tmp_path), SCENARIOS)


def test_the_variables_load_as_true_or_false_in_any_case(table):
    assert {table[c].dtype.kind for c in quality.VARIABLES} == {"b"}
    assert table["excl_attention"].tolist() == [True, True] + [False] * 6
    assert table["excluded"].tolist() == table["excl_attention"].tolist()
    assert table["excl_paste"].sum() == 1 and table["excl_fast"].sum() == 1


@pytest.mark.parametrize("value,what", [("maybe", "'maybe' is not true or false"), ("", "missing"),
                                        ("2", "'2' is not true or false"), ("yes", "'yes' is not true or false")])
def test_a_bad_value_is_one_line_naming_file_row_and_column(tmp_path, value, what):
    rows = list(ROWS)
    rows[4] = rows[4].replace(",false,false,false,false", f",false,{value},false,false")
    path = write(tmp_path, rows)
    with pytest.raises(ConfigError) as caught:
        human.load_human(path, SCENARIOS)
    assert str(caught.value) == f"{path}: row 5, field `excl_fast`: {what}; write true or false (or 1/0)"


def test_a_file_without_the_variables_loads_as_before(tmp_path):
    plain = [",".join(r.split(",")[:7]) for r in ROWS]
    table = human.load_human(write(tmp_path, plain, HEADER.rsplit(",", 4)[0]), SCENARIOS)
    assert list(table.columns) == human.COLUMNS and quality.present(table) == ()


def test_parquet_flags_survive_a_round_trip(tmp_path, table):
    again = human.load_human(human.write_human(table, tmp_path / "answers.parquet"), SCENARIOS)
    pd.testing.assert_frame_equal(again, table)


@pytest.mark.parametrize("rules,dropped,people", [
    (["attention"], ["p1", "p1"], 1),
    (["attention", "paste"], ["p1", "p1", "p2"], 2),
    (["fast"], ["p3"], 1),
    (["study"], ["p1", "p1"], 1),
    (["attention", "fast", "paste"], ["p1", "p1", "p2", "p3"], 3),
])
def test_apply_drops_the_flagged_answers_and_says_exactly_how_many(table, rules, dropped, people):
    before = table.copy()
    kept, note = quality.apply_exclusions(table, rules)
    assert len(kept) == len(table) - len(dropped)
    assert sorted(set(table.index) - set(kept.index)) == [i for i in table.index
                                                          if any(table.loc[i, quality.RULES[r]] for r in rules)]
    assert sorted(table.loc[~table.index.isin(kept.index), "participant_id"]) == dropped
    reasons = ", ".join(quality.REASONS[r] for r in rules)
    assert note.startswith(f"excluding {reasons} (")
    assert note.endswith(f": {len(dropped)} of {len(table)} answers ({people} participant{'s' * (people > 1)}) "
                         f"dropped; {len(table) - len(dropped)} kept")
    pd.testing.assert_frame_equal(table, before)  # the analysis copy only


def test_loading_and_filtering_leave_the_file_as_it_was(tmp_path):
    path = write(tmp_path)
    raw = path.read_bytes()
    quality.apply_exclusions(human.load_human(path, SCENARIOS), ["attention", "paste"])
    assert path.read_bytes() == raw


def test_no_rule_keeps_everything_and_names_the_variables_there_were(table):
    kept, note = quality.apply_exclusions(table, [])
    assert kept is table
    assert note == "no exclusions applied (the data has excl_attention, excl_fast, excl_paste, excluded)"
    plain = table[human.COLUMNS]
    assert quality.apply_exclusions(plain, []) == (plain, "")


def test_a_rule_on_data_without_its_variable_says_where_it_comes_from(table):
    with pytest.raises(UserError) as caught:
        quality.apply_exclusions(table.drop(columns="excl_paste"), ["attention", "paste"], source="old.csv")
    message = str(caught.value)
    assert message.startswith("--exclude paste: old.csv has no exclusion variable `excl_paste`")
    assert "`make survey`" in message and "docs/survey.md" in message and "\n" not in message


def test_unknown_rules_and_filters_that_leave_nothing_are_refused(table):
    with pytest.raises(UserError, match=r"--exclude must be one of attention, fast, paste, study, got 'speed'"):
        quality.apply_exclusions(table, ["speed"])
    everyone = table.assign(excl_fast=True)
    with pytest.raises(UserError, match=r"every answer of the human data \(8\) has `excl_fast` true"):
        quality.apply_exclusions(everyone, ["fast"])


def test_the_label_tag_lists_the_rules_in_the_order_given():
    assert quality.label_tag(quality.parse_rules(["paste", "attention", "paste"])) == "excl. paste, attention"
    assert quality.label_tag(()) == ""


def test_filtered_human_puts_the_filter_in_the_label_and_the_note(tmp_path):
    path = write(tmp_path)
    kept, label, note = source.filtered_human(path, SCENARIOS, ["attention", "paste"])
    assert label == "human (answers.csv; excl. attention, paste)" and len(kept) == 5
    assert note == quality.apply_exclusions(human.load_human(path, SCENARIOS), ["attention", "paste"])[1]
    text = source.data_note(kept, label, exclusions=note)
    assert text.startswith("Human data used here: **human (answers.csv; excl. attention, paste)**: "
                           "3 participants, 5 answers")
    assert f"Exclusions: {note}. Every number and figure below uses the kept answers only" in text
    trained = source.data_note(kept, label, trained_on=True, exclusions=note)
    assert "The models are trained on the kept answers and compared with them" in trained


def test_no_filter_on_data_with_the_variables_says_none_was_applied(tmp_path):
    kept, label, note = source.filtered_human(write(tmp_path), SCENARIOS)
    assert (len(kept), label) == (8, "human (answers.csv)")
    assert note == "no exclusions applied (the data has excl_attention, excl_fast, excl_paste, excluded)"
    assert source.data_note(kept, label, exclusions=note).endswith(
        ". No exclusions applied (the data has excl_attention, excl_fast, excl_paste, excluded); "
        "`--exclude` chooses which to apply.")


def test_a_rule_on_an_older_file_names_the_file(tmp_path):
    plain = [",".join(r.split(",")[:7]) for r in ROWS]
    path = write(tmp_path, plain, HEADER.rsplit(",", 4)[0])
    with pytest.raises(UserError, match=r"^--exclude attention: answers.csv has no exclusion variable"):
        source.filtered_human(path, SCENARIOS, ["attention"])


def test_the_figures_legend_and_the_heatmaps_title_carry_the_filter(tmp_path):
    side = HumanSide.load(write(tmp_path), SCENARIOS, ("attention",))
    assert side.label == "human (answers.csv; excl. attention)" and "dropped" in side.exclusions
    assert side.only(["p2", "p3"]).exclusions == side.exclusions
    measured = pd.DataFrame([{"model": "local/a", "variant": "baseline", "scenario": s.id, "level": lv,
                              "refusal_rate": 0.5, "se": 0.1, "yes": 5, "no": 5, "measure": "sampled"}
                             for s in SCENARIOS for lv in (1, 2, 3)])
    fig = plots.figure1(measured, SCENARIOS, **side.figure_args())
    assert side.label in [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    heatmap = plots.significance_heatmap(side.compare(measured), SCENARIOS)
    assert heatmap._suptitle.get_text().replace("\n", " ") == f"humans: {side.label}"
