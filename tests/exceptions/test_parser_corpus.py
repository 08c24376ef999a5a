"""parse_answer measured on the labelled corpus tests/data/answers_corpus.csv.

How rows are scored (see helpers.exceptions.parser_check):
- no misread on any row: a yes read as no or a no read as yes, or a decision
  read from an answer labelled invalid (a hedge, a refusal to answer, an
  answer that contradicts itself). clear_cut does not relax this;
- at most 10% of the clear-cut yes/no answers read invalid. A not-clear-cut
  yes/no answer (a hedged lean such as "Probably not.") may be read as its
  label or as invalid, never as the opposite.
"""

import pandas as pd
import pytest

from helpers.errors import ConfigError
from helpers.exceptions import parser_check
from helpers.exceptions.scenarios import load_scenarios

MAX_CLEAR_CUT_INVALID = 0.10


@pytest.fixture
def scenarios(repo):
    return load_scenarios(repo / "scenarios.toml")


@pytest.fixture
def corpus(repo, scenarios):
    return parser_check.load_corpus(repo / "tests" / "data" / "answers_corpus.csv", scenarios)


def test_corpus_is_large_and_covers_every_scenario(corpus, scenarios):
    assert len(corpus) >= 200
    assert set(corpus["scenario"]) == {s.id for s in scenarios}
    assert set(corpus["label"]) == set(parser_check.LABELS)
    assert corpus["clear_cut"].any() and not corpus["clear_cut"].all()
    assert not corpus.duplicated(["scenario", "text"]).any()


def test_parser_makes_no_misread_and_leaves_few_clear_cut_answers_invalid(corpus, scenarios):
    score = parser_check.score(parser_check.read(corpus, scenarios))
    report = "\n".join(score.lines() + [f"  {r.label} read {r.parsed}: {r.text!r}"
                                        for r in score.misreads.itertuples()])
    assert score.misreads.empty, report
    assert score.clear_cut_invalid_share <= MAX_CLEAR_CUT_INVALID, report


def test_score_counts_every_kind_of_misread():
    parsed = pd.DataFrame({
        "label":     ["yes", "no", "invalid", "yes",     "no",      "yes",     "invalid"],
        "parsed":    ["no",  "yes", "yes",    "invalid", "invalid", "yes",     "invalid"],
        "clear_cut": [True,  True,  False,    True,      False,     True,      True],
    })
    score = parser_check.score(parsed)
    assert list(score.misreads.index) == [0, 1, 2]
    # clear-cut yes/no rows: 0, 1, 3, 5; of which 3 is read invalid (4, a lean, does not count)
    assert (score.clear_cut_decisions, score.clear_cut_invalid) == (4, 1)
    assert score.confusion.loc["yes", "no"] == 1 and score.confusion.loc["invalid", "invalid"] == 1
    assert "misreads: 3" in score.lines()


@pytest.mark.parametrize("row,message", [
    ("grocery_prices,Yes.,maybe,true", "label 'maybe' must be one of yes, no, invalid"),
    ("grocery_prices,Yes.,yes,sometimes", "clear_cut 'sometimes' must be true or false"),
    ("groceries,Yes.,yes,true", "unknown scenario 'groceries'; known ids are"),
])
def test_a_bad_corpus_row_is_named_in_one_line(tmp_path, scenarios, row, message):
    path = tmp_path / "corpus.csv"
    path.write_text("scenario,text,label,clear_cut,note\ngrocery_prices,No.,no,true,\n" + row + ",\n")
    with pytest.raises(ConfigError, match=message + ".*") as error:
        parser_check.load_corpus(path, scenarios)
    assert "line 3" in str(error.value) and "\n" not in str(error.value)


def test_a_corpus_without_a_column_or_file_says_what_is_needed(tmp_path, scenarios):
    path = tmp_path / "corpus.csv"
    path.write_text("scenario,text,clear_cut\ngrocery_prices,No.,true\n")
    with pytest.raises(ConfigError, match="column 'label' is missing"):
        parser_check.load_corpus(path, scenarios)
    with pytest.raises(ConfigError, match="no such corpus file"):
        parser_check.load_corpus(tmp_path / "absent.csv", scenarios)
