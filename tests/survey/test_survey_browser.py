"""The survey in a real browser: Debian's Chromium, driven by Playwright, against
`python -m helpers survey serve` (what `make survey` runs) with a temporary
database. Every request the browser makes that is not to the local servers is
blocked and counted (there must be none).

1. A Prolific participant: arrives with Prolific's three URL parameters,
   consents, passes the attention checks, answers every scenario (one
   explanation pasted through the real clipboard) and every game setting, and
   sees the completion code. The organiser then downloads the export, and the
   test finds in it the platform ids (only in platform_ids.csv), per-answer
   timings, the paste flags and the attention results.
2. The same with a completion URL: the end page sends the participant on to it
   (a local stub standing in for Prolific), with no JavaScript involved.
3. A class: two participants answer side by side (one reloads halfway and
   resumes), a third comes back on a fresh device with her code, typed text is
   never rendered as markup, and the organiser's page needs the key.
"""

import csv
import http.server
import io
import re
import sqlite3
import threading
import zipfile
from pathlib import Path

import pytest
from browser import chromium_page, needs_chromium, only_local
from survey_server import REPO, small_scenarios, survey_server, write_settings

from helpers.economics.games import load_games
from helpers.economics.humans import prompt_for_people

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]
WAIT = 60_000  # ms; generous for a loaded 2-core machine, normally well under a second
PROLIFIC = {"PROLIFIC_PID": "5f1a2b3c4d5e6f7a8b9c0d1e", "STUDY_ID": "65aa11bb22cc33dd44ee55ff",
            "SESSION_ID": "sess-9f8e7d6c5b4a"}
CHECKS = """
[[checks]]
id = "colour"
after = 1
prompt = "This question checks that you are reading carefully. Please pick the option 'Orange' below."
options = ["Green", "Orange", "Blue"]
answer = "Orange"

[[checks]]
id = "weekday"
after = 3
prompt = "To show that you are still reading, please pick 'Thursday'."
options = ["Monday", "Thursday", "Sunday"]
answer = "Thursday"
"""
PASTED = "Rules are there for a reason, but this case is an exception."


def prolific_study(tmp_path: Path, completion: str) -> list[str]:
    settings = write_settings(tmp_path / "study.toml", platform="prolific", checks=CHECKS,
                              modules='["scenarios", "games"]', games='games = ["prisoners_dilemma", "dictator"]',
                              extra_study=completion)
    return ["--settings", str(settings), "--scenarios", str(small_scenarios(tmp_path / "s.toml", 3))]


def watched(browser, allowed: tuple[str, ...], **options):
    """A fresh context (a participant's device) whose outside requests are blocked and
    counted, and whose CSP violations are collected."""
    context = browser.new_context(**options)
    blocked = only_local(context, allowed)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    return context, page, blocked, problems


def consent(page):
    page.get_by_role("heading", name="Before you start").wait_for(timeout=WAIT)
    page.get_by_role("checkbox").check()
    page.get_by_role("button", name="Start").click()
    page.get_by_text(re.compile(r"Question 1 of \d+")).wait_for(timeout=WAIT)


def progress(page) -> tuple[int, int]:
    number, total = re.search(r"Question (\d+) of (\d+)", page.locator(".progress").inner_text()).groups()
    return int(number), int(total)


def save(page, number: int, total: int):
    page.get_by_role("button", name="Save and continue").click()
    if number < total:
        page.get_by_text(f"Question {number + 1} of {total}").wait_for(timeout=WAIT)
    else:
        page.get_by_role("heading", name="Thank you!").wait_for(timeout=WAIT)


def answer_everything(page) -> dict[str, list]:
    """Answer every step on screen as a careful participant would: type most
    explanations key by key, paste one, pick the instructed option of each check
    and the first option of each game. What was shown, by kind."""
    seen: dict[str, list] = {"scenario": [], "check": [], "game": []}
    while True:
        number, total = progress(page)
        prompt = page.locator("#prompt").inner_text()
        if page.locator("textarea").count():
            seen["scenario"].append(prompt)
            page.get_by_role("radio", name="Yes", exact=True).check()
            box = page.locator("textarea")
            if len(seen["scenario"]) == 2:  # pasted through the real clipboard, then nothing typed
                page.evaluate("text => navigator.clipboard.writeText(text)", PASTED)
                box.click()
                page.keyboard.press("Control+V")
                page.wait_for_function("document.querySelector('textarea').value.length > 0")
            else:
                box.press_sequentially(f"My own reason {number}.")
        elif page.locator("legend").inner_text() == "Choose one":  # an attention check
            seen["check"].append(prompt)
            wanted = re.search(r"pick (?:the option )?'(\w+)'", prompt).group(1)
            page.get_by_role("radio", name=wanted, exact=True).check()
        else:
            seen["game"].append(prompt)
            page.get_by_role("radio").first.check()
        save(page, number, total)
        if number == total:
            return seen


