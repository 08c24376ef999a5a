"""The fake OpenAI's model catalogue, driven through the real openai SDK over real
HTTP: today's reasoning models refuse old parameters with OpenAI's errors, bill
reasoning tokens, and shut down on their date; other models are unchanged."""

import datetime
import json
import re
import subprocess
import sys

import openai
import pytest

from helpers.testing.catalogue import DEFAULT_CATALOGUE, REASONING_TOKENS
from helpers.testing.server import FakeOpenAI, count_tokens

MESSAGES = [{"role": "user", "content": "Flour costs $10.01. Buy? Answer Yes or No."}]
BEFORE_O3_SHUTDOWN = datetime.date(2026, 6, 1)
MAX_TOKENS = ("Unsupported parameter: 'max_tokens' is not supported with this model. "
              "Use 'max_completion_tokens' instead.")


def client(server):
    return openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)


def refusal(server, **kwargs):
    """(status, error body) of a request the server must refuse."""
    with pytest.raises(openai.APIStatusError) as caught:
        client(server).chat.completions.create(messages=MESSAGES, **kwargs)
    return caught.value.status_code, caught.value.body


def unsupported(param):
    return f"Unsupported parameter: '{param}' is not supported with this model."


@pytest.mark.parametrize("request_, param, code, message", [
    ({"model": "gpt-6-luna", "max_tokens": 5}, "max_tokens", "unsupported_parameter", MAX_TOKENS),
    ({"model": "gpt-6.1-terra", "max_tokens": 5}, "max_tokens", "unsupported_parameter", MAX_TOKENS),
    ({"model": "gpt-6-luna", "temperature": 0}, "temperature", None, unsupported("temperature")),
    ({"model": "gpt-6-luna", "reasoning_effort": "low", "top_p": 0.5}, "top_p", None,
     unsupported("top_p")),
    ({"model": "gpt-6-luna", "logprobs": True}, "logprobs", None, unsupported("logprobs")),
    ({"model": "gpt-6-luna", "top_logprobs": 3}, "top_logprobs", None,
     unsupported("top_logprobs")),
    ({"model": "gpt-6-luna", "reasoning_effort": "minimal"}, "reasoning_effort", "unsupported_value",
     "Unsupported value: 'minimal' is not supported with the 'gpt-6-luna' model. "
     "Supported values are: 'none', 'low', 'medium', 'high', 'xhigh', and 'max'."),
    ({"model": "gpt-6.2-sol", "reasoning_effort": "none", "logprobs": True}, "reasoning_effort",
     "unsupported_value", "Unsupported value: 'none' is not supported with the 'gpt-6.2-sol' model. "
                          "Supported values are: 'low', 'medium', 'high', 'xhigh', and 'max'."),
    ({"model": "gpt-6.2-sol", "reasoning_effort": "low", "temperature": 1}, "temperature",
     None, unsupported("temperature")),
    ({"model": "gpt-4o-mini", "reasoning_effort": "low"}, "reasoning_effort", "unsupported_parameter",
     unsupported("reasoning_effort")),
    ({"model": "o3-mini", "temperature": 0}, "temperature", "unsupported_value",
     "Unsupported value: 'temperature' does not support 0 with this model. Only the default (1) value is supported."),
    ({"model": "o3-mini", "temperature": 0.7}, "temperature", "unsupported_value",
     "Unsupported value: 'temperature' does not support 0.7 with this model. "
     "Only the default (1) value is supported."),
    ({"model": "o3-mini", "temperature": 1, "logprobs": True}, "logprobs", "unsupported_parameter",
     unsupported("logprobs")),
    ({"model": "o3-mini", "reasoning_effort": "xhigh"}, "reasoning_effort", "unsupported_value",
     "Unsupported value: 'xhigh' is not supported with the 'o3-mini' model. "
     "Supported values are: 'low', 'medium', and 'high'."),
    # One error per request, the first in a fixed order: the token cap, then the effort, ...
    ({"model": "gpt-6-luna", "max_tokens": 5, "reasoning_effort": "minimal", "temperature": 0, "logprobs": True},
     "max_tokens", "unsupported_parameter", MAX_TOKENS),
    ({"model": "gpt-6-luna", "logprobs": True, "temperature": 0}, "temperature", None,
     unsupported("temperature")),
    ({"model": "gpt-6-luna", "top_logprobs": 2, "logprobs": True}, "logprobs", None,
     unsupported("logprobs")),
])
def test_a_refused_parameter_gets_openais_error(request_, param, code, message):
    with FakeOpenAI(today=BEFORE_O3_SHUTDOWN) as server:
        status, body = refusal(server, **request_)
        assert status == 400
        assert body == {"message": message, "type": "invalid_request_error", "param": param, "code": code}
        assert server.stats["rejected"] == 1 and len(server.completions()) == 1
        assert server.stats["completions"] == server.stats["completion_tokens"] == 0
        assert server.stats["prompt_tokens"] == 0


