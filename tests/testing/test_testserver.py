"""helpers.testing.server, driven through the real openai SDK over real HTTP."""

import json
import subprocess
import sys
import urllib.request

import openai
import pytest

from helpers.testing.server import MODERATION_ERROR, FakeOpenAI, count_tokens

MESSAGES = [{"role": "user", "content": "Flour costs $10.01. Buy? Answer Yes or No."}]


def client(server, **kwargs):
    return openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0, **kwargs)


def stats(server):
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/stats") as response:
        return json.load(response)


def test_chat_n_choices_share_the_decision_and_usage_follows_the_rule():
    with FakeOpenAI() as server:
        reply = client(server).chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, n=3)
        texts = [c.message.content for c in reply.choices]
        assert len(texts) == 3 and all(t.startswith("Yes.") for t in texts)
        assert len(set(texts)) == 3, "wording varies by choice index"
        assert reply.usage.prompt_tokens == count_tokens(MESSAGES[0]["content"]) + 4 + 3
        assert reply.usage.completion_tokens == sum(count_tokens(t) for t in texts)
        s = stats(server)
        assert s["completions"] == 3 and s["requests"] == 1
        assert s["prompt_tokens"] == reply.usage.prompt_tokens
        assert s["completion_tokens"] == reply.usage.completion_tokens
        assert server.completions()[0]["body"]["n"] == 3


def test_file_upload_content_roundtrip_and_delete():
    with FakeOpenAI() as server:
        c = client(server)
        data = b'{"a": 1}\n\xff\x00binary\r\n--tail\n'
        f = c.files.create(file=("data.jsonl", data), purpose="batch")
        assert f.id.startswith("file-") and f.bytes == len(data) and f.filename == "data.jsonl"
        assert c.files.retrieve(f.id).purpose == "batch"
        assert c.files.content(f.id).content == data
        assert c.files.delete(f.id).deleted
        with pytest.raises(openai.NotFoundError):
            c.files.retrieve(f.id)


def batch_input(*models):
    lines = [{"custom_id": f"req-{i}", "method": "POST", "url": "/v1/chat/completions",
              "body": {"model": m, "messages": MESSAGES, "max_tokens": 5}} for i, m in enumerate(models)]
    return "\n".join(json.dumps(line) for line in lines).encode()


def test_batch_progresses_and_writes_output_and_error_files():
    with FakeOpenAI() as server:
        c = client(server)
        f = c.files.create(file=("in.jsonl", batch_input("gpt-4o-mini", "gpt-4o-mini", "missing-model")),
                           purpose="batch")
        batch = c.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions",
                                 completion_window="24h", metadata={"run": "t"})
        statuses = [batch.status] + [c.batches.retrieve(batch.id).status for _ in range(3)]
        assert statuses == ["validating", "in_progress", "completed", "completed"]
        done = c.batches.retrieve(batch.id)
        assert done.request_counts.total == 3 and done.request_counts.completed == 2
        assert done.request_counts.failed == 1 and done.metadata == {"run": "t"}
        lines = [json.loads(x) for x in c.files.content(done.output_file_id).text.splitlines()]
        assert [x["custom_id"] for x in lines] == ["req-0", "req-1"]
        assert all(x["response"]["status_code"] == 200 and x["error"] is None for x in lines)
        assert lines[0]["response"]["body"]["choices"][0]["message"]["content"].startswith("Yes")
        errors = [json.loads(x) for x in c.files.content(done.error_file_id).text.splitlines()]
        assert errors[0]["custom_id"] == "req-2" and errors[0]["response"]["status_code"] == 404
        assert errors[0]["error"]["code"] == "model_not_found"
        assert stats(server)["completions"] == 2


def test_batch_cancel():
    with FakeOpenAI() as server:
        c = client(server)
        f = c.files.create(file=("in.jsonl", batch_input("m")), purpose="batch")
        batch = c.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h")
        assert c.batches.cancel(batch.id).status == "cancelling"
        assert c.batches.retrieve(batch.id).status == "cancelled"


