"""The headline card a notebook writes is the one `make report` reads back: figures
with their kinds, the verdict drawn from the validity cards (or, for the games, from
whether the answers follow payoffs), models and sources, whatever the text holds."""

from types import SimpleNamespace

import pytest
from bs4 import BeautifulSoup

from helpers.exceptions.validity import FAIL, PASS, Card, Check
from helpers.notebook import headline
from helpers.reports import headline as reader


def read_back(shown) -> reader.Headline:
    node = BeautifulSoup(shown.text, "html.parser").find(class_=reader.CLASS)
    return reader.parse(node.get("data-headline"))


def card_of(model: str, *statuses: str) -> Card:
    checks = tuple(Check(name=f"check {i}", status=s, failure=f"failure {i}", detail="")
                   for i, s in enumerate(statuses))
    return Card(model=model, variant="baseline", measure="exact", checks=checks)


def test_a_card_round_trips_through_the_report_reader_with_hostile_text():
    hostile = "<script>alert(1)</script> \" ' & {\"}"
    shown = headline.card("2.1", "Baseline", [headline.Figure(hostile, "29.0%", "illustrative")],
                          verdict=headline.Verdict("mixed", hostile), models=["local/x"],
                          sources=[headline.Source("human data", "illustrative", hostile)])
    back = read_back(shown)
    assert (back.section, back.title, back.verdict, back.verdict_detail) == ("2.1", "Baseline", "mixed", hostile)
    assert back.figures == (reader.Figure(hostile, "29.0%", "illustrative"),)
    assert back.models == ("local/x",) and back.sources[0].detail == hostile
    assert "<script>" not in shown.text  # escaped in the visible box too
    assert back.figure is None and read_back(headline.card("2.4", "t", [], figure=2)).figure == 2


def test_the_verdict_follows_the_validity_cards():
    good, bad = card_of("a", PASS, PASS), card_of("b", PASS, FAIL)
    assert headline.verdict_of(SimpleNamespace(cards=[good])).status == "interpretable"
    assert headline.verdict_of(SimpleNamespace(cards=[bad])).status == "not interpretable"
    mixed = headline.verdict_of(SimpleNamespace(cards=[good, bad]))
    assert mixed.status == "mixed" and "b, baseline: not interpretable (failed: failure 1)" in mixed.detail
    assert headline.verdict_of(SimpleNamespace(cards=[])).status == "not applicable"


def fit(p: float, n: int = 20):
    return SimpleNamespace(kappa=0.3, ci_low=0.1, ci_high=0.5, n=n, p_uniform=p)


def test_games_are_readable_only_where_answers_follow_payoffs():
    assert headline._follows_payoffs({"base": fit(0.001)}).status == "interpretable"
    assert headline._follows_payoffs({"base": fit(0.4)}).status == "not interpretable"
    both = headline._follows_payoffs({"base": fit(0.4), "tuned": fit(0.01)})
    assert both.status == "mixed" and "base: answers fit no better than random (p = 0.40)" in both.detail
    assert headline._follows_payoffs({"base": fit(float("nan"), n=0)}).status == "not interpretable"


def test_a_figure_or_verdict_of_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="kind is one of"):
        headline.Figure("x", "1", "guessed")
    with pytest.raises(ValueError, match="verdict is one of"):
        headline.Verdict("fine")
