"""OpenAI takes no new self-serve fine-tuning jobs after models.toml's
fine_tuning_ends (2027-01-06), nor any on a base that has shut down: such a job is
refused in one line before anything is uploaded, a dry run still prices it, and a
job submitted before the date still resumes."""

import pytest

from helpers.finetune import datasets as sft
from helpers.finetune import openai_jobs as finetune_openai

BASE = "openai/gpt-4o-mini-2024-07-18"
REFUSED = ("error: OpenAI takes no new self-serve fine-tuning jobs after 2027-01-06 (models.toml), and today is "
           "2027-01-07; fine-tune the open-weight model on this machine instead: --base local/smollm2-135m-instruct "
           "(LoRA); jobs already submitted (records/) still resume")


@pytest.fixture
def data(tmp_path):
    examples = [{"messages": [{"role": "user", "content": f"Case {i}: buy the flour? Answer Yes or No."},
                              {"role": "assistant", "content": "Yes."}]} for i in range(12)]
    return sft.write_jsonl(examples, tmp_path / "train.jsonl")


def finetune(run_cli, server, data, base=BASE, *extra):
    return run_cli("finetune", "--jsonl", str(data), "--base", base, "--base-url", server.base_url,
                   "--poll-seconds", "0", *extra)


def test_a_new_job_after_the_cutoff_is_refused_before_any_upload(run_cli, fake_openai, data, monkeypatch):
    monkeypatch.setenv("EXCEPTIONS_TODAY", "2027-01-07")
    code, out, err = finetune(run_cli, fake_openai, data)
    assert code == 2
    assert err.strip().splitlines()[-1] == REFUSED
    assert fake_openai.requests == [] and fake_openai.files == {} and fake_openai.jobs == {}, "nothing uploaded"


def test_on_the_last_day_a_job_is_taken_with_a_warning(run_cli, fake_openai, data, monkeypatch):
    monkeypatch.setenv("EXCEPTIONS_TODAY", "2027-01-06")
    code, out, err = finetune(run_cli, fake_openai, data)
    assert code == 0, err
    assert out.strip().splitlines()[-1].startswith("openai/ft:gpt-4o-mini-2024-07-18:")
    # (the date from the server's listing where it has one, else models.toml)
    assert "warning: openai/gpt-4o-mini-2024-07-18 shuts down on 2027-01-14 (in 8 days; " in err
    assert "), and a fine-tune of it stops answering the same day" in err
    assert len(fake_openai.jobs) == 1


@pytest.mark.parametrize("today, warned", [("2026-10-01", False), ("2026-10-16", True), ("2026-12-05", True)])
def test_a_base_that_shuts_down_within_90_days_is_warned_of(run_cli, fake_openai, data, monkeypatch, today, warned):
    monkeypatch.setenv("EXCEPTIONS_TODAY", today)
    code, out, err = finetune(run_cli, fake_openai, data, BASE, "--dry-run")
    assert code == 0, err
    assert ("shuts down on 2027-01-14" in err) is warned


def test_a_dry_run_after_the_cutoff_says_so_and_still_prices(run_cli, fake_openai, data, monkeypatch):
    monkeypatch.setenv("EXCEPTIONS_TODAY", "2027-01-07")
    code, out, err = finetune(run_cli, fake_openai, data, BASE, "--dry-run")
    assert code == 0, err
    assert f"warning: {REFUSED.removeprefix('error: ')}" in err
    assert "training cost" in out and out.strip().endswith("dry run: nothing was uploaded or trained")
    assert fake_openai.requests == []


def test_a_base_already_shut_down_is_refused(run_cli, fake_openai, data):
    code, out, err = finetune(run_cli, fake_openai, data, "openai/o3-mini")
    assert code == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: openai/o3-mini was shut down on 2026-10-23 (")
    assert last.endswith("so it cannot be fine-tuned; fine-tune the open-weight model on this machine instead: "
                         "--base local/smollm2-135m-instruct (LoRA)")
    assert fake_openai.requests == []


def test_a_job_submitted_before_the_cutoff_resumes_after_it(fake_openai, data, monkeypatch):
    record = finetune_openai.submit(data, BASE, base_url=fake_openai.base_url)
    assert record["status"] not in finetune_openai.FINAL
    monkeypatch.setenv("EXCEPTIONS_TODAY", "2027-01-07")
    said = []
    name = finetune_openai.finetune(data, BASE, base_url=fake_openai.base_url, poll_seconds=0, progress=said.append)
    assert name == f"openai/{fake_openai.jobs[record['job_id']]['fine_tuned_model']}"
    assert f"resuming job {record['job_id']}" in said[0]
    assert len(fake_openai.files) == 1 and len(fake_openai.jobs) == 1, "uploaded once, before the cutoff"
    # A new job (other data) is still refused that day.
    other = sft.write_jsonl([{"messages": [{"role": "user", "content": f"Other {i}?"},
                                           {"role": "assistant", "content": "No."}]} for i in range(12)],
                            data.with_name("other.jsonl"))
    with pytest.raises(finetune_openai.UserError, match="no new self-serve fine-tuning jobs after 2027-01-06"):
        finetune_openai.submit(other, BASE, base_url=fake_openai.base_url)
    assert len(fake_openai.files) == 1


def test_a_model_openai_does_not_know_on_a_server_of_ones_own_is_not_refused(run_cli, fake_openai, data,
                                                                             monkeypatch):
    monkeypatch.setenv("EXCEPTIONS_TODAY", "2027-02-01")
    code, out, err = finetune(run_cli, fake_openai, data, "openai/my-own-model")
    assert code == 0, err
    assert "warning:" not in err and len(fake_openai.jobs) == 1
