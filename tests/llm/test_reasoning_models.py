"""Today's reasoning models through the CLI, against the fake OpenAI playing them
(helpers.testing.catalogue): bodies in the terms each model takes, reasoning
tokens kept and priced, exact mode refused before anything is sent, and a
server that rejects a parameter taught once, never paid twice."""

import pandas as pd
import pytest

from helpers.llm import capabilities, open_cache
from helpers.llm.capabilities import load_rules

LUNA = "openai/gpt-6-luna"


def run_args(server, model=LUNA, *extra):
    # Levels 1..6 of one scenario (no control): the counts below are of those six buckets.
    return ("run", "--model", model, "--base-url", server.base_url, "--scenario", "grocery_prices", "--no-control",
            *extra)


def answers(tmp_path, run_cli, server, *extra, model=LUNA):
    out = tmp_path / "answers.csv"
    code, stdout, err = run_cli(*run_args(server, model, *extra, "--responses", str(out)))
    return code, stdout, err, (pd.read_csv(out) if out.exists() else None)


def cached_answers():
    with open_cache() as cache:
        return [cache.get(k) for k in cache._cache.iterkeys() if not str(k).startswith("meta:")]


def test_sample_mode_stores_every_answer_with_reasoning_tokens_and_cost(fake_openai, run_cli, tmp_path):
    code, out, err, rows = answers(tmp_path, run_cli, fake_openai, "--mode", "sample", "--samples", "5")
    assert code == 0, err
    assert out.strip().splitlines()[-1] == "calls: 30 made, 0 cached, 0 failed"
    assert "completion (2880 of them reasoning)" in out  # 30 answers x 96
    assert fake_openai.stats["rejected"] == 0
    bodies = [r["body"] for r in fake_openai.completions()]
    # Reasoning counts against the limit, so the answer's 48 tokens get the budget on top.
    assert {b["max_completion_tokens"] for b in bodies} == {48 + 4096}
    assert not any("max_tokens" in b or "temperature" in b or "reasoning_effort" in b for b in bodies)
    stored = cached_answers()
    assert len(stored) == 30
    # The catalogue's gpt-6-luna reasons 96 tokens per answer at its default (medium) effort.
    assert {a["reasoning_tokens"] for a in stored} == {96.0}
    assert all(a["completion_tokens"] > 96 for a in stored)
    assert {a["response_model"] for a in stored} == {"gpt-6-luna-2026-09-30"}
    assert all(a["system_fingerprint"] for a in stored)
    # Priced from prices.toml ($0.10 in, $0.50 out per 1M), reasoning billed as output.
    price = load_price("gpt-6-luna")
    for a in stored:
        assert a["cost_usd"] == pytest.approx(price.cost(a["prompt_tokens"], a["completion_tokens"]))
    assert (rows["status"] == "ok").all() and len(rows) == 30


def load_price(model):
    from helpers.llm import prices

    return prices.price_for("openai", model, prices.load_prices())


def test_exact_mode_on_a_reasoning_model_is_one_line_before_any_request(fake_openai, run_cli):
    code, out, err = run_cli(*run_args(fake_openai, LUNA, "--mode", "exact"))
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert "returns no logprobs at reasoning effort 'medium'" in err
    assert "--mode sample" in err and "--reasoning-effort none" in err
    assert fake_openai.completions() == []


def test_exact_mode_with_effort_none_reads_logprobs(fake_openai, run_cli, tmp_path):
    out_file = tmp_path / "b.csv"
    code, out, err = run_cli(*run_args(fake_openai, LUNA, "--mode", "exact", "--reasoning-effort", "none",
                                       "--out", str(out_file)))
    assert code == 0, err
    body = fake_openai.completions()[0]["body"]
    assert body["reasoning_effort"] == "none" and body["max_completion_tokens"] == 1 and body["logprobs"] is True
    table = pd.read_csv(out_file).set_index("level")
    assert table.loc[6, "refusal_rate"] == pytest.approx(0.15 / 0.95)


def test_a_model_that_never_returns_logprobs_is_told_to_sample(fake_openai, run_cli):
    code, _, err = run_cli(*run_args(fake_openai, "openai/gpt-6.2-sol", "--mode", "exact"))
    assert code == 2 and "use --mode sample" in err and "--reasoning-effort none" not in err
    assert fake_openai.completions() == []


def test_a_temperature_the_model_cannot_take_is_refused_before_sending(fake_openai, run_cli):
    code, _, err = run_cli(*run_args(fake_openai, LUNA, "--mode", "sample", "--temperature", "0.7"))
    assert code == 2 and "only its default temperature (1)" in err and "--reasoning-effort none" in err
    code, _, err = run_cli(*run_args(fake_openai, LUNA, "--mode", "sample", "--temperature", "0.7",
                                     "--reasoning-effort", "none", "--samples", "1"))
    assert code == 0, err
    assert {r["body"]["temperature"] for r in fake_openai.completions()} == {0.7}
    # Without reasoning there is no budget on top of the answer's limit.
    assert {r["body"]["max_completion_tokens"] for r in fake_openai.completions()} == {48}