def read_zip(data: bytes) -> dict[str, list[dict]]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    return {name: list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8"))))
            for name in archive.namelist()}


def download_export(browser, server, allowed) -> tuple[bytes, list[str]]:
    context, page, blocked, problems = watched(browser, allowed, accept_downloads=True)
    page.goto(server.url + "/organiser")
    page.get_by_text("Open the organiser link").wait_for(timeout=WAIT)  # refused without the key
    page.goto(server.organiser_url)
    page.get_by_role("heading", name="Exclusions").wait_for(timeout=WAIT)
    assert "key=" not in page.url  # the key left the address bar
    with page.expect_download(timeout=WAIT) as download:
        page.get_by_role("link", name="Download everything (zip)").click()
    data = Path(download.value.path()).read_bytes()
    text = page.locator("#progress").inner_text()
    context.close()
    assert blocked == [] and problems == []
    return data, [text]


def test_a_prolific_participant_to_the_completion_code_and_the_export(tmp_path):
    args = prolific_study(tmp_path, 'completion_code = "C1A2B3"')
    link = "/?" + "&".join(f"{k}={v}" for k, v in PROLIFIC.items())
    with survey_server(tmp_path, *args) as server, chromium_page() as browser:
        allowed = (server.url + "/",)
        context, page, blocked, problems = watched(browser, allowed,
                                                   permissions=["clipboard-read", "clipboard-write"])
        page.goto(server.url + link)
        consent(page)
        assert "5f1a2b3c" not in page.url  # the platform id stays out of the participant's address
        seen = answer_everything(page)
        assert page.locator("#completion-code").inner_text() == "C1A2B3"
        assert page.get_by_text("Your code:").count() == 1
        context.close()
        assert blocked == [] and problems == []

        # 3 scenarios, both checks, every setting of the two games; each game shown with the agents' text.
        games = [g for g in load_games(REPO / "games.toml") if g.id in ("prisoners_dilemma", "dictator")]
        # prompt_for_people is what an agent is sent (tests/economics/test_human_prompts.py pins that).
        agents = sorted(" ".join(prompt_for_people(s).split()) for g in games for s in g.settings)
        assert [len(seen[k]) for k in ("scenario", "check")] == [3, 2]
        assert sorted(" ".join(p.split()) for p in seen["game"]) == agents

        data, _ = download_export(browser, server, allowed)

    files = read_zip(data)
    assert {"answers.csv", "participants.csv", "games.csv", "checks.csv", "platform_ids.csv",
            "codebook.csv"} <= set(files)
    # The platform ids: in platform_ids.csv, nowhere else.
    (ids,) = files["platform_ids.csv"]
    assert ids["platform"] == "prolific" and ids["platform_id"] == PROLIFIC["PROLIFIC_PID"]
    assert all(f"{k}={v}" in ids["params"] for k, v in PROLIFIC.items())
    archive = zipfile.ZipFile(io.BytesIO(data))
    for name in set(files) - {"platform_ids.csv"}:
        text = archive.read(name).decode("utf-8")
        assert not any(value in text for value in PROLIFIC.values()), name
    # Per answer: when shown, when submitted, how long, how it was written.
    answers = files["answers.csv"]
    pid = ids["participant_id"]
    assert len(answers) == 3 and {a["participant_id"] for a in answers} == {pid}
    for a in answers:
        assert a["shown_at"] and a["timestamp"] and float(a["seconds"]) > 0
        assert a["consent_version"] == "t-1" and a["device"] == "desktop" and a["completed"] == "true"
        assert a["attention_passed"] == "2" and a["attention_total"] == "2" and a["excl_attention"] == "false"
    pasted = [a for a in answers if a["explanation"] == PASTED]
    typed = [a for a in answers if a["explanation"] != PASTED]
    assert len(pasted) == 1 and len(typed) == 2
    assert pasted[0]["paste_count"] == "1" and pasted[0]["pasted_chars"] == str(len(PASTED))
    assert pasted[0]["excl_paste"] == "true"
    for a in typed:  # typed key by key: one input event per character, no paste
        assert a["paste_count"] == "0" and a["pasted_chars"] == "0" and a["excl_paste"] == "false"
        assert int(a["edits"]) == len(a["explanation"])
    # The attention results and the game choices.
    assert sorted((c["check"], c["choice"], c["passed"]) for c in files["checks.csv"]) == [
        ("colour", "Orange", "1"), ("weekday", "Thursday", "1")]
    assert len(files["games.csv"]) == len(agents) and all(float(g["seconds"]) > 0 for g in files["games.csv"])
    (person,) = files["participants.csv"]
    assert person["completed"] == "true" and float(person["total_seconds"]) > 0


