"""Transfer: a fine-tuned model is evaluated for transfer only on scenarios it was
not trained on; gaps in-scenario vs transfer vs base; the permutation test per model."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers.exceptions import scenarios
from helpers.finetune import evaluation as sft_eval
from helpers.errors import UserError
from helpers.exceptions.prompting import build_messages
from helpers.finetune.evaluation import FineTuned

IDS = [f"s{i}" for i in range(10)]


@given(st.sets(st.sampled_from(IDS), min_size=1, max_size=9))
def test_the_transfer_split_never_contains_a_training_scenario(trained):
    unseen = sft_eval.unseen_scenarios(trained, IDS)
    assert not set(unseen) & trained
    assert set(unseen) | trained == set(IDS)
    assert unseen == [s for s in IDS if s not in trained]  # in the scenario file's order


def test_a_model_trained_on_everything_has_nothing_to_transfer_to():
    with pytest.raises(UserError, match="has no other scenario to transfer to"):
        sft_eval.unseen_scenarios(IDS, IDS)


def test_the_plan_covers_each_model():
    models = [FineTuned(f"local/m{i}", "explanations", (s,), True) for i, s in enumerate(IDS[:5])]
    plan = sft_eval.transfer_plan(models, IDS)
    for m in models:
        assert m.trained_on[0] not in plan[m.model] and len(plan[m.model]) == 9


def test_evaluation_requests_never_reach_a_model_with_its_own_scenario(fake_openai, repo):
    chosen = scenarios.select(scenarios.load_scenarios(repo / "scenarios.toml"),
                              ["grocery_prices", "hospitality", "customer_service"])
    models = [FineTuned("openai/ft:gpt-4o:org:a:1", "explanations", ("grocery_prices",), True),
              FineTuned("openai/ft:gpt-4o:org:b:2", "explanations", ("hospitality",), True)]
    result = sft_eval.evaluate(models, chosen, base_model="openai/gpt-4o", splits=("transfer",),
                               base_url=fake_openai.base_url)
    own = {m.model.removeprefix("openai/"): m.trained_on[0] for m in models}
    # Every level and the control (0): a model never sees its own scenario's control either.
    prompts = {s.id: {build_messages(s, lv)[0]["content"] for lv in range(0, 7)} for s in chosen}
    asked = {}
    for request in fake_openai.completions():
        body = request["body"]
        asked.setdefault(body["model"], set()).add(body["messages"][0]["content"])
    for model, scenario in own.items():
        assert asked[model] and not asked[model] & prompts[scenario]
    assert asked["gpt-4o"] == set().union(*prompts.values())  # the base model sees everything
    rates = result.rates
    transfer = rates[rates["split"] == "transfer"]
    assert len(transfer) == 2 * 14 and (transfer["scenario"] != transfer["trained_on"]).all()
    assert set(transfer["agent"]) == {"SFT explanations: Grocery prices (illustrative)",
                                      "SFT explanations: Hospitality (illustrative)"}
    assert len(rates[rates["split"] == "base"]) == 21


def test_in_scenario_split_is_the_training_scenario(fake_openai, repo):
    chosen = scenarios.select(scenarios.load_scenarios(repo / "scenarios.toml"), ["grocery_prices", "hospitality"])
    model = FineTuned("openai/ft:gpt-4o:org:a:1", "labels", ("hospitality",), False)
    rates = sft_eval.evaluate([model], chosen, base_model=None, splits=("in-scenario",),
                              base_url=fake_openai.base_url).rates
    assert set(rates["scenario"]) == {"hospitality"} and set(rates["split"]) == {"in-scenario"}
    assert "illustrative" not in rates["agent"].iloc[0]


def rate_rows(agent, split, kind, trained_on, table):
    return [{"agent": agent, "model": agent, "variant": "baseline", "split": split, "kind": kind,
             "trained_on": trained_on, "scenario": s, "level": lv, "n": 1, "refusal_rate": r}
            for (s, lv), r in table.items()]


def test_gaps_in_scenario_transfer_and_base_with_known_numbers():
    levels = range(1, 7)
    human_rate = {(s, lv): 1 - lv / 6 for s in ("a", "b", "c") for lv in levels}
    human = pd.DataFrame([{"scenario": s, "level": lv, "refusal_rate": r, "n": 50}
                          for (s, lv), r in human_rate.items()])
    rows = (
        rate_rows("ft-a", "in-scenario", "explanations", "a", {("a", lv): human_rate["a", lv] + 0.02 for lv in levels})
        # Off by 0.05 everywhere (less than a level's step, 1/6): only the true level order is this close.
        + rate_rows("ft-a", "transfer", "explanations", "a",
                    {(s, lv): human_rate[s, lv] + 0.05 for s in "bc" for lv in levels})
        + rate_rows("base", "base", "base", "", {(s, lv): 1.0 for s in "abc" for lv in levels})
    )
    table = sft_eval.gap_table(pd.DataFrame(rows), human)
    get = table.set_index(["agent", "split"])
    assert get.loc[("ft-a", "in-scenario"), "mean_abs_diff"] == pytest.approx(0.02)
    assert get.loc[("ft-a", "transfer"), "mean_abs_diff"] == pytest.approx(0.05)
    assert get.loc[("ft-a", "transfer"), "buckets"] == 12
    # The base model on the same 12 transfer buckets: mean of lv/6 over levels 1..6.
    assert get.loc[("ft-a", "transfer"), "base_mean_abs_diff"] == pytest.approx(np.mean([lv / 6 for lv in levels]))
    assert get.loc[("ft-a", "transfer"), "permutations"] == 720
    assert get.loc[("ft-a", "transfer"), "permutation_p"] == pytest.approx(1 / 720)
    assert np.isnan(get.loc[("ft-a", "in-scenario"), "permutation_p"])
    overall = sft_eval.overall_gaps(table).set_index("split")["mean_abs_diff"]
    assert overall["in-scenario"] == pytest.approx(0.02) and overall["transfer"] == pytest.approx(0.05)
    assert overall["base"] == pytest.approx(np.mean([lv / 6 for lv in levels]))


def test_a_model_that_only_refuses_less_fails_the_permutation_test():
    human = pd.DataFrame([{"scenario": s, "level": lv, "refusal_rate": 1 - lv / 6, "n": 50}
                          for s in "bc" for lv in range(1, 7)])
    flat = rate_rows("ft", "transfer", "explanations", "a", {(s, lv): 0.5 for s in "bc" for lv in range(1, 7)})
    row = sft_eval.gap_table(pd.DataFrame(flat), human).iloc[0]
    assert row["permutation_p"] == 1.0  # every ordering of a flat curve is as close


def test_figure_rates_name_agents():
    rows = pd.DataFrame(rate_rows("SFT labels: A", "in-scenario", "labels", "a", {("a", 1): 0.5})
                        + rate_rows("base", "base", "base", "", {("a", 1): 0.9}))
    shown = sft_eval.figure_rates(rows, ["in-scenario"])
    assert list(shown["model"]) == ["SFT labels: A"] and list(shown["variant"]) == ["baseline"]


def test_unknown_split():
    with pytest.raises(UserError, match="unknown split 'holdout'"):
        sft_eval.evaluate([], [], base_model=None, splits=("holdout",))


def test_level_drop_tells_a_flat_curve_from_a_falling_one():
    human = pd.DataFrame([{"scenario": "a", "level": lv, "refusal_rate": 1 - lv / 6, "n": 50} for lv in range(1, 7)])
    flat = rate_rows("flat", "in-scenario", "explanations", "a", {("a", lv): 0.4 for lv in range(1, 7)})
    falling = rate_rows("falling", "in-scenario", "explanations", "a", {("a", lv): 0.9 - lv / 10 for lv in range(1, 7)})
    table = sft_eval.level_drop(pd.DataFrame(flat + falling).assign(group=lambda t: t["agent"]), human)
    drops = table.set_index("group")
    assert drops.loc["flat", "model_drop"] == pytest.approx(0.0)
    assert drops.loc["falling", "model_drop"] == pytest.approx(0.5)
    assert drops.loc["falling", "human_drop"] == pytest.approx(5 / 6) and drops.loc["flat", "scenarios"] == 1
