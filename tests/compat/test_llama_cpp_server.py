"""The CLI against llama-cpp-python's OpenAI-compatible server (issue 12).

Every other OpenAI-path test talks to the workspace's own fake server, which does
what we think a server does. This one serves the offline model's GGUF through
code nobody here wrote, one request at a time, keeping connections alive and
ignoring `n`, as local servers do. Each test runs `python -m helpers` as a user
would, in its own process, on a small selection of buckets.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from compat_server import LlamaServer, RecordingProxy

pytestmark = pytest.mark.slow

SERVED = "openai/smollm2"
LOCAL = "local/smollm2-135m-instruct"
# Two buckets: the most and the least severe exception of one scenario.
TWO_BUCKETS = ("--scenario", "grocery_prices", "--level", "1", "--level", "6")
# Reasoning turns of `cot` kept short: the server answers ~45 tokens a second on 2 cores.
SHORT_REASONING = ("--reasoning-tokens", "64")

# Exact mode, the server against the local path on the same GGUF. Measured over all
# 60 buckets (10 scenarios x 6 levels), |P(yes) served - P(yes) local| was at most
# 0.017 (mean 0.005): llama.cpp's Q4_1 kernels against the de-quantised fp32
# weights in torch, and the server's top-20 log-probabilities against the local
# sum over the whole vocabulary (0.017 at most in the six buckets below too). The
# same six served with another chat template (--chat_format chatml: no default
# system prompt) differ by 0.046 to 0.082, so 0.03 passes the right template with
# room and fails a wrong one.
P_YES_TOLERANCE = 0.03
EXACT_BUCKETS = ("--scenario", "customer_service", "--scenario", "delivery_radius",
                 "--level", "1", "--level", "2", "--level", "6")

CALLS_LINE = re.compile(r"^calls: (\d+) made, (\d+) cached, (\d+) failed", re.M)


def counts(out: str) -> tuple[int, int, int]:
    """(made, cached, failed) from the run's last summary line."""
    found = CALLS_LINE.findall(out)
    assert found, f"no 'calls:' line in the output:\n{out}"
    return tuple(int(x) for x in found[-1])


def check_clean(proc, server: LlamaServer | None = None) -> None:
    """Exit 0 and no traceback; on failure show what the user would have seen."""
    detail = f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-4000:]}"
    if server is not None:
        detail += f"\nserver log (tail):\n{server.tail(15)}"
    assert "Traceback" not in proc.stderr, detail
    assert proc.returncode == 0, detail


def served_run(helpers_cli, server: LlamaServer, *args: str, base_url: str | None = None):
    # --no-control: these runs check the server's protocol, and their counts are of the chosen levels.
    return helpers_cli("run", "--model", SERVED, "--base-url", base_url or server.base_url, "--no-control", *args)


def answers_per_bucket(path, expected: int) -> pd.DataFrame:
    """Every bucket of the responses file has `expected` answers, none failed or missing."""
    table = pd.read_csv(path)
    per_bucket = table.groupby(["variant", "scenario", "level"]).size()
    assert (per_bucket == expected).all(), per_bucket.to_string()
    bad = table[table["status"] != "ok"]
    assert bad.empty, bad[["variant", "scenario", "level", "sample", "status"]].to_string()
    return table


def p_yes(table: pd.DataFrame) -> pd.Series:
    # p_refusal = P(no) / (P(yes) + P(no)) and yes_no_mass = P(yes) + P(no).
    return (1 - table["p_refusal"]) * table["yes_no_mass"]


