"""The call engine at scale, against the OpenAI-compatible test server on 127.0.0.1:
faults, SIGKILL and resume, two processes on one cache, estimates, --max-cost, batches."""

import json
import os
import signal
import subprocess
import sys
import time

import diskcache
import pandas as pd
import pytest

from helpers.testing.server import FakeOpenAI


def cli(tmp_path, server, *extra, wait=True):
    """`python -m helpers run` in its own process, sharing the test's cache folder
    (levels 1..6 only: the counts below are of those)."""
    argv = [sys.executable, "-m", "helpers", "run", "--model", "openai/gpt-4o-mini",
            "--base-url", server.base_url, "--no-control", *extra]
    env = {**os.environ, "EXCEPTIONS_CACHE": str(tmp_path / "cache")}
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if not wait:
        return proc
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err


def last_line(out: str) -> str:
    return out.strip().splitlines()[-1]


def stored(tmp_path) -> dict:
    with diskcache.Cache(str(tmp_path / "cache" / "calls")) as cache:
        # Answers only: "meta:" entries are what runs learned about the server.
        return {key: cache[key] for key in cache if not key.startswith("meta:")}


def test_twenty_percent_faults_every_answer_arrives_and_is_paid_once(tmp_path, run_cli):
    # Faults of every kind: HTTP 500, a hang then a hang-up, malformed JSON, a dropped connection.
    with FakeOpenAI(fault_rate=0.2, seed=7, fault_timeout=0.3) as server:
        out_file = tmp_path / "b.csv"
        code, out, err = run_cli("run", "--model", "openai/gpt-4o-mini", "--base-url", server.base_url, "--no-control",
                                 "--mode", "sample", "--samples", "3", "--retries", "12", "--timeout", "5",
                                 "--out", str(out_file))
        assert code == 0, err
        assert last_line(out) == "calls: 180 made, 0 cached, 0 failed"
        table = pd.read_csv(out_file)
        assert len(table) == 60 and (table["n"] == 3).all() and (table["failed"] == 0).all()
        assert server.stats["faults"] > 5, "the faults must really have happened"
        # Paid once: every answer the server produced is stored, and no more.
        assert server.stats["completions"] == 180 == len(stored(tmp_path))
        retries = int(out.split("retries: ")[1].split()[0])
        assert retries >= server.stats["faults"]


def test_sigkill_halfway_then_rerun_makes_only_the_missing_calls(tmp_path):
    with FakeOpenAI(latency=0.05) as server:
        proc = cli(tmp_path, server, "--mode", "sample", "--samples", "10", "--concurrency", "2",
                   wait=False)
        deadline = time.monotonic() + 120
        while server.stats["completions"] < 250 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL
        kept = stored(tmp_path)
        assert 200 <= len(kept) < 600, "the kill must land halfway"
        assert all(value["text"] for value in kept.values()), "no half-written answer"
        time.sleep(0.5)  # requests in flight at the kill still finish on the server (and are lost)
        served_before = server.stats["completions"]
        code, out, err = cli(tmp_path, server, "--mode", "sample", "--samples", "10")
        assert code == 0, err
        assert last_line(out) == f"calls: {600 - len(kept)} made, {len(kept)} cached, 0 failed"
        assert server.stats["completions"] - served_before == 600 - len(kept)
        assert len(stored(tmp_path)) == 600


def test_two_processes_on_one_cache_agree(tmp_path):
    # The server words every answer differently, so two processes that both make a
    # call would disagree unless the cache keeps one answer and both report it.
    with FakeOpenAI(latency=0.02) as server:
        outs = [tmp_path / f"answers{i}.csv" for i in range(2)]
        procs = [cli(tmp_path, server, "--mode", "sample", "--samples", "4", "--concurrency", "4",
                     "--responses", str(out), wait=False) for out in outs]
        results = [p.communicate(timeout=300) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], [err for _, err in results]
        first, second = (pd.read_csv(out) for out in outs)
        assert len(first) == 240 and (first["status"] == "ok").all()
        pd.testing.assert_frame_equal(first.drop(columns="cost_usd"), second.drop(columns="cost_usd"))
        kept = stored(tmp_path)
        assert len(kept) == 240
        assert sorted(first["text"]) == sorted(v["text"] for v in kept.values())
        made = [int(last_line(out).split()[1]) for out, _ in results]
        assert sum(made) >= 240, "between them the two processes made every call"


