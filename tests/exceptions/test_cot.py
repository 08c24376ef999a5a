"""Chain of thought over the OpenAI protocol: three real requests per chain, each
carrying the conversation so far, every turn cached, failures never refusals."""

import pandas as pd
import pytest

from helpers.exceptions import experiment
from helpers.exceptions import scenarios
from helpers.llm.engine import Limits
from helpers.exceptions.prompting import build_messages


def cot_args(server, *extra):
    # Only the chosen --level (no control): these tests count one chain's requests.
    return ("run", "--model", "openai/gpt-4o-mini", "--base-url", server.base_url,
            "--scenario", "grocery_prices", "--variant", "cot", "--no-control", *extra)


@pytest.fixture
def grocery(repo):
    return scenarios.select(scenarios.load_scenarios(repo / "scenarios.toml"), ["grocery_prices"])


def test_three_requests_carry_the_growing_conversation(fake_openai, run_cli, tmp_path, grocery):
    out_file = tmp_path / "b.csv"
    code, out, err = run_cli(*cot_args(fake_openai, "--mode", "sample", "--samples", "1", "--level", "6",
                                       "--temperature", "0.5", "--reasoning-tokens", "300",
                                       "--max-tokens", "20", "--out", str(out_file)))
    assert code == 0, err
    requests = [r["body"] for r in fake_openai.completions()]
    assert len(requests) == 3
    # The server answers "Yes. <reason>" at $10.01; each answer comes back in the next request.
    first, second, third = (r["messages"] for r in requests)
    assert first == build_messages(grocery[0], 6, "cot")
    assert second == build_messages(grocery[0], 6, "cot", [second[1]["content"]])
    assert third == build_messages(grocery[0], 6, "cot", [second[1]["content"], third[3]["content"]])
    assert second[1]["content"].startswith("Yes. ") and third[3]["content"].startswith("Yes. ")
    assert [r["max_tokens"] for r in requests] == [300, 300, 20]
    assert {r["temperature"] for r in requests} == {0.5}
    table = pd.read_csv(out_file)
    assert table.loc[0, "variant"] == "cot" and table.loc[0, "refusal_rate"] == 0.0
    assert out.strip().splitlines()[-1] == "calls: 3 made, 0 cached, 0 failed"
    code, out, _ = run_cli(*cot_args(fake_openai, "--mode", "sample", "--samples", "1", "--level", "6",
                                     "--temperature", "0.5", "--reasoning-tokens", "300", "--max-tokens", "20"))
    assert len(fake_openai.completions()) == 3, "a rerun must make no calls"
    assert out.strip().splitlines()[-1] == "calls: 0 made, 3 cached, 0 failed"


