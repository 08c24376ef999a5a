"""The openai/ path, end to end through the official SDK, against a real HTTP
server on 127.0.0.1 that speaks the chat-completions protocol."""

import pandas as pd
import pytest

from helpers.errors import UserError
from helpers.llm import parse_model
from helpers.llm.openai_backend import OpenAIBackend


def run_args(server, *extra):
    return ("run", "--model", "openai/gpt-4o-mini", "--base-url", server.base_url,
            "--scenario", "grocery_prices", "--no-control", *extra)  # levels 1..6: six buckets


def test_exact_mode_uses_logprobs(fake_openai, run_cli, tmp_path):
    out_file = tmp_path / "buckets.csv"
    code, out, err = run_cli(*run_args(fake_openai, "--mode", "exact", "--out", str(out_file)))
    assert code == 0, err
    requests = fake_openai.completions()
    assert len(requests) == 6
    body = requests[0]["body"]
    assert body["logprobs"] is True and body["top_logprobs"] == 20 and body["max_tokens"] == 1
    assert body["temperature"] == 0
    table = pd.read_csv(out_file).set_index("level")
    # The server answers Yes (p=0.8, No 0.15) only at $10.01, level 6.
    assert table.loc[6, "refusal_rate"] == pytest.approx(0.15 / 0.95)
    assert table.loc[1, "refusal_rate"] == pytest.approx(0.8 / 0.95)
    assert table.loc[1, "yes_no_mass"] == pytest.approx(0.95)
    assert out.strip().splitlines()[-1] == "calls: 6 made, 0 cached, 0 failed"


def test_sample_mode_parses_each_answer_and_second_run_is_free(fake_openai, run_cli, tmp_path):
    out_file = tmp_path / "b.parquet"
    code, out, _ = run_cli(*run_args(fake_openai, "--mode", "sample", "--samples", "3",
                                     "--temperature", "0.7", "--out", str(out_file)))
    assert code == 0
    # Three samples of a prompt travel in one request with n=3; each is its own cache entry.
    assert len(fake_openai.completions()) == 6
    assert {r["body"]["n"] for r in fake_openai.completions()} == {3}
    assert {r["body"]["temperature"] for r in fake_openai.completions()} == {0.7}
    table = pd.read_parquet(out_file).set_index("level")
    assert table.loc[6, "refusal_rate"] == 0.0 and table.loc[6, "n"] == 3
    assert (table.loc[1:5, "refusal_rate"] == 1.0).all()
    code, out, _ = run_cli(*run_args(fake_openai, "--mode", "sample", "--samples", "3",
                                     "--temperature", "0.7"))
    assert len(fake_openai.completions()) == 6, "a rerun must make no calls"
    assert out.strip().splitlines()[-1] == "calls: 0 made, 18 cached, 0 failed"


def test_more_samples_only_make_the_missing_calls(fake_openai, run_cli):
    run_cli(*run_args(fake_openai, "--mode", "sample", "--samples", "2"))
    code, out, _ = run_cli(*run_args(fake_openai, "--mode", "sample", "--samples", "3"))
    assert out.strip().splitlines()[-1] == "calls: 6 made, 12 cached, 0 failed"
    assert len(fake_openai.completions()) == 12 and "n" not in fake_openai.completions()[-1]["body"]


def test_base_url_from_environment(fake_openai, run_cli, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    code, out, _ = run_cli("run", "--model", "openai/gpt-4o-mini", "--scenario", "hospitality", "--no-control")
    assert code == 0 and len(fake_openai.completions()) == 6


def test_no_key_for_openai_itself_says_what_to_do(run_cli):
    code, out, err = run_cli("run", "--model", "openai/gpt-4o-mini", "--scenario", "hospitality")
    assert code == 2
    # (after a warning that the model shuts down, read from models.toml without a key)
    assert err.strip().splitlines()[-1] == ("error: no OpenAI API key: set OPENAI_API_KEY, or use the offline "
                                            "model local/smollm2-135m-instruct")


def test_wrong_key_is_one_line(run_cli, monkeypatch):
    from helpers.testing.server import FakeOpenAI

    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    with FakeOpenAI(api_key="sk-right") as server:
        code, _, err = run_cli(*run_args(server))
    assert code == 2 and "rejected the API key (401); check OPENAI_API_KEY" in err
    assert "sk-wrong" not in err and len(err.strip().splitlines()) == 1


def test_unknown_model_is_one_line(fake_openai, run_cli):
    code, _, err = run_cli("run", "--model", "openai/missing-model", "--base-url",
                           fake_openai.base_url, "--scenario", "hospitality")
    assert code == 2 and "model 'missing-model' not found (404)" in err


def test_server_errors_are_failures_not_refusals(fake_openai, run_cli, tmp_path):
    # With --retries 0 a call is tried once; the first one (level 1's) meets the 500.
    # (A call waiting to retry gives up its place, so with retries the 500s would
    # spread over several calls, each then answered.)
    fake_openai.fail_next = [500]
    out_file = tmp_path / "b.csv"
    code, out, _ = run_cli(*run_args(fake_openai, "--mode", "sample", "--samples", "1",
                                     "--retries", "0", "--concurrency", "1", "--out", str(out_file)))
    assert code == 1, "an answer failed: not a clean run"
    assert "calls: 5 made, 0 cached, 1 failed" in out
    assert "failed: 1 answer (HTTP 500): HTTP 500 from" in out
    table = pd.read_csv(out_file).set_index("level")
    assert table.loc[1, "failed"] == 1 and table.loc[1, "n"] == 0
    assert pd.isna(table.loc[1, "refusal_rate"]), "a failure must not count as a refusal"
    code, out, _ = run_cli(*run_args(fake_openai, "--mode", "sample", "--samples", "1"))
    assert out.strip().splitlines()[-1] == "calls: 1 made, 5 cached, 0 failed"


def test_endpoint_without_logprobs_points_to_sample_mode(fake_openai, run_cli):
    fake_openai.logprobs = False
    code, _, err = run_cli(*run_args(fake_openai, "--mode", "exact"))
    assert code == 2 and "returned no logprobs" in err and "--mode sample" in err


def test_unreachable_server_counts_failures(run_cli):
    from helpers.testing.server import FakeOpenAI

    with FakeOpenAI() as server:
        url = server.base_url  # the port is closed once the server stops
    code, out, _ = run_cli("run", "--model", "openai/m", "--base-url", url, "--retries", "1",
                           "--scenario", "hospitality", "--mode", "exact", "--no-control")
    assert code == 1 and "calls: 0 made, 0 cached, 6 failed" in out
    assert "failed: 6 answers (connection)" in out and "ConnectError" in out, out


@pytest.mark.parametrize("name,message", [
    ("gpt-4o", "must be named provider/model"),
    ("anthropic/claude", "provider one of local, openai"),
    ("local/llama-70b", "unknown local model 'llama-70b'"),
])
def test_bad_model_names(name, message):
    with pytest.raises(UserError, match=message):
        parse_model(name)


def test_backend_is_only_built_when_a_call_is_needed(monkeypatch):
    # No key and the real OpenAI URL: building the backend must fail clearly.
    with pytest.raises(UserError, match="no OpenAI API key"):
        OpenAIBackend(parse_model("openai/gpt-4o-mini"))