@pytest.mark.parametrize("argv, message", [
    (("--model", "openai/gpt-6.2-sol", "--reasoning-effort", "none"), "takes reasoning efforts low, medium"),
    (("--model", "openai/gpt-4o-mini", "--reasoning-effort", "low"), "takes no reasoning effort"),
    (("--model", "local/smollm2-135m-instruct", "--reasoning-effort", "low"), "applies to openai/ models"),
    (("--reasoning-effort", "extreme"), "--reasoning-effort"),
    (("--capability", "logprobs"), "write KEY=VALUE"),
    (("--capability", "colour=blue"), "unknown key `colour`"),
    (("--capability", "token_limit=max_length"), "use one of max_tokens, max_completion_tokens"),
])
def test_bad_reasoning_arguments_are_one_line(fake_openai, run_cli, argv, message):
    code, _, err = run_cli("run", "--base-url", fake_openai.base_url, "--mode", "sample", "--samples", "1",
                           "--scenario", "grocery_prices", *argv)
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert fake_openai.completions() == []


def test_effort_is_sent_and_keyed_and_reasoning_follows_it(fake_openai, run_cli, tmp_path):
    run_cli(*run_args(fake_openai, LUNA, "--mode", "sample", "--samples", "1", "--reasoning-effort", "low"))
    code, out, _ = run_cli(*run_args(fake_openai, LUNA, "--mode", "sample", "--samples", "1",
                                     "--reasoning-effort", "high"))
    assert code == 0 and out.strip().splitlines()[-1] == "calls: 6 made, 0 cached, 0 failed"
    efforts = [r["body"]["reasoning_effort"] for r in fake_openai.completions()]
    assert efforts == ["low"] * 6 + ["high"] * 6
    assert sorted({a["reasoning_tokens"] for a in cached_answers()}) == [24.0, 384.0]


def test_a_budget_too_small_for_the_reasoning_is_named(fake_openai, run_cli):
    code, out, _ = run_cli(*run_args(fake_openai, LUNA, "--mode", "sample", "--samples", "1",
                                     "--reasoning-budget", "10"))
    assert code == 0
    assert "6 answers of openai/gpt-6-luna came back empty" in out and "raise --reasoning-budget" in out


def test_estimate_counts_reasoning_assumed_then_measured(fake_openai, run_cli):
    args = run_args(fake_openai, LUNA, "--mode", "sample", "--samples", "2")
    code, out, _ = run_cli("estimate", *args[1:])
    assert code == 0
    assert "reasoning tokens   12288 of those expected; at most 49152" in out  # 12 answers x 1024 assumed, x 4096
    assert "reasoning assumed at 1024 tokens per answer (effort medium" in out
    assert fake_openai.completions() == []
    run_cli(*args)
    code, out, _ = run_cli("estimate", *args[1:], "--samples", "4")
    # Now measured on the 12 cached answers: 96 reasoning tokens each, for the 12 still missing.
    assert "reasoning tokens   1152 of those expected" in out and "reasoning assumed" not in out


def test_max_cost_bound_includes_the_reasoning_budget(fake_openai, run_cli):
    # 60 answers may each spend 48 + 4096 output tokens at $0.50/1M: about $0.12 at most.
    code, _, err = run_cli(*run_args(fake_openai, LUNA, "--mode", "sample", "--samples", "10",
                                     "--max-cost", "0.05"))
    assert code == 2 and "may cost up to $0.12" in err
    code, _, err = run_cli(*run_args(fake_openai, LUNA, "--mode", "sample", "--samples", "10",
                                     "--max-cost", "0.05", "--reasoning-budget", "256"))
    assert code == 0, err


def test_batch_sends_the_same_adapted_requests(fake_openai, run_cli):
    code, out, err = run_cli(*run_args(fake_openai, LUNA, "--mode", "sample", "--samples", "2", "--batch",
                                       "--poll-seconds", "0"))
    assert code == 0, err
    lines = [line for content in fake_openai._contents.values() for line in content.decode().splitlines()
             if '"method"' in line]
    import json

    bodies = [json.loads(line)["body"] for line in lines]
    assert len(bodies) == 12 and {b["max_completion_tokens"] for b in bodies} == {48 + 4096}
    assert not any("max_tokens" in b or "temperature" in b for b in bodies)
    assert {a["reasoning_tokens"] for a in cached_answers()} == {96.0}


# -- a model models.toml does not know: taught by the server, once -----------------------

NOVA = {"reasoning": True, "efforts": ["none", "low", "medium"], "default_effort": "low",
        "token_param": "max_completion_tokens", "temperature": "not-when-reasoning",
        "logprobs": "effort-none-only", "n": False, "reasoning_tokens": {"none": 0, "low": 4, "medium": 16}}


