"""A cache written by the main of commit 86f8d7c (schema-1 keys) answers the same
runs today with zero new calls: the paid-for answers keep answering, and a
request that differs from what was cached is not answered from it."""

import shutil
from pathlib import Path

import pytest

from helpers import paths

FIXTURE = Path(__file__).parent / "fixtures" / "cache-86f8d7c" / "calls"
URL = "http://127.0.0.1:18099/v1"  # where the fixture's server was; nothing listens there now
OPENAI = ("--model", "openai/gpt-4o-mini", "--base-url", URL, "--retries", "0")
OLD = "--no-control"  # that checkout's scenarios had no controls: its runs measured levels 1..6


@pytest.fixture
def old_cache():
    target = paths.calls_cache_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(FIXTURE, target)
    return target


RUNS = [
    (("run", "--model", "local/smollm2-135m-instruct", OLD), 60),
    (("run", "--model", "local/smollm2-135m-instruct", "--mode", "sample", "--samples", "2",
      "--scenario", "grocery_prices", "--max-tokens", "8", OLD), 12),
    (("run", *OPENAI, OLD), 60),
    (("run", *OPENAI, "--mode", "sample", "--samples", "3", OLD), 180),
    (("run", *OPENAI, "--variant", "cot_guided", "--mode", "sample", "--samples", "1", "--scenario", "grocery_prices",
      OLD), 18),
    (("games", "run", *OPENAI[:4], "--samples", "2"), 38),
]


@pytest.mark.parametrize("argv,answers", RUNS, ids=["local exact", "local sample", "openai exact",
                                                     "openai sample", "openai cot", "games"])
def test_yesterdays_answers_answer_todays_runs(old_cache, run_cli, argv, answers):
    for attempt in range(2):  # the second run reads the answers under their new keys
        code, out, err = run_cli(*argv)
        assert code == 0, err
        assert f"calls: 0 made, {answers} cached, 0 failed" in out, (attempt, out[-400:], err[-400:])


def test_old_answers_are_copied_to_their_new_keys_once(old_cache, run_cli):
    import diskcache

    with diskcache.Cache(str(old_cache)) as raw:
        before = len(raw)
    run_cli("run", "--model", "local/smollm2-135m-instruct", OLD)
    run_cli("run", "--model", "local/smollm2-135m-instruct", OLD)
    with diskcache.Cache(str(old_cache)) as raw:
        assert len(raw) == before + 60  # every old entry stays; 60 copies, not 120


def test_a_different_request_is_not_answered_from_the_old_cache(old_cache, run_cli):
    # max_tokens 9 was never sent, so no old answer may stand in for it: the call is
    # attempted (and fails, as nothing listens at the URL) instead of reusing one.
    code, out, err = run_cli("run", *OPENAI, "--mode", "sample", "--samples", "1", "--max-tokens", "9",
                             "--scenario", "grocery_prices", OLD)
    assert code == 1, err  # failed answers: exit status 1
    assert "calls: 0 made, 0 cached, 6 failed" in out
