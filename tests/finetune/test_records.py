"""Records that cannot be rebuilt (the fine-tuning registry, OpenAI jobs in flight,
Batch API jobs) live in records/, not in the deletable cache/, and those an older
checkout left in cache/ are moved there the first time they are needed: never
lost, never overwritten, never duplicated."""

import errno
import json
import os

import pytest

from helpers import paths
from helpers.finetune import openai_jobs, registry
from helpers.finetune import datasets as sft

BASE = "openai/gpt-4o-mini-2024-07-18"


def old_places(tmp_path):
    cache = tmp_path / "cache"
    return cache / "finetune" / "registry.json", cache / "finetune" / "jobs", cache / "batches"


def write_json(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def test_records_live_outside_the_cache(tmp_path, monkeypatch):
    records = tmp_path / "records"  # conftest's EXCEPTIONS_RECORDS
    assert paths.records_dir() == records
    assert paths.finetune_registry() == records / "finetune" / "registry.json"
    assert paths.finetune_jobs_dir() == records / "finetune" / "jobs"
    assert paths.batches_dir() == records / "batches"
    assert paths.finetune_datasets_dir().is_relative_to(paths.cache_dir())  # rebuilt from the human data
    monkeypatch.delenv("EXCEPTIONS_RECORDS")
    monkeypatch.setenv("EXCEPTIONS_HOME", str(tmp_path / "home"))
    assert paths.records_dir() == tmp_path / "home" / "records"


def test_records_left_in_the_cache_are_moved_once(tmp_path, capsys):
    old_registry, old_jobs, old_batches = old_places(tmp_path)
    write_json(old_registry, {"models": [{"model": "openai/ft:gpt-4o-mini:org:paid:1", "dataset_sha256": "ab"}]})
    write_json(old_jobs / "ftjob-000001.json", {"job_id": "ftjob-000001", "submitted": 1.0})
    write_json(old_batches / "batch_000001.json", {"batch_id": "batch_000001"})
    (old_jobs / ".ftjob-000002.tmp").write_text("half written")  # an unfinished write is not a record
    before = {p.name: p.read_bytes() for p in (old_registry, old_jobs / "ftjob-000001.json",
                                               old_batches / "batch_000001.json")}

    assert registry.find("openai/ft:gpt-4o-mini:org:paid:1")["dataset_sha256"] == "ab"
    moved = [paths.finetune_registry(), paths.finetune_jobs_dir() / "ftjob-000001.json",
             paths.batches_dir() / "batch_000001.json"]
    assert {p.name: p.read_bytes() for p in moved} == before
    assert not old_registry.exists() and not (old_jobs / "ftjob-000001.json").exists()
    assert not old_batches.exists()  # emptied, so removed
    assert (old_jobs / ".ftjob-000002.tmp").exists() and not (paths.finetune_jobs_dir() / ".ftjob-000002.tmp").exists()
    assert capsys.readouterr().err == ""

    # A second time there is nothing to move and nothing changes.
    again = [paths.finetune_registry(), paths.finetune_jobs_dir() / "ftjob-000001.json",
             paths.batches_dir() / "batch_000001.json"]
    assert again == moved and {p.name: p.read_bytes() for p in again} == before
    assert sorted(p.name for p in paths.records_dir().rglob("*") if p.is_file()) == sorted(before)
    assert capsys.readouterr().err == ""


def test_different_records_at_both_places_are_both_kept_and_reported_once(tmp_path, capsys):
    old_registry, old_jobs, _ = old_places(tmp_path)
    write_json(old_registry, {"models": [{"model": "old-model"}]})
    new_registry = write_json(paths.records_dir() / "finetune" / "registry.json", {"models": [{"model": "new-model"}]})
    write_json(old_jobs / "ftjob-000007.json", {"job_id": "ftjob-000007", "status": "queued", "submitted": 1.0})
    new_job = write_json(paths.records_dir() / "finetune" / "jobs" / "ftjob-000007.json",
                         {"job_id": "ftjob-000007", "status": "running", "submitted": 1.0})

    assert [e["model"] for e in registry.entries()] == ["new-model"]
    assert [r["status"] for r in openai_jobs.job_records()] == ["running"]
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2  # one line per conflict
    assert str(old_registry) in lines[0] and str(new_registry) in lines[0] and "kept both" in lines[0]
    assert str(old_jobs / "ftjob-000007.json") in lines[1] and str(new_job) in lines[1]
    assert json.loads(old_registry.read_text())["models"][0]["model"] == "old-model"  # nothing lost
    assert json.loads(new_registry.read_text())["models"][0]["model"] == "new-model"  # nothing overwritten
    registry.entries()
    openai_jobs.job_records()
    assert capsys.readouterr().err == ""  # said once per process, not at every look-up


def test_the_same_record_at_both_places_is_kept_once(tmp_path, capsys):
    _, _, old_batches = old_places(tmp_path)
    record = {"batch_id": "batch_000003", "status": "completed"}
    write_json(old_batches / "batch_000003.json", record)
    write_json(paths.records_dir() / "batches" / "batch_000003.json", record)
    assert [p.name for p in paths.batches_dir().glob("*.json")] == ["batch_000003.json"]
    assert not old_batches.exists() and capsys.readouterr().err == ""


def test_a_move_across_file_systems_copies_without_overwriting(tmp_path, monkeypatch):
    def no_links(src, dst):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_links)
    old_registry, _, _ = old_places(tmp_path)
    write_json(old_registry, {"models": [{"model": "m"}]})
    assert registry.find("m") is not None
    assert not old_registry.exists()
    assert [p.name for p in paths.finetune_registry().parent.iterdir()] == ["registry.json"]  # no partial copy left