def test_exact_mode_agrees_with_the_local_model(llama_server, helpers_cli, tmp_path):
    served = served_run(helpers_cli, llama_server, *EXACT_BUCKETS, "--responses", str(tmp_path / "served.csv"))
    check_clean(served, llama_server)
    local = helpers_cli("run", "--model", LOCAL, *EXACT_BUCKETS, "--no-control", "--responses", str(tmp_path / "local.csv"))
    check_clean(local)
    both = answers_per_bucket(tmp_path / "served.csv", 1).merge(
        answers_per_bucket(tmp_path / "local.csv", 1), on=["scenario", "level"], suffixes=("_served", "_local"))
    assert len(both) == 6
    both["p_yes_served"] = p_yes(both.filter(like="_served").rename(columns=lambda c: c[:-7]))
    both["p_yes_local"] = p_yes(both.filter(like="_local").rename(columns=lambda c: c[:-6]))
    both["diff"] = (both["p_yes_served"] - both["p_yes_local"]).abs()
    shown = both[["scenario", "level", "p_yes_served", "p_yes_local", "diff", "yes_no_mass_served"]].to_string()
    # The logprobs were read (a parser that found no Yes/No would give 0 and still agree at 0.0x).
    assert (both["yes_no_mass_served"] > 0.2).all(), shown
    assert both["diff"].max() <= P_YES_TOLERANCE, shown


def test_three_samples_every_answer_is_stored(llama_server, helpers_cli, tmp_path):
    # The server ignores `n`: a request for 3 answers returns 1.
    out = tmp_path / "answers.csv"
    proc = served_run(helpers_cli, llama_server, *TWO_BUCKETS, "--mode", "sample", "--samples", "3",
                      "--responses", str(out))
    check_clean(proc, llama_server)
    assert counts(proc.stdout) == (6, 0, 0), proc.stdout
    table = answers_per_bucket(out, 3)
    assert table["text"].notna().all(), table["text"].to_string()


def test_ten_samples_cost_at_most_one_extra_request_per_bucket(llama_server, helpers_cli, tmp_path):
    out = tmp_path / "answers.csv"
    # The proxy sees each request's body, so samples can be told from any probe a
    # client makes of the server.
    with RecordingProxy(f"http://127.0.0.1:{llama_server.port}") as proxy:
        proc = served_run(helpers_cli, llama_server, *TWO_BUCKETS, "--mode", "sample", "--samples", "10",
                          "--responses", str(out), base_url=proxy.base_url)
    check_clean(proc, llama_server)
    assert counts(proc.stdout) == (20, 0, 0), proc.stdout
    answers_per_bucket(out, 10)
    per_prompt: dict[str, list[dict]] = {}
    for body in proxy.bodies:
        per_prompt.setdefault(json.dumps(body["messages"], sort_keys=True), []).append(body)
    buckets = {k: v for k, v in per_prompt.items() if "flour" in k}  # grocery_prices' prompt
    others = [b for k, v in per_prompt.items() if k not in buckets for b in v]
    summary = {f"bucket {i + 1}": [b.get("n", 1) for b in v] for i, v in enumerate(buckets.values())}
    summary["other requests"] = [{k: b.get(k) for k in ("max_tokens", "n")} for b in others]
    assert len(buckets) == 2, summary
    assert all(len(v) <= 11 for v in buckets.values()), f"n of each request: {summary}"
    # The server's own access log agrees with the proxy on the total.
    assert llama_server.completions() == len(proxy.bodies), summary


def test_cot_chain_of_three_turns(llama_server, helpers_cli, tmp_path):
    out = tmp_path / "answers.csv"
    proc = served_run(helpers_cli, llama_server, "--scenario", "grocery_prices", "--level", "1",
                      "--variant", "cot", "--mode", "sample", "--samples", "3", *SHORT_REASONING,
                      "--responses", str(out))
    check_clean(proc, llama_server)
    assert counts(proc.stdout) == (9, 0, 0), proc.stdout  # 3 chains x 3 turns
    table = answers_per_bucket(out, 3)
    assert table["reasoning"].notna().all()