def test_all_turns_are_stored_and_the_decision_comes_from_the_last(fake_openai, grocery, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    config = experiment.RunConfig(models=("openai/gpt-4o-mini",), variants=("cot",), mode="sample",
                                  samples=2, levels=(1,), control=False)
    rows = experiment.run(config, grocery).responses
    assert list(rows["status"]) == ["ok", "ok"] and list(rows["decision"]) == ["no", "no"]
    assert all(len(r) == 2 and all(t.startswith("No. ") for t in r) for r in rows["reasoning"])
    assert rows["text"].str.startswith("No").all()
    # Tokens and cost add up all three turns of a chain.
    assert (rows["completion_tokens"] > 3 * 3).all() and (rows["cost_usd"] > 0).all()


def test_samples_share_the_first_request_then_each_chain_goes_its_own_way(fake_openai, run_cli):
    code, out, _ = run_cli(*cot_args(fake_openai, "--mode", "sample", "--samples", "3", "--level", "1"))
    requests = [r["body"] for r in fake_openai.completions()]
    # Turn 1 is one prompt for all three chains: one request with n=3. The server words
    # its three answers differently, so turns 2 and 3 are three conversations each.
    assert [r.get("n", 1) for r in requests] == [3, 1, 1, 1, 1, 1, 1]
    assert len({r["messages"][1]["content"] for r in requests[1:4]}) == 3
    assert out.strip().splitlines()[-1] == "calls: 9 made, 0 cached, 0 failed"


def test_exact_mode_reads_the_final_turns_probability_after_sampled_reasoning(fake_openai, run_cli, tmp_path):
    out_file = tmp_path / "b.csv"
    code, out, _ = run_cli(*cot_args(fake_openai, "--mode", "exact", "--samples", "2", "--level", "1",
                                     "--level", "6", "--out", str(out_file)))
    assert code == 0
    requests = [r["body"] for r in fake_openai.completions()]
    final = [r for r in requests if r.get("logprobs")]
    assert len(final) == 4 and all(r["max_tokens"] == 1 and len(r["messages"]) == 5 for r in final)
    assert all(not r.get("logprobs") and r["max_tokens"] == 256 for r in requests if r not in final)
    table = pd.read_csv(out_file).set_index("level")
    # Two reasoning samples back each bucket; the rate is the mean of their P(no)/(P(yes)+P(no)).
    assert list(table["n"]) == [2, 2] and set(table["measure"]) == {"exact"}
    assert table.loc[1, "refusal_rate"] == pytest.approx(0.8 / 0.95)
    assert table.loc[6, "refusal_rate"] == pytest.approx(0.15 / 0.95)


def test_reasoning_is_shared_between_modes(fake_openai, run_cli):
    run_cli(*cot_args(fake_openai, "--mode", "sample", "--samples", "1", "--level", "6"))
    code, out, _ = run_cli(*cot_args(fake_openai, "--mode", "exact", "--samples", "1", "--level", "6"))
    # Same conversation, same sample: only the final turn is a new kind of call.
    assert out.strip().splitlines()[-1] == "calls: 1 made, 2 cached, 0 failed"


def test_a_failed_turn_fails_the_chain_and_the_next_run_resumes_there(fake_openai, grocery, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    config = experiment.RunConfig(models=("openai/gpt-4o-mini",), variants=("cot",), mode="sample",
                                  samples=1, levels=(6,), control=False)

    def break_turn_two(state):
        # Called by the engine after turn 1 is stored: the next request (turn 2) fails.
        if state.made == 1 and not fake_openai.fail_next and len(fake_openai.completions()) == 1:
            fake_openai.fail_next = [500, 500]

    result = experiment.run(config, grocery, limits=Limits(max_retries=1, backoff_base=0.01),
                            progress=break_turn_two)
    row = result.responses.iloc[0]
    assert row["status"] == "failed" and pd.isna(row["decision"])
    assert len(row["reasoning"]) == 1, "the answered turn is kept"
    assert (result.stats.made, result.stats.failed) == (1, 1)
    from helpers.exceptions import stats

    bucket = stats.refusal_rates(result.responses).iloc[0]
    assert bucket["failed"] == 1 and bucket["n"] == 0 and pd.isna(bucket["refusal_rate"])
    again = experiment.run(config, grocery)
    assert (again.stats.made, again.stats.cached, again.stats.failed) == (2, 1, 0)
    assert again.responses.iloc[0]["decision"] == "yes"


def test_cache_only_read_reports_missing_turns_and_spends_nothing(fake_openai, grocery, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    config = experiment.RunConfig(models=("openai/gpt-4o-mini",), variants=("baseline", "cot"),
                                  mode="sample", samples=1, levels=(1, 6), control=False)
    dry = experiment.run(config, grocery, make_calls=False)
    assert fake_openai.completions() == []
    assert dry.stats.missing == 2 + 2 * 3 and set(dry.responses["status"]) == {"not run"}
    guess = experiment.estimate(config, grocery)
    assert (guess.answers, guess.cached, guess.calls) == (8, 0, 8)
    # A later turn's prompt counts the reasoning still to come (reasoning_tokens each).
    assert guess.prompt_tokens > 2 * 256 + 256 * 2
    experiment.run(config, grocery)
    assert experiment.estimate(config, grocery).cached == 8
    wet = experiment.run(config, grocery, make_calls=False)
    assert wet.stats.missing == 0 and list(wet.responses["variant"]) == ["baseline"] * 2 + ["cot"] * 2


def test_several_variants_in_one_cli_run(fake_openai, run_cli, tmp_path):
    out_file = tmp_path / "b.csv"
    code, out, err = run_cli("run", "--model", "openai/gpt-4o-mini", "--base-url", fake_openai.base_url,
                             "--scenario", "hospitality", "--variant", "consequentialist", "--variant", "cot",
                             "--mode", "sample", "--samples", "1", "--no-control", "--out", str(out_file))
    assert code == 0, err
    table = pd.read_csv(out_file)
    assert list(table["variant"]) == ["consequentialist"] * 6 + ["cot"] * 6
    assert (table["refusal_rate"] == 1.0).all()
    assert out.strip().splitlines()[-1] == "calls: 24 made, 0 cached, 0 failed"
    framed = [r for r in fake_openai.completions() if "consequentialist" in r["body"]["messages"][0]["content"]]
    assert len(framed) == 6


def test_batch_api_runs_one_batch_per_turn(fake_openai, run_cli):
    code, out, err = run_cli(*cot_args(fake_openai, "--mode", "sample", "--samples", "1", "--level", "6",
                                       "--batch", "--poll-seconds", "0.01"))
    assert code == 0, err
    assert len(fake_openai.batches) == 3
    assert out.strip().splitlines()[-1] == "calls: 3 made, 0 cached, 0 failed"
    assert "  0.000 " in out  # the level-6 chain decides yes


def test_exact_buckets_of_several_chains_have_the_se_of_their_mean():
    from helpers.exceptions import stats

    rows = pd.DataFrame([{"model": "m", "variant": "cot", "scenario": "s", "level": 1, "mode": "exact",
                          "status": "ok", "p_refusal": p, "yes_no_mass": 0.9, "prompt_tokens": 1,
                          "completion_tokens": 1, "cost_usd": 0.0} for p in (0.2, 0.6)])
    bucket = stats.refusal_rates(rows).iloc[0]
    assert bucket["refusal_rate"] == pytest.approx(0.4) and bucket["n"] == 2
    assert bucket["se"] == pytest.approx(0.2) and "2 sampled reasoning chains" in bucket["se_note"]
    single = stats.refusal_rates(rows.iloc[:1]).iloc[0]
    assert pd.isna(single["se"]) and single["se_note"].startswith("no SE")


def test_twin_scenarios_share_their_chain(fake_openai, run_cli, tmp_path):
    text = "".join(f'[[scenarios]]\nid = "{i}"\ntitle = "{i}"\nprompt = "Closed {{value}} ago. Do you open?"\n'
                   f'levels = ["5 minutes", "1 minute"]\n' for i in ("a", "b"))
    path = tmp_path / "twins.toml"
    path.write_text(text)
    code, out, _ = run_cli("run", "--model", "openai/m", "--base-url", fake_openai.base_url, "--scenarios",
                           str(path), "--variant", "cot", "--mode", "sample", "--samples", "1", "--level", "2")
    assert code == 0 and len(fake_openai.completions()) == 3
    assert out.strip().splitlines()[-1] == "calls: 3 made, 3 cached, 0 failed"
