"""The notebooks' readers of answers: whole conversations per bucket, the invalid
count with examples, and our summary beside the paper-reported figures."""

import pandas as pd
import pytest

from helpers.exceptions import experiment
from helpers.exceptions import scenarios
from helpers.exceptions.summaries import beside_paper
from helpers.exceptions.transcripts import bucket_markdown, example_config, invalid_summary


@pytest.fixture
def grocery(repo):
    return scenarios.select(scenarios.load_scenarios(repo / "scenarios.toml"), ["grocery_prices"])


def test_bucket_markdown_shows_every_turn_and_the_decision(fake_openai, grocery, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    config = experiment.RunConfig(models=("openai/m",), variants=("baseline", "cot"), mode="sample",
                                  samples=2, levels=(6,))
    rows = experiment.run(config, grocery).responses
    text = bucket_markdown(rows, grocery[0], 6, limit=1)
    assert text.startswith("### Grocery prices, level 6 ($10.01)")
    assert "#### openai/m, `baseline` (2 answer(s), showing up to 1)" in text
    assert "#### openai/m, `cot` (2 answer(s), showing up to 1)" in text
    assert text.count("**Sample 0** — parsed decision: **yes**") == 2 and "**Sample 1**" not in text
    # The chain: three prompts, three answers, each quoted so model markdown stays inert.
    assert text.count("*Prompt:*") == 4 and text.count("*Model:*") == 4
    assert "> Next, work out step by step how the policy applies" in text
    assert bucket_markdown(rows, grocery[0], 1) == "_No answers for Grocery prices, level 1 yet._"


def test_exact_rows_show_the_final_probability_and_failures_say_so(fake_openai, grocery, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    config = experiment.RunConfig(models=("openai/m",), variants=("cot",), mode="exact", samples=1, levels=(1,))
    rows = experiment.run(config, grocery).responses
    assert "final turn: P(no) / (P(yes) + P(no)) = **0.842**" in bucket_markdown(rows, grocery[0], 1)
    failed = rows.assign(status="failed")
    assert "**failed** (no decision; never counted as a refusal)" in bucket_markdown(failed, grocery[0], 1)


def test_invalid_summary_counts_and_shows_examples():
    rows = pd.DataFrame([
        {"model": "m", "variant": "cot", "status": "ok", "decision": "invalid", "text": "I am   unsure.\nMaybe."},
        {"model": "m", "variant": "cot", "status": "ok", "decision": "no", "text": "No."},
        {"model": "m", "variant": "cot", "status": "failed", "decision": None, "text": None},
        {"model": "m", "variant": "baseline", "status": "ok", "decision": "yes", "text": "Yes"},
    ])
    table = invalid_summary(rows).set_index("variant")
    assert table.loc["cot", ["answers", "invalid"]].tolist() == [2, 1]
    assert table.loc["cot", "invalid_share"] == 0.5 and table.loc["cot", "examples"] == "I am unsure. Maybe."
    assert table.loc["baseline", "invalid"] == 0 and table.loc["baseline", "examples"] == ""


def test_example_config_samples_one_level_of_the_same_run():
    config = experiment.RunConfig(variants=("baseline", "cot"), mode="exact", samples=5, reasoning_tokens=32)
    examples = example_config(config, 6, 2)
    assert (examples.mode, examples.samples, examples.levels) == ("sample", 2, (6,))
    assert examples.variants == config.variants and examples.reasoning_tokens == 32


def test_beside_paper_keeps_sources_apart():
    summary = pd.DataFrame([{"model": "local/x", "variant": "cot", "buckets": 20, "significant": 7,
                             "mean_abs_diff": 0.31}])
    table = beside_paper(summary, "human (illustrative data)", ["baseline", "cot"])
    ours = table[table["source"] == "this workspace vs human (illustrative data)"]
    assert ours[["model", "buckets", "significant"]].values.tolist() == [["local/x", 20, 7]]
    paper = table[table["source"] == "paper-reported (the paper's participants)"].set_index(["model", "variant"])
    assert paper.loc[("gpt-4o-mini", "cot"), ["buckets", "significant"]].tolist() == [60, 51]
    assert paper.loc[("gpt-4o-mini", "cot"), "mean_abs_diff"] == pytest.approx(0.406)
    assert paper.loc[("gpt-4o-mini", "baseline"), "mean_abs_diff"] == pytest.approx(0.453)
    # 4o's mean gap comes from a 30-bucket comparison; the note says so.
    assert "(mean_abs_diff, 30 buckets)" in paper.loc[("gpt-4o", "baseline"), "note"]
    assert set(table["variant"]) == {"baseline", "cot"}
    frameworks = beside_paper(summary.assign(variant="virtue"), "h", ["virtue"])
    assert frameworks.iloc[-1][["model", "significant", "buckets"]].tolist() == ["gpt-4o", 59, 60]