def test_effort_none_takes_logprobs_and_temperature_and_reasons_not_at_all():
    with FakeOpenAI() as server:
        reply = client(server).chat.completions.create(
            model="gpt-6-luna", messages=MESSAGES, reasoning_effort="none", temperature=0, logprobs=True,
            top_logprobs=2, max_completion_tokens=1)
        choice = reply.choices[0]
        assert choice.message.content == "Yes" and choice.finish_reason == "stop"
        assert [t.token for t in choice.logprobs.content[0].top_logprobs] == ["Yes", "No"]
        assert reply.usage.completion_tokens == 1
        assert reply.usage.completion_tokens_details.reasoning_tokens == 0
        assert server.stats["rejected"] == 0


def test_reasoning_tokens_count_inside_completion_tokens():
    with FakeOpenAI() as server:
        c = client(server)
        reply = c.chat.completions.create(model="gpt-6-luna", messages=MESSAGES)  # default effort: medium
        visible = count_tokens(reply.choices[0].message.content)
        assert reply.choices[0].message.content.startswith("Yes.") and visible > 1
        assert reply.usage.completion_tokens_details.reasoning_tokens == 96
        assert reply.usage.completion_tokens == visible + 96
        assert reply.usage.total_tokens == reply.usage.prompt_tokens + visible + 96
        assert reply.usage.prompt_tokens_details.cached_tokens == 0
        assert reply.model == "gpt-6-luna-2026-09-30"

        two = c.chat.completions.create(model="gpt-6.1-terra", messages=MESSAGES, reasoning_effort="high", n=2)
        shown = sum(count_tokens(ch.message.content) for ch in two.choices)
        assert two.usage.completion_tokens_details.reasoning_tokens == 2 * 384
        assert two.usage.completion_tokens == shown + 2 * 384
        assert two.model == "gpt-6.1-terra", "no snapshot in the entry: the id asked for"
        assert two.system_fingerprint.startswith("fp_") and two.system_fingerprint != reply.system_fingerprint
        again = c.chat.completions.create(model="gpt-6-luna", messages=MESSAGES, reasoning_effort="max")
        assert again.system_fingerprint == reply.system_fingerprint
        assert again.usage.completion_tokens_details.reasoning_tokens == REASONING_TOKENS["max"]
        assert server.stats["completion_tokens"] == (reply.usage.completion_tokens + two.usage.completion_tokens
                                                     + again.usage.completion_tokens)
        assert server.stats["completions"] == 4


@pytest.mark.parametrize("cap, content, finish, completion, reasoning", [
    (50, "", "length", 50, 50),  # the cap runs out while reasoning
    (97, "", "length", 97, 96),  # reasoning fits, the answer does not
    (500, "Yes.", "stop", None, 96),  # room for both
])
def test_a_small_max_completion_tokens_cuts_the_answer_off(cap, content, finish, completion, reasoning):
    with FakeOpenAI() as server:
        reply = client(server).chat.completions.create(model="gpt-6-luna", messages=MESSAGES,
                                                       max_completion_tokens=cap)
        choice = reply.choices[0]
        assert choice.message.content.startswith(content) and choice.finish_reason == finish
        if not content:
            assert choice.message.content == ""
        expected = completion if completion is not None else 96 + count_tokens(choice.message.content)
        assert reply.usage.completion_tokens == expected
        assert reply.usage.completion_tokens_details.reasoning_tokens == reasoning