def test_baseline_and_cot_in_one_run(llama_server, helpers_cli, tmp_path):
    out = tmp_path / "answers.csv"
    proc = served_run(helpers_cli, llama_server, "--scenario", "grocery_prices", "--level", "6",
                      "--variant", "baseline", "--variant", "cot", "--mode", "sample", "--samples", "2",
                      *SHORT_REASONING, "--responses", str(out))
    check_clean(proc, llama_server)
    assert counts(proc.stdout) == (2 + 2 * 3, 0, 0), proc.stdout
    table = answers_per_bucket(out, 2)
    assert sorted(table["variant"].unique()) == ["baseline", "cot"]


def test_estimate_prints_its_table_and_sees_the_runs_answers(llama_server, helpers_cli):
    # Exact mode: the estimate's view of the cache is what is tested, not `n`.
    before = helpers_cli("estimate", "--model", SERVED, "--base-url", llama_server.base_url, "--no-control", *TWO_BUCKETS)
    check_clean(before, llama_server)
    for row in ("answers needed", "already cached", "requests to make", "prompt tokens", "cost", "time"):
        assert re.search(rf"^{row}\s", before.stdout, re.M), before.stdout
    assert re.search(r"^answers needed\s+2$", before.stdout, re.M), before.stdout
    assert re.search(r"^already cached\s+0$", before.stdout, re.M), before.stdout
    run = served_run(helpers_cli, llama_server, *TWO_BUCKETS)
    check_clean(run, llama_server)
    after = helpers_cli("estimate", "--model", SERVED, "--base-url", llama_server.base_url, "--no-control", *TWO_BUCKETS)
    check_clean(after, llama_server)
    # The estimate and the run name the served model's answers the same way.
    assert re.search(r"^already cached\s+2$", after.stdout, re.M), after.stdout
    assert re.search(r"^requests to make\s+0$", after.stdout, re.M), after.stdout


@pytest.mark.parametrize("mode", ["exact", "sample"])
def test_rerun_against_the_same_server_is_all_cached(llama_server, helpers_cli, mode):
    args = (*TWO_BUCKETS, "--mode", mode, "--samples", "3")
    want = 2 if mode == "exact" else 6
    first = served_run(helpers_cli, llama_server, *args)
    check_clean(first, llama_server)
    assert counts(first.stdout) == (want, 0, 0), first.stdout
    served = llama_server.completions()
    second = served_run(helpers_cli, llama_server, *args)
    check_clean(second, llama_server)
    assert counts(second.stdout) == (0, want, 0), second.stdout
    # No answer was asked for again (a probe of the server, if any, asks for at most one token).
    assert llama_server.completions() - served <= 1, llama_server.tail()


def test_restart_with_another_chat_template_makes_new_answers(llama_server, helpers_cli, tmp_path):
    # Same port, so the same --base-url: only the served conversation format changed.
    first = served_run(helpers_cli, llama_server, *TWO_BUCKETS, "--responses", str(tmp_path / "gguf.csv"))
    check_clean(first, llama_server)
    assert counts(first.stdout) == (2, 0, 0), first.stdout
    llama_server.start(chat_format="chatml")  # the GGUF's template adds a system prompt; chatml does not
    second = served_run(helpers_cli, llama_server, *TWO_BUCKETS, "--responses", str(tmp_path / "chatml.csv"))
    check_clean(second, llama_server)
    assert counts(second.stdout) == (2, 0, 0), \
        f"answers of the GGUF's template were reported for chatml:\n{second.stdout}"
    old, new = (pd.read_csv(tmp_path / f"{name}.csv") for name in ("gguf", "chatml"))
    assert not (old["p_refusal"].round(6) == new["p_refusal"].round(6)).all(), "the two templates answered alike"


def test_restart_with_the_same_template_stays_cached(llama_server, helpers_cli):
    # The served-model fingerprint must not change with the process: a restarted
    # server with the same model and template keeps its answers.
    first = served_run(helpers_cli, llama_server, *TWO_BUCKETS)
    check_clean(first, llama_server)
    llama_server.start()
    second = served_run(helpers_cli, llama_server, *TWO_BUCKETS)
    check_clean(second, llama_server)
    assert counts(second.stdout) == (0, 2, 0), second.stdout