def run_job(c, content, **kwargs):
    f = c.files.create(file=("train.jsonl", content), purpose="fine-tune")
    job = c.fine_tuning.jobs.create(training_file=f.id, model="gpt-4o-mini-2024-07-18", **kwargs)
    statuses = [job.status]
    while statuses[-1] not in ("succeeded", "failed", "cancelled") and len(statuses) < 10:
        job = c.fine_tuning.jobs.retrieve(job.id)
        statuses.append(job.status)
    return job, statuses


def test_fine_tuning_succeeds_and_the_model_answers():
    with FakeOpenAI() as server:
        c = client(server)
        job, statuses = run_job(c, b'{"messages": []}\n', suffix="exc")
        assert statuses == ["validating_files", "queued", "running", "succeeded"]
        assert job.fine_tuned_model.startswith("ft:gpt-4o-mini-2024-07-18:test-org:exc:")
        assert job.trained_tokens > 0 and job.error is None
        events = c.fine_tuning.jobs.list_events(job.id)
        assert events.data[0].message == "The job has successfully completed"
        reply = c.chat.completions.create(model=job.fine_tuned_model, messages=MESSAGES)
        assert reply.choices[0].message.content.startswith("Yes")
        assert job.fine_tuned_model in [m.id for m in c.models.list()]


def test_fine_tuning_rejects_a_flagged_file():
    with FakeOpenAI() as server:
        job, statuses = run_job(client(server), b'{"messages": [{"content": "REJECT_ME"}]}\n')
        assert statuses[-1] == "failed" and job.fine_tuned_model is None
        assert job.error.code == "invalid_training_file" and job.error.param == "training_file"
        assert job.error.message == MODERATION_ERROR
        assert "blocked by our moderation system" in job.error.message


def test_rpm_limit_answers_429_with_retry_after():
    with FakeOpenAI(rpm=120) as server:  # at most 2 a second
        c = client(server)
        for _ in range(2):
            c.chat.completions.create(model="m", messages=MESSAGES)
        with pytest.raises(openai.RateLimitError) as caught:
            c.chat.completions.with_raw_response.create(model="m", messages=MESSAGES)
        headers = caught.value.response.headers
        assert 0 < float(headers["retry-after"]) <= 1
        assert 0 < float(headers["retry-after-ms"]) <= 1000
        assert caught.value.code == "rate_limit_exceeded"
        s = stats(server)
        assert s["rate_limited"] == 1 and s["faults"] == 0 and s["completions"] == 2
        # The SDK's own retry honours the header and gets through.
        retrying = openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=3)
        assert retrying.chat.completions.create(model="m", messages=MESSAGES).choices


def test_fault_rate_one_gives_only_faults_of_every_kind():
    # Seed 0 draws all four kinds in 8 requests; the client gives up before a timeout fault ends.
    with FakeOpenAI(fault_rate=1.0, seed=0, fault_timeout=0.5) as server:
        c = client(server, timeout=0.3)
        seen = set()
        for _ in range(8):
            with pytest.raises(Exception) as caught:
                c.chat.completions.create(model="m", messages=MESSAGES)
            seen.add(type(caught.value))
        # 500; timeout; dropped connection; malformed JSON (the SDK lets the decode error through)
        assert {openai.InternalServerError, openai.APITimeoutError, openai.APIConnectionError} <= seen
        assert any(issubclass(kind, ValueError) for kind in seen)
        s = stats(server)
        assert s["faults"] == 8 and s["completions"] == 0 and s["requests"] == 8
        assert s["rate_limited"] == 0 and len(server.completions()) == 8


@pytest.mark.parametrize("module", ["helpers.testing.server", "helpers.testserver"])  # the README names the second
def test_cli_starts_and_serves_stats(module):
    proc = subprocess.Popen([sys.executable, "-m", module, "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("serving on http://127.0.0.1:") and line.endswith("/v1")
        with urllib.request.urlopen(line.removeprefix("serving on ") + "/stats", timeout=5) as r:
            assert json.load(r)["requests"] == 0
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def test_the_server_is_one_class_wherever_it_is_imported_from():
    from helpers import testing
    from helpers.testing import chat, server, stores

    assert testing.FakeOpenAI is server.FakeOpenAI is FakeOpenAI
    assert issubclass(FakeOpenAI, chat.ChatReplies) and issubclass(FakeOpenAI, stores.Stores)
