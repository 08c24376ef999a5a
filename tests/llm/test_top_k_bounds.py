"""An endpoint's top-k logprobs leave words out: what bounds them is read from the
reply, stored with the answer, and turned into an interval end to end over HTTP
(the fake OpenAI lists a top 20 without "Yes"). Answers cached before the bound
was stored still read, and are not asked again."""

import math

import diskcache
import pandas as pd
import pytest

from helpers import paths
from helpers.exceptions import stats
from helpers.llm.openai_backend import parse_completion

# A first-token distribution whose top 20 leaves "Yes" out: No, then 19 other tokens
# of 0.004 each; "Yes" is 21st at 0.003.
WITHOUT_YES = [("No", 0.9)] + [(f"w{i}", 0.004) for i in range(19)] + [("Yes", 0.003)]


def reply(pairs):
    top = [{"token": t, "logprob": math.log(p)} for t, p in pairs]
    return {"choices": [{"logprobs": {"content": [{**top[0], "top_logprobs": top}]}}]}


def test_the_least_likely_listed_token_bounds_a_missing_word():
    (result,) = parse_completion("yes_no", reply(WITHOUT_YES[:20]), 1, "w")
    assert result["p_yes"] == 0.0 and result["p_no"] == pytest.approx(0.9)
    assert result["top_k"] == 20 and result["p_unlisted"] == pytest.approx(0.004)


def test_the_bound_never_exceeds_what_the_list_leaves():
    (result,) = parse_completion("yes_no", reply([("No", 0.97), ("I", 0.02)]), 1, "w")
    assert result["p_unlisted"] == pytest.approx(0.01)  # 1 - 0.99, below the 2nd token's 0.02


def test_a_list_that_rounds_to_more_than_one_still_bounds_a_missing_word():
    # A confident No and 19 near-zero tokens whose rounded probabilities sum past 1:
    # the k-th value still bounds the missing Yes, so the rate is never exactly 1.
    (result,) = parse_completion("yes_no", reply([("No", math.exp(-1e-7))] + [(f"w{i}", math.exp(-17)) for i in range(19)]),
                                 1, "w")
    assert result["p_unlisted"] == pytest.approx(math.exp(-17)) and result["p_unlisted"] > 0


def test_a_logprob_that_is_not_a_number_is_a_malformed_reply():
    from helpers.llm.backends import CallFailed

    body = reply([("No", 0.9)])
    body["choices"][0]["logprobs"]["content"][0]["top_logprobs"][0]["logprob"] = float("nan")
    with pytest.raises(CallFailed, match="top_logprobs entry"):
        parse_completion("yes_no", body, 1, "w")


def run_exact(run_cli, server, tmp_path, name):
    out, responses = tmp_path / f"{name}.csv", tmp_path / f"{name}-answers.csv"
    code, stdout, err = run_cli("run", "--model", "openai/gpt-4o-mini", "--base-url", server.base_url,
                                "--scenario", "grocery_prices", "--mode", "exact", "--no-control",
                                "--out", str(out), "--responses", str(responses))
    assert code == 0, err
    return stdout, pd.read_csv(out).set_index("level"), pd.read_csv(responses).set_index("level")


def test_a_yes_outside_the_top_20_is_an_interval_end_to_end(fake_openai, run_cli, tmp_path):
    fake_openai.first_tokens = {"No": WITHOUT_YES}  # levels 1-5; level 6 answers Yes, both words listed
    stdout, buckets, answers = run_exact(run_cli, fake_openai, tmp_path, "first")
    assert {r["body"]["top_logprobs"] for r in fake_openai.completions()} == {20}
    low = 0.9 / 0.904
    assert (answers.loc[1:5, "bound"] == "top-k").all()
    assert answers.loc[1, "p_refusal_low"] == pytest.approx(low) and answers.loc[1, "p_refusal_high"] == 1.0
    assert buckets.loc[1, "refusal_rate"] == pytest.approx((low + 1) / 2) and buckets.loc[1, "refusal_rate"] < 1
    assert (buckets.loc[1, "rate_low"], buckets.loc[1, "rate_high"]) == pytest.approx((low, 1.0))
    assert buckets.loc[1, "rate_top"] == 1.0 and buckets.loc[1, "bounded"] == 1
    # Level 6: Yes 0.8, No 0.15, both listed: a point, and its likelier answer is yes.
    assert answers.loc[6, "bound"] == "none" and buckets.loc[6, "rate_low"] == buckets.loc[6, "rate_high"]
    assert buckets.loc[6, "rate_top"] == 0.0
    assert "rate_top" in stdout and "5 answers left yes or no out" in stdout
    # Against 48 of 50 people, the bucket is tested at its interval's lower end, not as certainty.
    human = pd.DataFrame({"scenario": ["grocery_prices"], "level": [1], "yes": [2], "no": [48]})
    compared = stats.compare(buckets.reset_index(), human).iloc[0]
    assert compared["tested_rate"] == pytest.approx(low) and compared["p_exact"] > 0.01


def test_answers_cached_without_the_bound_are_read_not_asked_again(fake_openai, run_cli, tmp_path):
    fake_openai.first_tokens = {"No": WITHOUT_YES}
    run_exact(run_cli, fake_openai, tmp_path, "first")
    made = len(fake_openai.completions())
    # Make the cache look as an older checkout left it: answers without top_k and p_unlisted.
    with diskcache.Cache(str(paths.calls_cache_dir())) as raw:
        keys = [k for k in raw.iterkeys() if not str(k).startswith("meta:")]
        assert len(keys) == 6 and all({"p_unlisted", "top_k"} <= set(raw[k]) for k in keys)
        for key in keys:
            raw[key] = {k: v for k, v in raw[key].items() if k not in ("p_unlisted", "top_k")}
    stdout, buckets, answers = run_exact(run_cli, fake_openai, tmp_path, "again")
    assert len(fake_openai.completions()) == made, "nothing paid for is asked again"
    assert stdout.strip().splitlines()[-1] == "calls: 0 made, 6 cached, 0 failed"
    # Without the k-th value only 1 - P(no) bounds the missing Yes: a wider interval, said so.
    assert (answers.loc[1:5, "bound"] == "no k-th value").all()
    assert (answers.loc[1, "p_refusal_low"], answers.loc[1, "p_refusal_high"]) == pytest.approx((0.9, 1.0))
    assert buckets.loc[1, "refusal_rate"] == pytest.approx(0.95) and buckets.loc[6, "bounded"] == 0
