"""The survey in a real browser: Debian's Chromium, driven by Playwright, against
`marimo run` of apps/survey.py with a temporary database.

Two participants answer side by side (one reloads halfway and resumes), a third
comes back on a fresh page with their code, and the organiser exports. The test
then reads the SQLite file and the export themselves."""

import sqlite3
from pathlib import Path

import pytest
from browser import chromium_page, marimo_server, needs_chromium

from helpers.humans import responses as human
from helpers.exceptions.scenarios import load_scenarios

REPO = Path(__file__).resolve().parents[2]
SURVEY = REPO / "apps/survey.py"
WAIT = 60_000  # ms; generous for a loaded 2-core machine, normally well under a second

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]


def start(page, url):
    page.goto(url)
    page.get_by_role("heading", name="Before you start").wait_for(timeout=WAIT)
    page.get_by_role("checkbox").check()
    page.get_by_role("button", name="Start").click()
    page.get_by_text("Question 1 of 10").wait_for(timeout=WAIT)


def answer(page, number, decision, explanation):
    """Answer the question on screen (number `number`) and wait for the next page."""
    page.get_by_text(f"Question {number} of 10").wait_for(timeout=WAIT)
    page.get_by_role("radio", name=decision, exact=True).check()
    page.get_by_role("textbox").fill(explanation)
    page.get_by_role("button", name="Save and continue").click()
    if number < 10:
        page.get_by_text(f"Question {number + 1} of 10").wait_for(timeout=WAIT)
    else:
        page.get_by_role("heading", name="Thank you!").wait_for(timeout=WAIT)


def code_on(page):
    return page.get_by_text("Your code:").locator("code").inner_text()


def test_two_participants_a_reload_a_returning_code_and_the_export(tmp_path, models_dir):
    db = tmp_path / "db" / "survey.sqlite"
    data = tmp_path / "data"
    env = {"EXCEPTIONS_SURVEY_DB": str(db), "EXCEPTIONS_DATA": str(data), "EXCEPTIONS_ORGANISER_KEY": "k3y",
           "EXCEPTIONS_CACHE": str(tmp_path / "cache"), "EXCEPTIONS_MODELS": str(models_dir)}
    with marimo_server(SURVEY, env, "--", "--study", "browser-test") as url, chromium_page() as browser:
        # Separate contexts: two people on two devices, answering at the same time.
        ann, bob = browser.new_context().new_page(), browser.new_context().new_page()
        start(ann, url)
        start(bob, url)

        # An incomplete answer is refused in the page and nothing is stored.
        bob.get_by_role("radio", name="No", exact=True).check()
        bob.get_by_role("button", name="Save and continue").click()
        bob.get_by_text("Please explain your decision").wait_for(timeout=WAIT)
        assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 0

        for number in range(1, 6):
            answer(ann, number, "Yes", f"ann reason {number}")
            answer(bob, number, "No", f"<b>bob</b> reason {number}")
        # Typed text is stored as typed and never rendered as HTML.
        assert bob.locator("b", has_text="bob").count() == 0

        # Ann reloads halfway: her answers are kept and she resumes at question 6.
        ann_code = code_on(ann)
        ann.reload()
        ann.get_by_text("Question 6 of 10").wait_for(timeout=WAIT)
        assert code_on(ann) == ann_code
        for number in range(6, 11):
            answer(ann, number, "Yes", f"ann reason {number}")
            answer(bob, number, "No", f"<b>bob</b> reason {number}")

        # Cleo answers two questions, closes the tab and comes back on a fresh page with her code.
        cleo = browser.new_context().new_page()
        start(cleo, url)
        answer(cleo, 1, "Yes", "cleo one")
        answer(cleo, 2, "No", "cleo two")
        cleo_code = code_on(cleo)
        cleo.context.close()
        cleo = browser.new_context().new_page()
        cleo.goto(url)
        cleo.get_by_role("textbox").fill(cleo_code.upper())
        cleo.get_by_role("button", name="Continue").click()
        cleo.get_by_text("Question 3 of 10").wait_for(timeout=WAIT)

        # The organiser's page needs the key: without it a visitor sees the survey.
        visitor = browser.new_page()
        visitor.goto(url + "/?view=organiser&key=guess")
        visitor.get_by_role("heading", name="Before you start").wait_for(timeout=WAIT)
        assert visitor.get_by_text("participants consented").count() == 0
        # With it, the page counts what is stored and exports it.
        organiser = browser.new_page()
        organiser.goto(url + "/?view=organiser&key=k3y")
        organiser.get_by_text("finished").wait_for(timeout=WAIT)
        summary = organiser.get_by_text("participants consented").inner_text()
        assert "3 participants consented" in " ".join(summary.split())
        assert "22 answers saved" in " ".join(summary.split())
        organiser.get_by_role("button", name="Export to the human-responses file").click()
        organiser.get_by_text("Wrote 22 answers").wait_for(timeout=WAIT)

    # The database holds every answer, each with its participant, level and text.
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        people = dict(conn.execute("SELECT code, participant_id FROM participants WHERE study = 'browser-test'").fetchall())
        rows = conn.execute("SELECT participant_id, scenario, level, decision, explanation FROM answers").fetchall()
        assigned = set(conn.execute("SELECT participant_id, scenario, level FROM assignments").fetchall())
    assert len(people) == 3 and len(rows) == 22
    ann_id, cleo_id = people[ann_code.replace("-", "")], people[cleo_code.replace("-", "")]
    (bob_id,) = set(people.values()) - {ann_id, cleo_id}
    by_person = {pid: [r for r in rows if r[0] == pid] for pid in (ann_id, bob_id, cleo_id)}
    assert len(by_person[ann_id]) == len(by_person[bob_id]) == 10 and len(by_person[cleo_id]) == 2
    assert {r[3] for r in by_person[ann_id]} == {"yes"} and {r[3] for r in by_person[bob_id]} == {"no"}
    assert sorted(r[4] for r in by_person[bob_id]) == sorted(f"<b>bob</b> reason {n}" for n in range(1, 11))
    assert all((pid, scenario, level) in assigned for pid, scenario, level, _, _ in rows)

    # The export is the human-responses format and is what 01_baseline now compares with.
    scenarios = load_scenarios(REPO / "scenarios.toml")
    exported = human.load_human(data / "human_responses.csv", scenarios)
    assert len(exported) == 22 and set(exported["study"]) == {"browser-test"}
    assert set(exported["participant_id"]) == {ann_id, bob_id, cleo_id}
    assert sorted(map(tuple, exported[["participant_id", "scenario", "level", "decision", "explanation"]].to_numpy())) \
        == sorted(rows)
