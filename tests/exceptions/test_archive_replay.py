"""The issue's promise: a run's answers, exported, imported into an empty cache and
read again with the server gone, give the same bucket table with no call made; an
export asks no server anything and never holds an API key."""

import json
import re

import pandas as pd
import pyarrow.parquet as pq
import pytest

from helpers.testing.server import FakeOpenAI

KEY = "sk-archive-test-0123456789-DO-NOT-LEAK"


def calls_line(out):
    return next(line for line in out.splitlines() if line.startswith("calls: "))


def made(out):
    return int(re.match(r"calls: (\d+) made", calls_line(out)).group(1))


def export_then_replay(run_cli, monkeypatch, tmp_path, args, server=None):
    """Run, export, import into an empty cache, run again; with `server` given it is
    closed before the import. Returns (answers made, the archive folder)."""
    code, out, err = run_cli("run", *args, "--out", str(tmp_path / "before.csv"))
    assert code == 0, err
    answers = made(out)
    assert calls_line(out) == f"calls: {answers} made, 0 cached, 0 failed"
    asked = (len(server.requests), len(server.checks)) if server else None
    # A day later: the day's list of models (shutdown dates) is not cached, yet an export asks for none.
    monkeypatch.setenv("EXCEPTIONS_TODAY", "2026-12-06")
    code, out, err = run_cli("archive", "export", *args, "--out", str(tmp_path / "archive"))
    assert code == 0, err
    assert f"{answers} of {answers} answers of this selection are cached" in out
    if server:
        assert (len(server.requests), len(server.checks)) == asked, "an export asks no server anything"
        server.close()
    monkeypatch.setenv("EXCEPTIONS_CACHE", str(tmp_path / "fresh"))
    code, out, err = run_cli("archive", "import", str(tmp_path / "archive"))
    assert code == 0, err
    assert f"{answers} added, 0 already present, 0 differing" in out
    code, out, err = run_cli("archive", "import", str(tmp_path / "archive"))
    assert code == 0 and f"0 added, {answers} already present, 0 differing" in out, out + err
    code, out, err = run_cli("run", *args, "--out", str(tmp_path / "after.csv"))
    assert code == 0, out + err
    assert calls_line(out) == f"calls: 0 made, {answers} cached, 0 failed"
    assert (tmp_path / "after.csv").read_bytes() == (tmp_path / "before.csv").read_bytes()
    return answers, tmp_path / "archive"


def test_a_sample_run_reads_the_same_table_from_its_archive_with_the_server_gone(run_cli, monkeypatch, tmp_path):
    server = FakeOpenAI().start()
    try:
        args = ("--model", "openai/gpt-4o-mini", "--base-url", server.base_url, "--mode", "sample", "--samples", "3")
        answers, archive = export_then_replay(run_cli, monkeypatch, tmp_path, args, server)
    finally:
        server.close()
    rows = pq.read_table(archive / "answers.parquet").to_pandas()
    assert len(rows) == answers and rows["scenario"].nunique() == 10 and set(rows["sample"]) == {0, 1, 2}
    assert rows["turn"].isna().all() and set(rows["decision"]) == {"yes", "no"}
    # The parsed decision is the one the run's own answer table holds.
    code, _, _ = run_cli("run", *args, "--responses", str(tmp_path / "answers.csv"))
    responses = pd.read_csv(tmp_path / "answers.csv")
    assert code == 0 and sorted(rows["decision"]) == sorted(responses["decision"])
    meta = json.loads((archive / "meta.json").read_text())
    assert list(meta) == [f"meta:served:{server.base_url}|gpt-4o-mini"], "the server's fingerprint travels along"


def test_a_chain_of_thought_run_replays_every_turn(run_cli, monkeypatch, tmp_path):
    server = FakeOpenAI().start()
    try:
        args = ("--model", "openai/gpt-4o-mini", "--base-url", server.base_url, "--variant", "cot",
                "--scenario", "grocery_prices", "--level", "1", "--level", "6", "--no-control", "--mode", "sample",
                "--samples", "2")
        answers, archive = export_then_replay(run_cli, monkeypatch, tmp_path, args, server)
    finally:
        server.close()
    assert answers == 2 * 2 * 3
    rows = pq.read_table(archive / "answers.parquet").to_pandas()
    assert sorted(rows["turn"]) == [1] * 4 + [2] * 4 + [3] * 4 and set(rows["variant"]) == {"cot"}
    # Only the last turn decides: the fake server says yes at $10.01 (level 6), no at level 1.
    final = rows[rows["turn"] == 3].set_index("level")["decision"]
    assert rows.loc[rows["turn"] < 3, "decision"].isna().all() and final.to_dict() == {1: "no", 6: "yes"}
    requests = [json.loads(r) for r in rows.sort_values("turn")["request"]]
    assert [len(r["messages"]) for r in requests] == [1] * 4 + [3] * 4 + [5] * 4


@pytest.mark.slow
def test_an_exact_run_of_the_offline_model_replays(run_cli, monkeypatch, tmp_path):
    args = ("--model", "local/smollm2-135m-instruct", "--scenario", "grocery_prices", "--mode", "exact")
    answers, archive = export_then_replay(run_cli, monkeypatch, tmp_path, args)
    rows = pq.read_table(archive / "answers.parquet").to_pandas()
    assert answers == 7 and (rows["kind"] == "yes_no").all() and rows["p_yes"].notna().all()
    assert sorted(rows["level"]) == [0, 1, 2, 3, 4, 5, 6], "the control travels along as level 0"
    assert rows["decision"].isna().all() and json.loads(rows["identity"][0])["weights"]