def test_the_model_list_and_retrieve_carry_shutdown_dates():
    with FakeOpenAI() as server:
        c = client(server)
        f = c.files.create(file=("train.jsonl", b'{"messages": []}\n'), purpose="fine-tune")
        job = c.fine_tuning.jobs.create(training_file=f.id, model="gpt-4o-mini-2024-07-18", suffix="exc")
        while job.status != "succeeded":
            job = c.fine_tuning.jobs.retrieve(job.id)
        listed = {m.id: m.shutdown_date for m in c.models.list()}
        assert list(listed) == [*DEFAULT_CATALOGUE, job.fine_tuned_model]
        assert listed["gpt-4o-mini"] is None and listed["gpt-6-luna"] is None
        assert listed["gpt-4o-mini-2024-07-18"] == listed["gpt-4o-2024-08-06"] == "2027-01-14"
        assert listed["o3-mini"] == "2026-10-23"
        assert listed[job.fine_tuned_model] == "2027-01-14", "a fine-tune follows its base's schedule"

        one = c.models.retrieve("gpt-4o-2024-08-06")
        assert (one.id, one.object, one.shutdown_date) == ("gpt-4o-2024-08-06", "model", "2027-01-14")
        assert c.models.retrieve(job.fine_tuned_model).shutdown_date == "2027-01-14"
        assert c.models.retrieve("gpt-6.2-sol").shutdown_date is None
        with pytest.raises(openai.NotFoundError) as caught:
            c.models.retrieve("gpt-9-nova")
        assert caught.value.body == {"message": "The model `gpt-9-nova` does not exist or you do not have access "
                                                "to it.", "type": "invalid_request_error", "param": "model",
                                     "code": "model_not_found"}


def test_a_model_past_its_shutdown_date_answers_404():
    with FakeOpenAI(today=datetime.date(2027, 1, 14)) as server:
        c = client(server)
        assert c.chat.completions.create(model="gpt-4o-mini-2024-07-18", messages=MESSAGES).choices
        server.today = datetime.date(2027, 1, 15)
        status, body = refusal(server, model="gpt-4o-mini-2024-07-18", max_tokens=5)
        assert status == 404
        assert body == {"message": "The model `gpt-4o-mini-2024-07-18` has been deprecated, learn more here: "
                                   "https://platform.openai.com/docs/deprecations",
                        "type": "invalid_request_error", "param": None, "code": "model_not_found"}
        tuned = "ft:gpt-4o-2024-08-06:test-org:exc:000001"
        assert refusal(server, model=tuned)[0] == 404, "a fine-tune shuts down with its base"
        assert c.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=5).choices
        assert server.stats["rejected"] == 2 and server.stats["completions"] == 2


def test_o3_mini_is_gone_by_the_real_date():
    with FakeOpenAI() as server:  # today: the catalogue's day, after 2026-10-23
        assert server.today > datetime.date(2026, 10, 23)
        assert refusal(server, model="o3-mini")[1]["code"] == "model_not_found"


def test_a_model_outside_the_catalogue_is_served_as_before():
    with FakeOpenAI() as server:
        reply = client(server).chat.completions.create(
            model="my-llama", messages=MESSAGES, max_tokens=5, temperature=0, logprobs=True, top_logprobs=2,
            reasoning_effort="max", n=2)
        assert reply.model == "my-llama" and reply.system_fingerprint is None
        assert reply.usage.completion_tokens_details is None and reply.usage.prompt_tokens_details is None
        assert reply.usage.completion_tokens == sum(count_tokens(ch.message.content) for ch in reply.choices)
        assert all(ch.logprobs is not None and ch.finish_reason == "stop" for ch in reply.choices)
        assert "my-llama" not in [m.id for m in client(server).models.list()]
        assert server.stats["rejected"] == 0


def test_old_models_take_max_tokens_and_report_zero_reasoning():
    with FakeOpenAI() as server:
        reply = client(server).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, max_tokens=1,
                                                       temperature=0, logprobs=True, top_logprobs=20)
        assert reply.choices[0].message.content == "Yes" and reply.model == "gpt-4o-mini"
        assert reply.usage.completion_tokens == 1
        assert reply.usage.completion_tokens_details.reasoning_tokens == 0


