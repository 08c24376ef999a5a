"""Broken or hostile servers end a run within a stated time, with a named reason
and exit status 1, never a traceback; a server that ignores `n` loses no answer.

Each case runs the real CLI against a small real server on 127.0.0.1
(helpers.testing.hostile). The time bounds are the deadlines the engine promises
(README, "When a server misbehaves"), with room for a slow machine; they are
what is being tested, not speed.
"""

import re
import time

import pytest

from helpers.llm.served import PROBE_MESSAGES
from helpers.testing import hostile

pytestmark = pytest.mark.slow

# One scenario, two levels, two samples: 4 answers in 2 buckets, up to 2 requests.
SMALL = ("--scenario", "grocery_prices", "--level", "1", "--level", "6", "--no-control", "--mode", "sample",
         "--samples", "2")


def run(run_cli, base_url, *extra):
    started = time.monotonic()
    code, out, err = run_cli("run", "--model", "openai/stand-in", "--base-url", base_url, *SMALL, *extra)
    return code, out, err, time.monotonic() - started


def study_bodies(server) -> list[dict]:
    """The requests of the run itself, without the served-model check's one."""
    return [b for b in server.bodies if isinstance(b, dict) and b.get("messages") != PROBE_MESSAGES]


def reasons(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("failed: ")]


@pytest.mark.parametrize("behaviour, named", [
    ("choices_string", "`choices` is str"),
    ("null_body", "the body is null"),
    ("top_list", "the body is list"),
    ("content_number", "message.content is int"),
    ("usage_strings", "usage.prompt_tokens is 'many'"),
    ("bad_json", "the body is not JSON"),
    ("error_500", "HTTP 500"),
])
def test_a_wrong_reply_fails_its_calls_by_name_and_gives_up_soon(run_cli, behaviour, named):
    with hostile.serve(behaviour) as server:
        code, out, err, seconds = run(run_cli, server.base_url)
    assert code == 1 and "Traceback" not in err
    assert "calls: 0 made, 0 cached, 4 failed" in out
    # Each call fails with the reply's fault, or (once the endpoint is given up) with
    # "gave up", whose message names the last fault: either way the fault is named.
    lines = reasons(out)
    assert lines and all(named in line for line in lines), out
    # Three failed attempts in a row and no answer for QUIET (15 s) give the endpoint
    # up; without that every call would wait out all its retries.
    assert seconds < 15 + 20


def test_a_hanging_server_is_given_up_within_its_stated_time(run_cli):
    with hostile.serve("hang") as server:
        code, out, err, seconds = run(run_cli, server.base_url, "--timeout", "2")
    assert code == 1 and "Traceback" not in err
    assert any("timeout" in line or "gave up" in line for line in reasons(out)), out
    # The served-model check waits PROBE_TIMEOUT (5 s); then calls time out at 2 s each
    # and are retried until no answer came for QUIET (15 s): the endpoint is given up
    # then, not after every retry of every call (6 minutes at the defaults before).
    assert seconds < 5 + 15 + 2 + 10, seconds
    assert "timed out here after reaching the server" in out  # may be billed: said so


def test_a_trickling_server_is_cut_off_at_the_whole_call_deadline(run_cli):
    with hostile.serve("trickle", interval=0.5) as server:
        code, out, err, seconds = run(run_cli, server.base_url, "--timeout", "3", "--retries", "1")
    assert code == 1 and "Traceback" not in err
    assert any("within 3 s" in line for line in reasons(out)), out
    assert seconds < 25, seconds  # --timeout is the whole call, not one read


def test_a_refusing_server_is_given_up_at_once(run_cli):
    with hostile.refused() as url:
        code, out, err, seconds = run(run_cli, url.base_url)
    assert code == 1 and "Traceback" not in err
    assert any("gave up" in line or "connection" in line for line in reasons(out)), out
    assert seconds < 15 + 20, seconds


@pytest.mark.parametrize("value", ["3600", "inf"])
def test_a_long_retry_after_fails_with_the_reason_instead_of_sleeping(run_cli, value):
    with hostile.serve("retry_after", retry_after=value) as server:
        code, out, err, seconds = run(run_cli, server.base_url)
    assert code == 1 and "Traceback" not in err
    assert any("more than the 120 s a run waits" in line for line in reasons(out)), out
    assert seconds < 15, seconds


def test_a_malformed_url_is_a_one_line_error(run_cli):
    code, out, err = run_cli("run", "--model", "openai/x", "--base-url", "htp:/nowhere", *SMALL)
    assert code == 2 and err.startswith("error: --base-url 'htp:/nowhere' is not an http(s) address")


def test_a_server_that_ignores_n_keeps_every_answer_and_is_remembered(run_cli, tmp_path):
    with hostile.serve("one_choice") as server:
        code, out, err, _ = run(run_cli, server.base_url, "--samples", "10", "--level", "3")
        assert code == 0, out + err
        assert "calls: 30 made, 0 cached, 0 failed" in out
        # 3 buckets x 10 answers; the first request of each bucket asked for 8 (one
        # came back and was kept) and, sent at once, the second for 2: every request
        # brought one answer, so none was wasted.
        assert len(study_bodies(server)) == 30
        assert re.search(r"note: .* ignores `n`", out), out
        before = len(study_bodies(server))
        code, out, err, _ = run(run_cli, server.base_url, "--samples", "12", "--level", "3")
        assert code == 0 and "calls: 6 made, 30 cached, 0 failed" in out
        later = study_bodies(server)[before:]
        assert len(later) == 6 and all("n" not in body for body in later), "remembered: one request per answer"