def test_an_unknown_model_is_taught_by_rejections_once_and_never_paid_twice(fake_openai, run_cli, tmp_path):
    fake_openai.catalogue = {**fake_openai.catalogue, "nova-1": NOVA}
    code, out, err, rows = answers(tmp_path, run_cli, fake_openai, "--mode", "sample", "--samples", "3",
                                   model="openai/nova-1")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert "calls: 18 made, 0 cached, 0 failed" in lines
    notes = [line for line in lines if line.startswith("note: ")]
    assert any("does not take `max_tokens`" in n and "sending `max_completion_tokens` instead" in n for n in notes)
    assert any("does not take `temperature`" in n and "default (1)" in n for n in notes)
    assert any("does not take `n`" in n and "one request per answer" in n for n in notes)
    # Each lesson cost one rejected (unbilled) request per request in flight, and no answer was lost.
    rejected = fake_openai.stats["rejected"]
    assert 3 <= rejected <= 3 * 6
    assert (rows["status"] == "ok").all() and len(rows) == 18
    sent = [r["body"] for r in fake_openai.completions()][rejected:]
    # The last requests are in the terms the server taught.
    assert all("max_tokens" not in b and "temperature" not in b and "n" not in b for b in sent[-18:])
    # Remembered: a new run sends nothing the server rejects, and pays for nothing twice.
    before = len(fake_openai.completions())
    code, out, _ = run_cli(*run_args(fake_openai, "openai/nova-1", "--mode", "sample", "--samples", "3"))
    assert code == 0 and "calls: 0 made, 18 cached, 0 failed" in out
    assert len(fake_openai.completions()) == before and fake_openai.stats["rejected"] == rejected
    code, out, _ = run_cli(*run_args(fake_openai, "openai/nova-1", "--mode", "sample", "--samples", "4"))
    assert "calls: 6 made, 18 cached, 0 failed" in out and fake_openai.stats["rejected"] == rejected


def test_a_lesson_that_makes_exact_mode_impossible_stops_with_one_line(fake_openai, run_cli):
    fake_openai.catalogue = {**fake_openai.catalogue, "nova-1": {**NOVA, "logprobs": "never"}}
    code, _, err = run_cli(*run_args(fake_openai, "openai/nova-1", "--mode", "exact",
                                     "--capability", "token_limit=max_completion_tokens"))
    assert code == 2 and "returns no logprobs" in err and "use --mode sample" in err
    rejected = fake_openai.stats["rejected"]
    assert rejected >= 1
    # The second time it is known before anything is sent.
    code, _, err = run_cli(*run_args(fake_openai, "openai/nova-1", "--mode", "exact",
                                     "--capability", "token_limit=max_completion_tokens"))
    assert code == 2 and fake_openai.stats["rejected"] == rejected


def test_a_rejection_that_teaches_nothing_is_one_line(fake_openai, run_cli):
    fake_openai.catalogue = {**fake_openai.catalogue, "nova-1": NOVA}
    # The user insists on max_tokens: the server's lesson goes against the user's word.
    code, _, err = run_cli(*run_args(fake_openai, "openai/nova-1", "--mode", "sample", "--samples", "1",
                                     "--capability", "token_limit=max_tokens"))
    assert code == 2 and "rejected the request (400)" in err and "max_tokens" in err


def test_rules_file_is_checked_strictly(tmp_path):
    bad = tmp_path / "models.toml"
    for text, message in [('[models."x*"]\ntoken_limit = "max_length"', "use one of max_tokens"),
                          ('[models."x*"]\ncolour = 1', "unknown key `colour`"),
                          ('[models."x*"]\nshutdown = "soon"', "is not a date"),
                          ('[models."x*"]\nefforts = ["loud"]', "use values from none"),
                          ('[model."x"]\n', "unknown table `model`"),
                          ('[models."x*"]\nefforts = ["low"]\ndefault_effort = "high"', "not among its efforts")]:
        bad.write_text(text)
        with pytest.raises(capabilities.ConfigError, match=message):
            load_rules(bad)


def test_the_shipped_rules_follow_the_longest_pattern():
    rules = load_rules()
    assert rules.for_model("gpt-4o-mini-2024-07-18").shutdown == "2027-01-14"
    assert rules.for_model("gpt-4.1-nano").shutdown == "2026-10-23"
    assert rules.for_model("gpt-5.1").default_effort == "none"
    assert rules.for_model("gpt-5-mini").logprobs == "no"
    assert "none" not in rules.for_model("gpt-6.2-sol").efforts
    assert rules.for_model("ft:gpt-4o-mini-2024-07-18:org:x:id").rule == "gpt-4o*"
    assert rules.for_model("my-llama").rule == "defaults" and rules.fine_tuning_ends == "2027-01-06"