class Stub(http.server.BaseHTTPRequestHandler):
    """Stands in for the platform's completion page, and notes who arrived."""
    arrived: list[str] = []

    def do_GET(self):
        Stub.arrived.append(self.path)
        body = b"<!doctype html><title>Completed</title><h1>Submission complete</h1>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_the_end_page_sends_the_participant_to_the_completion_url(tmp_path):
    stub = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    stub_url = f"http://127.0.0.1:{stub.server_address[1]}"
    Stub.arrived = []
    try:
        settings = write_settings(tmp_path / "study.toml", platform="prolific",
                                  extra_study=f'completion_code = "C1A2B3"\n'
                                              f'completion_url = "{stub_url}/submissions/complete?cc=C1A2B3"')
        args = ["--settings", str(settings), "--scenarios", str(small_scenarios(tmp_path / "s.toml", 2))]
        with survey_server(tmp_path, *args) as server, chromium_page() as browser:
            context, page, blocked, problems = watched(browser, (server.url + "/", stub_url + "/"),
                                                       java_script_enabled=False)
            page.goto(server.url + "/?" + "&".join(f"{k}={v}" for k, v in PROLIFIC.items()))
            consent(page)
            for number in (1, 2):
                page.get_by_role("radio", name="No", exact=True).check()
                page.locator("textarea").fill(f"reason {number}")
                save(page, number, 2)
            assert page.locator("#completion-code").inner_text() == "C1A2B3"
            page.get_by_role("heading", name="Submission complete").wait_for(timeout=WAIT)  # the meta refresh
            assert page.url == f"{stub_url}/submissions/complete?cc=C1A2B3"
            context.close()
            assert blocked == [] and problems == []
        assert Stub.arrived == ["/submissions/complete?cc=C1A2B3"]
        # Without JavaScript the page could not count edits or pastes: stored as not recorded.
        with sqlite3.connect(server.db) as conn:
            assert conn.execute("SELECT edits, paste_count, pasted_chars FROM answers").fetchall() == [
                (None, None, None)] * 2
    finally:
        stub.shutdown()


def code_on(page) -> str:
    return page.get_by_text("Your code:").locator("code").inner_text()


def answer_one(page, decision: str, explanation: str):
    """Answer the step on screen (a check: its instructed option) and wait for the next."""
    number, total = progress(page)
    if page.locator("textarea").count():
        page.get_by_role("radio", name=decision, exact=True).check()
        page.locator("textarea").fill(explanation)
    else:
        wanted = re.search(r"pick (?:the option )?'(\w+)'", page.locator("#prompt").inner_text()).group(1)
        page.get_by_role("radio", name=wanted, exact=True).check()
    save(page, number, total)


