"""The OpenAI fine-tuning lifecycle end to end through the official SDK, against
helpers.testing.server.FakeOpenAI (a real HTTP server on 127.0.0.1): upload, job,
polling with progress, a file rejected under the usage policy, a failed job,
resuming after a restart, and the registry."""

import json

import pytest

from helpers.finetune import openai_jobs as finetune_openai
from helpers.finetune import registry
from helpers.finetune import datasets as sft
from helpers.errors import UserError

BASE = "openai/gpt-4o-mini-2024-07-18"


def dataset(tmp_path, n=12, answer="Yes. It is one cent.", name="train.jsonl"):
    examples = [{"messages": [{"role": "user", "content": f"Case {i}: buy the flour? Answer Yes or No."},
                              {"role": "assistant", "content": answer}]} for i in range(n)]
    return sft.write_jsonl(examples, tmp_path / name)


def jobs_of(server):
    return [r for r in server.requests if r["path"].startswith("/v1/fine_tuning/jobs") and r["method"] == "POST"]


def uploads_of(server):
    return [r for r in server.requests if r["path"] == "/v1/files" and r["method"] == "POST"]


def test_upload_job_poll_and_register(fake_openai, tmp_path):
    path = dataset(tmp_path)
    said = []
    name = finetune_openai.finetune(path, BASE, base_url=fake_openai.base_url, poll_seconds=0,
                                    hyperparameters={"n_epochs": 2}, suffix="flour",
                                    metadata={"kind": "explanations", "human_data": "human (illustrative data)"},
                                    progress=said.append)
    assert name.startswith("openai/ft:gpt-4o-mini-2024-07-18:test-org:flour:")
    upload, = uploads_of(fake_openai)
    assert upload["body"]["purpose"] == "fine-tune"
    assert upload["body"]["file"]["bytes"] == path.stat().st_size
    job, = jobs_of(fake_openai)
    assert job["body"]["model"] == "gpt-4o-mini-2024-07-18"
    assert job["body"]["hyperparameters"] == {"n_epochs": 2}
    # Progress: the status changes and the job's own events, each once, oldest first.
    text = "\n".join(said)
    assert "validating_files -> queued" in text and "queued -> running" in text and "running -> succeeded" in text
    assert text.index("Files validated") < text.index("The job has successfully completed")
    assert text.count("The job has successfully completed") == 1
    entry = registry.find(name)
    assert entry["base"] == BASE and entry["endpoint"] == fake_openai.base_url
    assert entry["dataset_sha256"] == sft.file_sha256(path)
    assert entry["hyperparameters"]["n_epochs"] == 2
    assert entry["kind"] == "explanations" and "illustrative" in entry["human_data"]
    assert entry["trained_tokens"] > 0
    assert "sk-" not in json.dumps(registry.entries())


def test_the_model_is_usable_by_name_afterwards(fake_openai, tmp_path, run_cli):
    name = finetune_openai.finetune(dataset(tmp_path), BASE, base_url=fake_openai.base_url, poll_seconds=0)
    code, out, err = run_cli("run", "--model", name, "--base-url", fake_openai.base_url,
                             "--scenario", "grocery_prices")
    assert code == 0, err
    assert fake_openai.completions()[0]["body"]["model"] == name.removeprefix("openai/")
    assert out.strip().splitlines()[-1] == "calls: 7 made, 0 cached, 0 failed"  # the control and 6 levels


def test_a_file_rejected_under_the_usage_policy_is_one_clear_line(fake_openai, tmp_path):
    path = dataset(tmp_path, answer="No. REJECT_ME")
    with pytest.raises(UserError) as info:
        finetune_openai.finetune(path, BASE, base_url=fake_openai.base_url, poll_seconds=0)
    message = str(info.value)
    assert "rejected the training file train.jsonl under its usage policy" in message
    assert "does not say which example" in message and "local/smollm2-135m-instruct" in message
    assert "\n" not in message
    assert registry.entries() == []
    record, = finetune_openai.job_records()
    assert record["status"] == "failed" and record["rejected"]
    # The same rejected file is not uploaded again (it would only be rejected again).
    with pytest.raises(UserError, match="this exact file was rejected under the usage policy before"):
        finetune_openai.finetune(path, BASE, base_url=fake_openai.base_url, poll_seconds=0)
    assert len(uploads_of(fake_openai)) == 1


def test_a_failed_job_reports_the_reason(fake_openai, tmp_path):
    record = finetune_openai.submit(dataset(tmp_path), BASE, base_url=fake_openai.base_url)
    job = fake_openai.jobs[record["job_id"]]
    job.update(status="failed", error={"code": "server_error", "message": "Training diverged.", "param": None})
    with pytest.raises(UserError, match=rf"fine-tuning job {record['job_id']} failed: Training diverged. \(server_error\)"):
        finetune_openai.poll(record, poll_seconds=0)
    assert finetune_openai.job_records()[0]["status"] == "failed"
    assert finetune_openai.open_jobs() == []