def test_estimate_matches_what_the_server_counts(tmp_path, run_cli):
    with FakeOpenAI() as server:
        base = ("--model", "openai/gpt-4o-mini", "--base-url", server.base_url, "--mode", "sample",
                "--max-tokens", "16", "--no-control")
        run_cli("run", *base, "--samples", "2")  # answers to calibrate the expected length on
        before = dict(server.stats)
        code, out, _ = run_cli("estimate", *base, "--samples", "6")
        assert code == 0
        lines = dict(line.split(None, 1) if not line.startswith(("answers", "already", "requests",
                                                                  "prompt", "completion"))
                     else (line[:18].strip(), line[18:].strip()) for line in out.strip().splitlines())
        assert lines["answers needed"] == "360" and lines["already cached"] == "120"
        assert lines["requests to make"] == "60"
        prompt = int(lines["prompt tokens"])
        completion = int(lines["completion tokens"].split()[0])
        assert "expected from 120 cached answers" in lines["completion tokens"]
        assert lines["completion tokens"].endswith("at most 3840")
        # An estimate spends nothing: no completion (asking the server's tokenizer is free).
        assert server.stats["completions"] == before["completions"]
        run_cli("run", *base, "--samples", "6")
        seen_prompt = server.stats["prompt_tokens"] - before["prompt_tokens"]
        seen_completion = server.stats["completion_tokens"] - before["completion_tokens"]
        assert prompt == pytest.approx(seen_prompt, rel=0.05)
        assert completion == pytest.approx(seen_completion, rel=0.05)


def test_max_cost_refuses_before_any_call(run_cli, fake_openai):
    code, out, err = run_cli("run", "--model", "openai/gpt-4o-mini", "--base-url", fake_openai.base_url,
                             "--mode", "sample", "--samples", "500", "--max-cost", "0.01")
    assert code == 2 and fake_openai.completions() == []
    assert err.startswith("error: this run may cost up to $") and "above --max-cost $0.0100" in err
    code, out, err = run_cli("run", "--model", "openai/gpt-4o-mini", "--base-url", fake_openai.base_url,
                             "--scenario", "hospitality", "--mode", "sample", "--samples", "2",
                             "--max-cost", "1", "--no-control")
    assert code == 0 and last_line(out) == "calls: 12 made, 0 cached, 0 failed"


def test_max_cost_needs_a_price(run_cli, fake_openai):
    code, _, err = run_cli("run", "--model", "openai/unpriced-model", "--base-url", fake_openai.base_url,
                           "--max-cost", "1")
    assert code == 2 and "no price for openai/unpriced-model in prices.toml" in err
    assert fake_openai.completions() == []


def test_temperature_zero_with_many_samples_warns(run_cli, fake_openai):
    code, _, err = run_cli("run", "--model", "openai/gpt-4o-mini", "--base-url", fake_openai.base_url,
                           "--scenario", "hospitality", "--mode", "sample", "--samples", "3",
                           "--temperature", "0")
    assert code == 0 and "warning: temperature 0 with 3 samples" in err


def batch_files(tmp_path):
    from helpers import paths

    return sorted(paths.batches_dir().glob("*.json"))


def test_batch_run_stores_answers_and_a_rerun_is_free(tmp_path, run_cli, fake_openai):
    args = ("run", "--model", "openai/gpt-4o-mini", "--base-url", fake_openai.base_url,
            "--scenario", "grocery_prices", "--mode", "sample", "--samples", "2", "--batch",
            "--poll-seconds", "0.01", "--no-control")
    code, out, err = run_cli(*args)
    assert code == 0, err
    assert last_line(out) == "calls: 12 made, 0 cached, 0 failed"
    assert [r["path"] for r in fake_openai.requests][:2] == ["/v1/files", "/v1/batches"]
    assert fake_openai.completions() == [], "answers came through the batch, not live calls"
    (record,) = batch_files(tmp_path)
    assert json.loads(record.read_text())["collected"] is True
    # Every answer records its batch and is priced at the Batch API's half price.
    from helpers.llm.prices import load_prices

    price = load_prices()["gpt-4o-mini"]
    for value in stored(tmp_path).values():
        assert value["batch_id"] in fake_openai.batches
        assert value["cost_usd"] == pytest.approx(
            price.cost(value["prompt_tokens"], value["completion_tokens"]) / 2)
    code, out, _ = run_cli(*args)
    assert last_line(out) == "calls: 0 made, 12 cached, 0 failed"
    assert len(fake_openai.batches) == 1


def test_batch_resumes_polling_after_a_kill_without_resubmitting(tmp_path):
    with FakeOpenAI(batch_steps=10_000) as server:  # never finishes while the first run lives
        args = ("--scenario", "hospitality", "--mode", "exact", "--batch", "--poll-seconds", "0.05")
        proc = cli(tmp_path, server, *args, wait=False)
        deadline = time.monotonic() + 60
        while not batch_files(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # a few polls
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert len(server.batches) == 1 and stored(tmp_path) == {}
        server.batch_steps = 1
        code, out, err = cli(tmp_path, server, *args)
        assert code == 0, err
        assert last_line(out) == "calls: 6 made, 0 cached, 0 failed"
        assert len(server.batches) == 1, "the rerun polled the recorded batch instead of paying again"
        assert len(stored(tmp_path)) == 6