def test_the_api_key_never_enters_an_archive(run_cli, monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with FakeOpenAI(api_key=KEY) as server:  # answers only requests that carry the key
        args = ("--model", "openai/gpt-4o-mini", "--base-url", server.base_url, "--mode", "sample", "--samples", "2",
                "--scenario", "grocery_prices", "--variant", "baseline", "--variant", "cot", "--level", "1",
                "--no-control")
        assert run_cli("run", *args)[0] == 0
        code, out, err = run_cli("archive", "export", *args, "--out", str(tmp_path / "archive"))
    assert code == 0 and "8 of 8 answers" in out, out + err
    files = sorted(p for p in (tmp_path / "archive").rglob("*") if p.is_file())
    assert len(files) == 6
    for path in files:
        assert KEY.encode() not in path.read_bytes(), f"{path.name} holds the API key"


@pytest.fixture
def server_run(run_cli):
    """One bucket (grocery_prices at level 1, 3 samples) answered by a server, which then goes away."""
    with FakeOpenAI() as server:
        args = ("--model", "openai/gpt-4o-mini", "--base-url", server.base_url, "--mode", "sample", "--samples", "3",
                "--scenario", "grocery_prices", "--no-control")
        assert run_cli("run", *args, "--level", "1")[0] == 0
    return args


def test_answers_not_cached_are_counted_and_left_out(run_cli, tmp_path, server_run):
    code, out, err = run_cli("archive", "export", *server_run, "--out", str(tmp_path / "a"))
    assert code == 0, err
    assert "3 of 18 answers of this selection are cached; the archive holds those 3" in out
    assert "note: 15 answers are not in the cache" in out
    assert json.loads((tmp_path / "a" / "manifest.json").read_text())["planned"] == 18


@pytest.mark.parametrize("extra, message", [
    (("--temperature", "0.5"), "none of the 18 answers of this selection is cached"),
    (("--mode", "exact"), "none of the 6 answers of this selection is cached"),
], ids=["other temperature", "other mode"])
def test_a_selection_with_nothing_cached_is_one_line_error(run_cli, tmp_path, server_run, extra, message):
    code, out, err = run_cli("archive", "export", *server_run, *extra, "--out", str(tmp_path / "a"))
    assert (code, out) == (2, "") and message in err and err.count("\n") == 1
    assert not (tmp_path / "a").exists()


def test_export_without_a_cache_says_so(run_cli, tmp_path):
    code, _, err = run_cli("archive", "export", "--out", str(tmp_path / "a"))
    assert code == 2 and "there is no answer cache at" in err


def test_export_refuses_a_folder_that_holds_something(run_cli, tmp_path, server_run):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "paper.tex").write_text("keep me")
    code, out, err = run_cli("archive", "export", *server_run, "--level", "1", "--out", str(tmp_path / "a"))
    assert (code, out) == (2, "") and f"error: {tmp_path / 'a'} exists and is not empty" in err
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["paper.tex"]
    code, _, err = run_cli("archive", "export", *server_run)
    assert code == 2 and "the following arguments are required: --out" in err


def test_show_tells_a_sound_archive_from_a_damaged_one(run_cli, tmp_path, server_run):
    assert run_cli("archive", "export", *server_run, "--level", "1", "--out", str(tmp_path / "a"))[0] == 0
    code, out, _ = run_cli("archive", "show", str(tmp_path / "a"))
    assert code == 0 and "answers: 3 of the 3 the selection needs" in out and "  openai/gpt-4o-mini: 3" in out
    assert "checks: passed (3 answers" in out and "--scenario grocery_prices --level 1 --mode sample" in out
    assert "--no-control" in out, "the printed command reads the same selection: no control"
    with (tmp_path / "a" / "scenarios.toml").open("a") as fh:
        fh.write("\n")
    code, out, _ = run_cli("archive", "show", str(tmp_path / "a"))
    assert code == 1 and "checks: FAILED: archive" in out and "scenarios.toml has" in out


def test_a_reasoning_run_is_read_again_by_the_command_the_archive_prints(run_cli, monkeypatch, tmp_path):
    """The effort, budget and capability overrides shape the request, hence the key:
    the printed `run` command must carry them."""
    import shlex

    server = FakeOpenAI().start()
    try:
        args = ("--model", "openai/gpt-6-luna", "--base-url", server.base_url, "--scenario", "grocery_prices",
                "--mode", "sample", "--samples", "2", "--reasoning-effort", "low", "--reasoning-budget", "500",
                "--capability", "n=false", "--no-control")
        code, out, err = run_cli("run", *args)
        assert code == 0 and made(out) == 12, out + err
        code, out, err = run_cli("archive", "export", *args, "--out", str(tmp_path / "archive"))
        assert code == 0, err
    finally:
        server.close()
    monkeypatch.setenv("EXCEPTIONS_CACHE", str(tmp_path / "fresh"))
    code, out, err = run_cli("archive", "import", str(tmp_path / "archive"))
    assert code == 0, err
    printed = next(line for line in out.splitlines() if "python -m helpers run" in line)
    argv = shlex.split(printed[printed.index("python -m helpers run"):])[3:]
    assert argv[argv.index("--reasoning-effort") + 1] == "low" and "n=false" in argv and "--no-control" in argv
    code, out, err = run_cli(*argv)
    assert code == 0 and calls_line(out) == "calls: 0 made, 12 cached, 0 failed", out + err