def test_a_cancelled_job(fake_openai, tmp_path):
    record = finetune_openai.submit(dataset(tmp_path), BASE, base_url=fake_openai.base_url)
    fake_openai.jobs[record["job_id"]]["status"] = "cancelled"
    with pytest.raises(UserError, match="was cancelled; rerun the command to start a new one"):
        finetune_openai.poll(record, poll_seconds=0)


def test_polling_resumes_after_a_restart_without_paying_twice(fake_openai, tmp_path):
    path = dataset(tmp_path)
    record = finetune_openai.submit(path, BASE, base_url=fake_openai.base_url)
    # The process stops after one poll (a laptop closed, ^C): the job is still open.
    finetune_openai.poll(record, poll_seconds=0, max_polls=1)
    assert [r["job_id"] for r in finetune_openai.open_jobs()] == [record["job_id"]]
    said = []
    name = finetune_openai.finetune(path, BASE, base_url=fake_openai.base_url, poll_seconds=0, progress=said.append)
    assert said[0] == f"resuming job {record['job_id']} (queued) for this file"
    assert len(uploads_of(fake_openai)) == 1 and len(jobs_of(fake_openai)) == 1
    assert name == f"openai/{fake_openai.jobs[record['job_id']]['fine_tuned_model']}"
    # Once done, asking again returns the same model at once, still without a new job.
    assert finetune_openai.finetune(path, BASE, base_url=fake_openai.base_url, poll_seconds=0) == name
    assert len(jobs_of(fake_openai)) == 1


def test_a_job_recorded_before_illustrative_suffixes_is_not_paid_for_again(fake_openai, tmp_path):
    path = dataset(tmp_path)
    # Submitted by an older checkout: the same file with the user's suffix, no "illustrative" in it.
    older = finetune_openai.submit(path, BASE, suffix="sft", base_url=fake_openai.base_url)
    again = finetune_openai.submit(path, BASE, suffix="sft", base_url=fake_openai.base_url,
                                   metadata={"illustrative": True})
    assert again["job_id"] == older["job_id"] and len(jobs_of(fake_openai)) == 1


def test_other_settings_are_a_new_job(fake_openai, tmp_path):
    path = dataset(tmp_path)
    first = finetune_openai.finetune(path, BASE, base_url=fake_openai.base_url, poll_seconds=0)
    second = finetune_openai.finetune(path, BASE, base_url=fake_openai.base_url, poll_seconds=0,
                                      hyperparameters={"n_epochs": 4})
    assert first != second and len(jobs_of(fake_openai)) == 2
    assert [e["model"] for e in registry.entries()] == [first, second]


@pytest.mark.parametrize("kwargs, message", [
    ({"hyperparameters": {"epochs": 3}}, "unknown fine-tuning hyper-parameter `epochs`"),
    ({"base": "local/smollm2-135m-instruct"}, "needs an openai/ base model"),
])
def test_bad_requests_are_refused_before_any_upload(fake_openai, tmp_path, kwargs, message):
    base = kwargs.pop("base", BASE)
    with pytest.raises(UserError, match=message):
        finetune_openai.submit(dataset(tmp_path), base, base_url=fake_openai.base_url, **kwargs)
    assert fake_openai.requests == []


def test_an_invalid_file_is_never_uploaded(fake_openai, tmp_path):
    with pytest.raises(UserError, match="needs at least 10"):
        finetune_openai.submit(dataset(tmp_path, n=3), BASE, base_url=fake_openai.base_url)
    assert fake_openai.requests == []


def test_server_errors_are_one_line_and_keep_the_record(fake_openai, tmp_path):
    record = finetune_openai.submit(dataset(tmp_path), BASE, base_url=fake_openai.base_url)
    fake_openai.fail_next = [500, 500, 500]  # the SDK retries twice, then gives up
    with pytest.raises(UserError, match=f"polling fine-tuning job {record['job_id']}: HTTP 500 .* rerun the same command to resume"):
        finetune_openai.poll(record, poll_seconds=0)
    assert finetune_openai.open_jobs()[0]["job_id"] == record["job_id"]


def test_no_key_for_openai_itself(tmp_path):
    with pytest.raises(UserError, match="no OpenAI API key: set OPENAI_API_KEY"):
        finetune_openai.submit(dataset(tmp_path), BASE)


def test_a_rejected_key(tmp_path):
    from helpers.testing.server import FakeOpenAI

    with FakeOpenAI(api_key="sk-right") as server:
        with pytest.raises(UserError, match="rejected the API key"):
            finetune_openai.submit(dataset(tmp_path), BASE, base_url=server.base_url)
