"""Fine-tuning datasets: building them from human answers, the JSONL bytes, and
validation before anything is uploaded or trained."""

import json

import pandas as pd
import pytest

from helpers.llm import prices as pricing
from helpers.finetune import datasets as sft
from helpers.errors import UserError
from helpers.exceptions.scenarios import parse_scenarios

SCENARIOS = parse_scenarios('''
[[scenarios]]
id = "flour"
title = "Flour"
prompt = "The flour costs {value}. Do you buy it?"
levels = ["$15", "$10.01"]

[[scenarios]]
id = "door"
title = "Door"
prompt = "The shop closed {value} ago. Do you open the door?"
levels = ["an hour", "a minute"]
''')


def human(rows):
    columns = ["participant_id", "scenario", "level", "decision", "explanation", "timestamp", "study"]
    return pd.DataFrame([(*r, "2024-12-02T15:00:00+00:00", "fixture") for r in rows], columns=columns)


FIXTURE = human([
    ("p2", "flour", 2, "yes", "Só um  cêntimo.", ),
    ("p1", "flour", 1, "no", "Too much."),
    ("p1", "door", 2, "yes", ""),
    ("p3", "flour", 2, "maybe", "unsure"),
])

# Byte for byte what OpenAI's chat fine-tuning format expects; non-ASCII text kept as UTF-8.
EXPECTED = {
    "labels": (
        '{"messages": [{"role": "user", "content": "The flour costs $15. Do you buy it? Answer Yes or No."}, '
        '{"role": "assistant", "content": "No"}]}\n'
        '{"messages": [{"role": "user", "content": "The flour costs $10.01. Do you buy it? Answer Yes or No."}, '
        '{"role": "assistant", "content": "Yes"}]}\n'
    ),
    "explanations": (
        '{"messages": [{"role": "user", "content": "The flour costs $15. Do you buy it? Answer Yes or No."}, '
        '{"role": "assistant", "content": "No. Too much."}]}\n'
        '{"messages": [{"role": "user", "content": "The flour costs $10.01. Do you buy it? Answer Yes or No."}, '
        '{"role": "assistant", "content": "Yes. Só um cêntimo."}]}\n'
    ),
}
EXPECTED["labels-50"] = EXPECTED["labels"]  # every flour decision here has an explanation


@pytest.mark.parametrize("kind", sft.KINDS)
def test_jsonl_is_byte_exact_for_a_small_fixture(kind, tmp_path):
    examples = sft.build_examples(FIXTURE, SCENARIOS, kind, scenario_ids=["flour"])
    path = sft.write_jsonl(examples, tmp_path / f"{kind}.jsonl")
    assert path.read_bytes() == EXPECTED[kind].encode("utf-8")
    assert sft.read_jsonl(path) == examples


def test_the_same_rows_in_another_order_give_the_same_file(tmp_path):
    shuffled = FIXTURE.sample(frac=1, random_state=3)
    a = sft.build_examples(FIXTURE, SCENARIOS, "labels", size=2, seed=7)
    b = sft.build_examples(shuffled, SCENARIOS, "labels", size=2, seed=7)
    assert a == b


def test_pooled_labels_use_every_scenario_and_skip_undecided_answers():
    examples = sft.build_examples(FIXTURE, SCENARIOS, "labels")
    prompts = [e["messages"][0]["content"] for e in examples]
    assert len(examples) == 3  # "maybe" is not a decision
    assert any("door" in p for p in prompts) and any("flour" in p for p in prompts)
    # An explanation is not needed for labels, but is for explanations.
    assert len(sft.build_examples(FIXTURE, SCENARIOS, "explanations")) == 2


def test_labels_50_are_the_explanations_answers_without_their_reasons():
    rows = human([(f"p{i}", "flour", 1 + i % 2, "yes" if i % 3 else "no", f"reason {i}" if i % 4 else "")
                  for i in range(80)])
    explained = sft.build_examples(rows, SCENARIOS, "explanations", size=50, seed=4)
    bare = sft.build_examples(rows, SCENARIOS, "labels-50", size=50, seed=4)
    assert len(bare) == len(explained) == 50  # same data size, other kind
    for a, b in zip(bare, explained):
        assert a["messages"][0] == b["messages"][0]  # the same question (scenario and level)
        assert b["messages"][1]["content"].startswith(a["messages"][1]["content"] + ". reason ")
    # Drawn from the explained answers only, unlike labels, which may take any decision.
    with pytest.raises(UserError, match="has only 60 answers with an explanation"):
        sft.build_examples(rows, SCENARIOS, "labels-50", size=61)
    assert len(sft.build_examples(rows, SCENARIOS, "labels", size=61)) == 61


def test_size_and_seed_choose_a_reproducible_subset():
    rows = human([(f"p{i}", "flour", 1 + i % 2, "yes" if i % 3 else "no", f"reason {i}") for i in range(40)])
    a = sft.build_examples(rows, SCENARIOS, "explanations", size=10, seed=1)
    assert a == sft.build_examples(rows, SCENARIOS, "explanations", size=10, seed=1)
    assert a != sft.build_examples(rows, SCENARIOS, "explanations", size=10, seed=2)
    assert len(a) == 10 and len({e["messages"][1]["content"] for e in a}) == 10