def test_n_above_one_is_refused_by_a_model_that_takes_only_one():
    with FakeOpenAI(catalogue={"single": {"n": False}}) as server:
        status, body = refusal(server, model="single", n=3)
        assert (status, body["param"], body["code"]) == (400, "n", "unsupported_value")
        assert body["message"] == ("Unsupported value: 'n' does not support 3 with this model. "
                                   "Only the default (1) value is supported.")
        assert len(client(server).chat.completions.create(model="single", messages=MESSAGES, n=1).choices) == 1
        assert [m.id for m in client(server).models.list()] == ["single"]


def test_a_batch_line_for_a_reasoning_model_follows_the_same_rules():
    lines = [{"custom_id": "fits", "method": "POST", "url": "/v1/chat/completions",
              "body": {"model": "gpt-6-luna", "messages": MESSAGES, "max_completion_tokens": 500,
                       "reasoning_effort": "low"}},
             {"custom_id": "old-cap", "method": "POST", "url": "/v1/chat/completions",
              "body": {"model": "gpt-6-luna", "messages": MESSAGES, "max_tokens": 5}}]
    with FakeOpenAI() as server:
        c = client(server)
        f = c.files.create(file=("in.jsonl", "\n".join(json.dumps(x) for x in lines).encode()), purpose="batch")
        batch = c.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h")
        while batch.status != "completed":
            batch = c.batches.retrieve(batch.id)
        assert (batch.request_counts.completed, batch.request_counts.failed) == (1, 1)
        [ok] = [json.loads(x) for x in c.files.content(batch.output_file_id).text.splitlines()]
        usage = ok["response"]["body"]["usage"]
        assert ok["custom_id"] == "fits" and usage["completion_tokens_details"]["reasoning_tokens"] == 24
        [bad] = [json.loads(x) for x in c.files.content(batch.error_file_id).text.splitlines()]
        assert bad["custom_id"] == "old-cap" and bad["response"]["status_code"] == 400
        assert bad["error"] == bad["response"]["body"]["error"] == {
            "message": MAX_TOKENS, "type": "invalid_request_error", "param": "max_tokens",
            "code": "unsupported_parameter"}
        assert server.stats["rejected"] == 1 and server.stats["completions"] == 1


@pytest.mark.parametrize("entry, message", [
    ({"temprature": "any"}, "catalogue entry 'x': unknown field `temprature`"),
    ({"logprobs": "sometimes"}, "catalogue entry 'x': `logprobs` must be one of"),
    ({"efforts": ["low"], "default_effort": "high"}, "`default_effort` 'high' is not one of `efforts`"),
    ({"shutdown_date": "14/01/2027"}, "`shutdown_date` must be 'YYYY-MM-DD' or None, got '14/01/2027'"),
])
def test_a_mistaken_catalogue_entry_fails_where_it_is_set(entry, message):
    server = FakeOpenAI()
    try:
        with pytest.raises(ValueError, match=re.escape(message)):
            server.catalogue = {"x": entry}
        with pytest.raises(ValueError, match="unknown field"):
            FakeOpenAI(catalogue={"x": {"temprature": "any"}})
    finally:
        server.close()


def test_editing_one_servers_catalogue_leaves_the_default_alone():
    with FakeOpenAI() as server:
        server.catalogue["gpt-6-luna"]["efforts"].append("minimal")
        assert "minimal" not in DEFAULT_CATALOGUE["gpt-6-luna"]["efforts"]
        assert client(server).chat.completions.create(model="gpt-6-luna", messages=MESSAGES,
                                                      reasoning_effort="minimal").usage.completion_tokens_details \
            .reasoning_tokens == 8


def test_the_command_line_takes_today():
    proc = subprocess.Popen([sys.executable, "-m", "helpers.testing.server", "--port", "0", "--today", "2027-01-15"],
                            stdout=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().strip().removeprefix("serving on ")
        c = openai.OpenAI(base_url=url, api_key="k", max_retries=0)
        with pytest.raises(openai.NotFoundError, match="has been deprecated"):
            c.chat.completions.create(model="gpt-4o-2024-08-06", messages=MESSAGES)
        assert c.chat.completions.create(model="gpt-4o", messages=MESSAGES).choices
    finally:
        proc.terminate()
        proc.wait(timeout=5)
