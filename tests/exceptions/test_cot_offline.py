"""Every shipped variant end to end with the real offline model (SmolLM2-135M on
the CPU): one scenario, one level, short answers, then a rerun from the cache."""

import pandas as pd
import pytest

from helpers.exceptions import experiment
from helpers.exceptions import scenarios
from helpers.exceptions import stats
from helpers.exceptions.prompting import build_messages
from helpers.exceptions.transcripts import conversation

pytestmark = pytest.mark.slow

ALL = ("baseline", "consequentialist", "deontological", "virtue", "cot")


@pytest.fixture
def grocery(repo):
    return scenarios.select(scenarios.load_scenarios(repo / "scenarios.toml"), ["grocery_prices"])


def test_sample_mode_every_variant_then_a_free_rerun(grocery):
    config = experiment.RunConfig(variants=ALL, mode="sample", samples=1, levels=(6,),
                                  max_tokens=12, reasoning_tokens=12, control=False)
    first = experiment.run(config, grocery)
    # Four single-turn answers and one chain of three turns.
    assert (first.stats.made, first.stats.cached, first.stats.failed) == (7, 0, 0)
    rows = first.responses.set_index("variant")
    assert list(rows.index) == list(ALL) and rows["status"].eq("ok").all()
    assert set(rows["decision"]) <= {"yes", "no", "invalid"}
    assert rows["text"].str.len().gt(0).all()
    chain = rows.loc["cot"]
    assert len(chain["reasoning"]) == 2 and all(len(t) > 0 for t in chain["reasoning"])
    # The chain's prompts grew with its own answers: its tokens exceed a single turn's.
    assert chain["prompt_tokens"] > 2 * rows.loc["baseline", "prompt_tokens"]
    talk = conversation(first.responses.iloc[-1], grocery[0])
    assert [m["role"] for m in talk] == ["user", "assistant"] * 3
    assert talk[-2]["content"] == "Now give your final decision. Answer Yes or No."
    assert [talk[1]["content"], talk[3]["content"], talk[5]["content"]] == [*chain["reasoning"], chain["text"]]
    assert rows["reasoning"].drop("cot").isna().all()
    again = experiment.run(config, grocery)
    assert (again.stats.made, again.stats.cached) == (0, 7)
    pd.testing.assert_frame_equal(first.responses, again.responses)
    table = stats.refusal_rates(first.responses)
    assert list(table["variant"]) == list(ALL) and (table["n"] == 1).all()


def test_exact_mode_every_variant(grocery):
    config = experiment.RunConfig(variants=ALL, mode="exact", samples=2, levels=(1,), reasoning_tokens=8,
                                  control=False)
    result = experiment.run(config, grocery)
    # One forward pass per single-turn variant; two chains of two sampled turns and a final pass.
    assert (result.stats.made, result.stats.failed) == (4 + 2 * 3, 0)
    table = stats.refusal_rates(result.responses).set_index("variant")
    assert table["refusal_rate"].between(0, 1).all() and table["yes_no_mass"].gt(0).all()
    assert table.loc["cot", "n"] == 2 and (table.drop("cot")["n"] == 1).all()
    # The frameworks really change what the model sees, so its probabilities differ.
    assert table["refusal_rate"].nunique() == len(ALL)
    chains = result.responses[result.responses["variant"] == "cot"]
    assert chains["reasoning"].map(tuple).nunique() == 2, "each chain samples its own reasoning"
    assert build_messages(grocery[0], 1, "cot")[0]["content"] in conversation(chains.iloc[0], grocery[0])[0]["content"]