def test_records_and_cache_in_one_folder_move_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("EXCEPTIONS_RECORDS", str(tmp_path / "cache"))
    old_registry, _, _ = old_places(tmp_path)
    write_json(old_registry, {"models": [{"model": "m"}]})
    assert paths.finetune_registry() == old_registry and registry.find("m") is not None


def test_a_job_an_older_checkout_submitted_is_resumed_not_paid_twice(fake_openai, tmp_path):
    examples = [{"messages": [{"role": "user", "content": f"Case {i}: buy? Answer Yes or No."},
                              {"role": "assistant", "content": "Yes."}]} for i in range(12)]
    data = sft.write_jsonl(examples, tmp_path / "train.jsonl")
    record = openai_jobs.submit(data, BASE, base_url=fake_openai.base_url)
    # Where an older checkout kept it: in the cache.
    saved = paths.finetune_jobs_dir() / f"{record['job_id']}.json"
    _, old_jobs, _ = old_places(tmp_path)
    old_jobs.mkdir(parents=True)
    saved.rename(old_jobs / saved.name)
    said = []
    name = openai_jobs.finetune(data, BASE, base_url=fake_openai.base_url, poll_seconds=0, progress=said.append)
    assert said[0].startswith(f"resuming job {record['job_id']}")
    assert len(fake_openai.jobs) == 1 and name == f"openai/{fake_openai.jobs[record['job_id']]['fine_tuned_model']}"
    assert registry.find(name) is not None and paths.finetune_registry().is_relative_to(paths.records_dir())


@pytest.mark.parametrize("readme, says", [("cache/README.md", "safe to delete"),
                                          ("records/README.md", "not safe to delete")])
def test_each_folder_says_whether_it_may_be_deleted(repo, readme, says):
    assert says in (repo / readme).read_text(encoding="utf-8")


def test_processes_moving_at_once_lose_and_duplicate_nothing(tmp_path):
    import subprocess
    import sys

    _, _, old_batches = old_places(tmp_path)
    records = {f"batch_{i:06d}.json": {"batch_id": f"batch_{i:06d}"} for i in range(200)}
    for name, record in records.items():
        write_json(old_batches / name, record)
    code = "from helpers import paths; paths.batches_dir()"
    procs = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True) for _ in range(4)]
    errors = [p.communicate(timeout=60)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 4 and errors == [""] * 4
    moved = {p.name: json.loads(p.read_text()) for p in paths.batches_dir().iterdir()}
    assert moved == records and not old_batches.exists()
