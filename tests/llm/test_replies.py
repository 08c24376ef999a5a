"""Replies of every shape: a wrong one fails that call with a named reason (CallFailed),
fewer choices than asked are kept, and Retry-After is read in all its forms."""

import math
import time
from email.utils import formatdate

import pytest

from helpers.errors import UserError
from helpers.llm.backends import CallFailed
from helpers.llm.openai_backend import parse_completion, retry_after


def completion(*texts, usage=None):
    return {"choices": [{"index": i, "message": {"role": "assistant", "content": t}} for i, t in enumerate(texts)],
            "usage": usage if usage is not None else {"prompt_tokens": 10, "completion_tokens": 4 * len(texts)}}


@pytest.mark.parametrize("body, named", [
    ("oops", "the body is str"),
    (None, "the body is null"),
    ([1, 2], "the body is list"),
    ({"choices": "oops"}, "`choices` is str"),
    ({"choices": []}, "`choices` is empty"),
    ({"choices": [3]}, "an entry of `choices` is not an object"),
    (completion(42), "message.content is int"),
    (completion("Yes", usage={"prompt_tokens": "many", "completion_tokens": 1}), "usage.prompt_tokens is 'many'"),
    (completion("Yes", usage=[1]), "`usage` is list"),
])
def test_a_wrong_shape_is_a_named_failed_call(body, named):
    with pytest.raises(CallFailed) as caught:
        parse_completion("generate", body, 1, "http://x/v1")
    assert named in str(caught.value) and caught.value.kind == "malformed reply"


def test_fewer_choices_than_asked_are_kept_and_split_the_bill():
    results = parse_completion("generate", completion("Yes"), 3, "where")
    assert [r["text"] for r in results] == ["Yes"]
    assert results[0]["prompt_tokens"] == 10 and results[0]["completion_tokens"] == 4


def test_more_choices_than_asked_are_cut():
    results = parse_completion("generate", completion("a", "b", "c"), 2, "where")
    assert [r["text"] for r in results] == ["a", "b"] and results[0]["prompt_tokens"] == 5


def test_missing_usage_is_zero_not_a_failure():
    body = {"choices": [{"message": {"content": "No"}}]}
    assert parse_completion("generate", body, 1, "w") == [{
        "prompt_tokens": 0.0, "completion_tokens": 0.0, "reasoning_tokens": 0.0, "response_model": None,
        "system_fingerprint": None, "finish_reason": None, "text": "No"}]


def test_reasoning_tokens_model_and_fingerprint_are_kept_per_answer():
    body = {"model": "gpt-6-luna-2026-09-30", "system_fingerprint": "fp_1",
            "choices": [{"index": i, "message": {"content": "Yes."}, "finish_reason": "stop"} for i in range(2)],
            "usage": {"prompt_tokens": 10, "completion_tokens": 100, "completion_tokens_details": {"reasoning_tokens": 96}}}
    results = parse_completion("generate", body, 2, "w")
    assert [r["reasoning_tokens"] for r in results] == [48.0, 48.0]
    assert results[0]["completion_tokens"] == 50.0 and results[0]["finish_reason"] == "stop"
    assert results[1]["response_model"] == "gpt-6-luna-2026-09-30" and results[1]["system_fingerprint"] == "fp_1"
    body["usage"]["completion_tokens_details"]["reasoning_tokens"] = "many"
    with pytest.raises(CallFailed, match="reasoning_tokens"):
        parse_completion("generate", body, 2, "w")


def test_yes_no_reads_top_logprobs_and_rejects_bad_entries():
    choice = {"logprobs": {"content": [{"top_logprobs": [{"token": " Yes", "logprob": math.log(0.7)},
                                                         {"token": "no", "logprob": math.log(0.2)}]}]}}
    (result,) = parse_completion("yes_no", {"choices": [choice]}, 1, "w")
    assert result["p_yes"] == pytest.approx(0.7) and result["p_no"] == pytest.approx(0.2)
    choice["logprobs"]["content"][0]["top_logprobs"][0]["logprob"] = "high"
    with pytest.raises(CallFailed, match="top_logprobs entry"):
        parse_completion("yes_no", {"choices": [choice]}, 1, "w")
    with pytest.raises(UserError, match="no logprobs"):
        parse_completion("yes_no", completion("Yes"), 1, "w")


@pytest.mark.parametrize("headers, seconds", [
    ({"retry-after": "3"}, 3.0),
    ({"retry-after-ms": "250"}, 0.25),
    ({"retry-after": "3600"}, 3600.0),
    ({"retry-after": "inf"}, math.inf),
    ({"retry-after": "nan"}, None),
    ({"retry-after": "soon"}, None),
    ({"retry-after": "-5"}, 0.0),
    ({}, None),
])
def test_retry_after_forms(headers, seconds):
    assert retry_after(headers) == seconds


def test_retry_after_as_an_http_date():
    later = formatdate(time.time() + 120, usegmt=True)
    assert 100 < retry_after({"retry-after": later}) <= 121


def test_an_answer_ended_before_its_first_token_is_a_failed_call_not_a_missing_feature():
    choice = {"finish_reason": "stop", "logprobs": {"content": [], "refusal": None},
              "message": {"content": ""}}
    with pytest.raises(CallFailed, match="before its first token") as caught:
        parse_completion("yes_no", {"choices": [choice]}, 1, "w")
    assert caught.value.kind == "empty answer"