def test_a_class_side_by_side_a_reload_a_returning_code_and_the_key(tmp_path):
    """The workspace's own study.toml and scenarios.toml: 10 scenarios and 2 checks."""
    key = "class-organiser-key"
    with survey_server(tmp_path, "--study", "browser-test", env={"EXCEPTIONS_ORGANISER_KEY": key}) as server, \
            chromium_page() as browser:
        allowed = (server.url + "/",)
        # Separate contexts: two people on two devices, answering at the same time.
        (ann_context, ann, ann_blocked, ann_csp), (bob_context, bob, bob_blocked, bob_csp) = (
            watched(browser, allowed), watched(browser, allowed))
        for page in (ann, bob):
            page.goto(server.url)
            consent(page)
        total = progress(ann)[1]
        assert total == 12

        # An incomplete answer is refused with a message and nothing is stored.
        bob.get_by_role("radio", name="No", exact=True).check()
        bob.get_by_role("button", name="Save and continue").click()
        bob.get_by_text("Please explain your decision").wait_for(timeout=WAIT)
        assert bob.get_by_role("radio", name="No", exact=True).is_checked()  # the choice is kept
        with sqlite3.connect(server.db) as conn:
            assert conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 0

        for _ in range(6):
            answer_one(ann, "Yes", f"ann reason {progress(ann)[0]}")
            answer_one(bob, "No", f"<b>bob</b> reason {progress(bob)[0]}")
        # Typed text is stored as typed and never rendered as HTML.
        assert bob.locator("main b").count() == 0

        # Ann reloads halfway: her answers are kept and she resumes where she was.
        ann_code = code_on(ann)
        ann.reload()
        ann.get_by_text(f"Question 7 of {total}").wait_for(timeout=WAIT)
        assert code_on(ann) == ann_code
        for _ in range(6):
            answer_one(ann, "Yes", f"ann reason {progress(ann)[0]}")
            answer_one(bob, "No", f"<b>bob</b> reason {progress(bob)[0]}")
        for page in (ann, bob):
            page.get_by_role("heading", name="Thank you!").wait_for(timeout=WAIT)

        # Cleo answers two questions, closes the tab and comes back on a fresh device with her code.
        cleo_context, cleo, cleo_blocked, cleo_csp = watched(browser, allowed)
        cleo.goto(server.url)
        consent(cleo)
        answer_one(cleo, "Yes", "cleo one")
        answer_one(cleo, "No", "cleo two")  # the first check comes after the third scenario
        cleo_code = code_on(cleo)
        cleo_context.close()
        cleo_context, cleo, cleo_blocked2, cleo_csp2 = watched(browser, allowed)
        cleo.goto(server.url)
        cleo.get_by_label("Your code:").fill(cleo_code.upper())
        cleo.get_by_role("button", name="Continue").click()
        cleo.get_by_text(f"Question 3 of {total}").wait_for(timeout=WAIT)

        # The organiser's page needs the key: a guess is refused and shows nothing.
        visitor_context, visitor, visitor_blocked, _ = watched(browser, allowed)
        visitor.goto(server.url + "/?view=organiser&key=a-wrong-guess")
        visitor.get_by_text("That is not the organiser's key").wait_for(timeout=WAIT)
        assert visitor.get_by_text("participants consented").count() == 0
        visitor.goto(server.url + "/organiser")
        assert visitor.get_by_text("participants consented").count() == 0
        # With it (the old URL still works), the page counts what is stored.
        visitor.goto(server.url + f"/?view=organiser&key={key}")
        summary = " ".join(visitor.locator("#progress").inner_text().split())
        assert "3 participants consented, 2 finished, 22 answers saved" in summary
        assert visitor.locator("#buckets tr").count() == 11  # a header and 10 scenarios
        visitor.get_by_role("button", name="Publish to data/ for the notebooks").click()
        visitor.get_by_text("22 rows to").wait_for(timeout=WAIT)
        for context in (ann_context, bob_context, cleo_context, visitor_context):
            context.close()
        assert ann_blocked == bob_blocked == cleo_blocked == cleo_blocked2 == visitor_blocked == []
        assert ann_csp == bob_csp == cleo_csp == cleo_csp2 == []

    with sqlite3.connect(server.db) as conn:
        people = dict(conn.execute("SELECT code, participant_id FROM participants WHERE study = 'browser-test'"))
        rows = conn.execute("SELECT participant_id, decision, explanation FROM answers").fetchall()
    assert len(people) == 3 and len(rows) == 22
    ann_id, cleo_id = people[ann_code.replace("-", "")], people[cleo_code.replace("-", "")]
    (bob_id,) = set(people.values()) - {ann_id, cleo_id}
    by_person = {pid: [r for r in rows if r[0] == pid] for pid in (ann_id, bob_id, cleo_id)}
    assert [len(by_person[p]) for p in (ann_id, bob_id, cleo_id)] == [10, 10, 2]
    assert {r[1] for r in by_person[ann_id]} == {"yes"} and {r[1] for r in by_person[bob_id]} == {"no"}
    assert all(r[2].startswith("<b>bob</b> reason ") for r in by_person[bob_id])
    published = list(csv.DictReader((server.data / "human_responses.csv").open(encoding="utf-8")))
    assert len(published) == 22 and {r["study"] for r in published} == {"browser-test"}
