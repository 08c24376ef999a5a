"""A damaged answer cache is one clear error that says how to recover, never a
traceback and never a silently recreated (so re-bought) cache; answers that
could not be kept are reported, not counted as stored."""

import sqlite3

import pytest

from helpers import paths
from helpers.exceptions import experiment, scenarios

SMALL = ("--scenario", "grocery_prices", "--no-control", "--mode", "sample", "--samples", "2")


def filled_cache(run_cli, server):
    code, out, err = run_cli("run", "--model", "openai/gpt-4o-mini", "--base-url", server.base_url, *SMALL)
    assert code == 0 and "calls: 12 made" in out, err
    return paths.calls_cache_dir() / "cache.db"


def kept(db):
    """The stored answers, if sqlite can read the file, else its bytes (diskcache
    rewrites its settings rows whenever it opens a file, so bytes would differ)."""
    if not db.exists():
        return None
    try:
        with sqlite3.connect(db) as conn:
            return sorted(conn.execute("SELECT key, value FROM Cache").fetchall())
    except sqlite3.DatabaseError:
        return db.read_bytes()


def garbage(db):
    db.write_bytes(b"this is not an sqlite file at all\n" * 100)


def half(db):
    db.write_bytes(db.read_bytes()[: db.stat().st_size // 2])


def header_only(db):
    db.write_bytes(db.read_bytes()[:100])


def emptied(db):
    db.write_bytes(b"")


def removed(db):
    db.unlink()


def bad_values(db):
    with sqlite3.connect(db) as conn:  # every stored answer becomes an unreadable pickle
        conn.execute("UPDATE Cache SET value = X'800463676172626167650a'")


@pytest.mark.parametrize("damage,why", [
    (garbage, "file is not a database"),
    (half, "damaged ("),
    (header_only, "damaged ("),
    (emptied, "the file is empty (0 bytes)"),
    (removed, "cache.db is missing from a folder that held answers"),
    (bad_values, "damaged ("),
], ids=["not a database", "truncated to half", "header only", "0 bytes", "deleted", "unreadable values"])
def test_a_damaged_cache_is_one_line_that_says_how_to_recover(run_cli, fake_openai, damage, why):
    db = filled_cache(run_cli, fake_openai)
    damage(db)
    before = kept(db)
    made = len(fake_openai.completions())
    code, out, err = run_cli("run", "--model", "openai/gpt-4o-mini", "--base-url", fake_openai.base_url, *SMALL)
    assert code == 2 and out == ""
    assert err.startswith("error: the answer cache ") and why in err, err
    assert "move it aside" in err and len(err.strip().splitlines()) == 1
    assert len(fake_openai.completions()) == made, "nothing may be bought again"
    assert kept(db) == before, "what the damaged file holds is left as it was"


def test_answers_lost_when_the_file_is_deleted_during_a_run_are_reported(fake_openai):
    chosen = scenarios.select(scenarios.load_scenarios(), ["grocery_prices"])
    config = experiment.RunConfig(models=("openai/gpt-4o-mini",), base_url=fake_openai.base_url,
                                  mode="sample", samples=2, control=False)
    experiment.run(config, chosen[:1], make_calls=False)  # creates the cache file

    def delete_after_first_answer(state):
        db = paths.calls_cache_dir() / "cache.db"
        if state.made and db.exists():
            db.unlink()

    result = experiment.run(config, chosen, progress=delete_after_first_answer)
    assert result.stats.made == 12
    assert result.stats.unstored == 12
    assert "12 answers could not be stored" in result.stats.line()
    assert "deleted or replaced during the run" in result.stats.line()


def test_a_healthy_cache_reports_nothing_lost(run_cli, fake_openai):
    filled_cache(run_cli, fake_openai)
    code, out, _ = run_cli("run", "--model", "openai/gpt-4o-mini", "--base-url", fake_openai.base_url, *SMALL)
    assert code == 0 and out.strip().endswith("calls: 0 made, 12 cached, 0 failed")


def test_the_cli_exits_1_when_answers_could_not_be_stored(run_cli, fake_openai):
    import threading
    import time

    db = filled_cache(run_cli, fake_openai)
    before = len(fake_openai.completions())

    def delete_once_calls_start():
        while len(fake_openai.completions()) == before:
            time.sleep(0.001)
        db.unlink()

    remover = threading.Thread(target=delete_once_calls_start)
    remover.start()
    code, out, _ = run_cli("run", "--model", "openai/gpt-4o-mini", "--base-url", fake_openai.base_url,
                           "--scenario", "grocery_prices", "--mode", "sample", "--samples", "3")
    remover.join(timeout=30)
    assert code == 1
    assert "answers could not be stored" in out and "deleted or replaced during the run" in out