@pytest.mark.parametrize("kwargs, message", [
    ({"kind": "reasons"}, "unknown dataset kind 'reasons'"),
    ({"kind": "labels", "scenario_ids": ["nope"]}, "unknown scenario 'nope'"),
    ({"kind": "labels", "size": 5, "scenario_ids": ["flour"]}, "asked for 5 examples but scenario flour has only 2"),
    ({"kind": "explanations", "scenario_ids": ["door"]}, "no usable human answers with an explanation for scenario door"),
    ({"kind": "labels", "size": 0}, "--size must be at least 1"),
])
def test_dataset_errors_are_one_line(kwargs, message):
    kind = kwargs.pop("kind")
    with pytest.raises(UserError, match=message.replace("$", r"\$")):
        sft.build_examples(FIXTURE, SCENARIOS, kind, **kwargs)


def test_missing_column_and_missing_level_are_named():
    with pytest.raises(UserError, match="lack the column `explanation`"):
        sft.build_examples(FIXTURE.drop(columns="explanation"), SCENARIOS, "explanations")
    with pytest.raises(UserError, match="scenario 'flour' has no level 3"):
        sft.build_examples(human([("p", "flour", 3, "no", "x")]), SCENARIOS, "labels")


GOOD = {"messages": [{"role": "user", "content": "Buy it? Answer Yes or No."},
                     {"role": "assistant", "content": "Yes. It is one cent."}]}


def write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def good_lines(n):
    return [json.dumps(GOOD)] * n


@pytest.mark.parametrize("bad, message", [
    ('{"messages": [', "line 4: not valid JSON"),
    ('[1, 2]', "example 4: expected an object with `messages`, got list"),
    ('{"messages": [], "x": 1}', "example 4: unknown key `x`; an example holds only `messages`"),
    ('{"messages": []}', "example 4: `messages` must be a non-empty list"),
    ('{"messages": [{"role": "bot", "content": "hi"}]}', "example 4: message 1 has role 'bot'; use one of system, user, assistant"),
    ('{"messages": [{"role": "user", "content": "  "}]}', r"example 4: message 1 \(user\) has no text content"),
    ('{"messages": [{"role": "user", "content": "q", "tone": "x"}]}', "message 1 has unknown key `tone`"),
    ('{"messages": [{"role": "user", "content": "q"}]}', "example 4: no assistant message to learn from"),
    ('{"messages": [{"role": "assistant", "content": "Yes"}]}', "example 4: no user message"),
    ('{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": 2}]}',
     "`weight` may only be 0 or 1"),
])
def test_validation_names_the_example_and_the_problem(tmp_path, bad, message):
    path = write_lines(tmp_path / "train.jsonl", good_lines(3) + [bad] + good_lines(8))
    with pytest.raises(UserError, match=message) as info:
        sft.validate(path, "openai/gpt-4o-mini")
    assert "\n" not in str(info.value) and "train.jsonl" in str(info.value)


def test_validation_counts_every_bad_example(tmp_path):
    path = write_lines(tmp_path / "t.jsonl", ['{"messages": []}'] * 3 + good_lines(10))
    with pytest.raises(UserError, match=r"example 1: .* \(2 more examples have problems\)"):
        sft.validate(path, "openai/gpt-4o-mini")


def test_minimum_example_count_depends_on_the_service(tmp_path):
    path = write_lines(tmp_path / "nine.jsonl", good_lines(9))
    with pytest.raises(UserError, match="9 examples; fine-tuning openai/gpt-4o-mini needs at least 10"):
        sft.validate(path, "openai/gpt-4o-mini")
    with pytest.raises(UserError, match="no such training file"):
        sft.validate(tmp_path / "absent.jsonl", "openai/gpt-4o-mini")


def test_token_limit_per_example(tmp_path):
    long = {"messages": [{"role": "user", "content": "word " * 300}, {"role": "assistant", "content": "No"}]}
    path = write_lines(tmp_path / "long.jsonl", good_lines(10) + [json.dumps(long)])
    with pytest.raises(UserError, match=r"example 11: \d+ tokens, more than the 100 allowed"):
        sft.validate(path, "openai/gpt-4o-mini", max_example_tokens=100)


def test_tokens_epochs_and_cost_of_a_valid_file(tmp_path):
    path = write_lines(tmp_path / "ok.jsonl", good_lines(20))
    report = sft.validate(path, "openai/gpt-4o-mini-2024-07-18")
    per_example = report.tokens[0]
    assert report.examples == 20 and set(report.tokens) == {per_example} and per_example > 10
    assert report.epochs == 5  # 'auto': at least 100 examples seen in all
    training = pricing.training_price("gpt-4o-mini-2024-07-18", pricing.load_prices())
    assert training == 3.0  # prices.toml's gpt-4o-mini entry, found from the dated snapshot
    assert report.cost == pytest.approx(20 * per_example * 5 * training / 1e6)
    assert "training cost" in report.table() and "warning" not in report.table()
    assert report.warnings == ["20 examples: OpenAI suggests at least 50 for a clear effect"]
    assert sft.validate(path, "openai/o1").cost is None  # no training price: unknown, not zero
    assert "unknown" in sft.validate(path, "openai/o1").table()


@pytest.mark.parametrize("examples, epochs", [(10, 10), (34, 3), (50, 3), (30, 3), (20_000, 1), (10_000, 2), (5_000, 3)])
def test_auto_epochs_follow_the_published_rule(examples, epochs):
    assert sft.auto_epochs(examples) == epochs


def test_training_price_must_be_a_number(tmp_path):
    bad = tmp_path / "prices.toml"
    bad.write_text('[models."m"]\ninput = 1\noutput = 2\ntraining = "lots"\n')
    with pytest.raises(UserError, match="`training` must be a number >= 0"):
        pricing.load_prices(bad)
