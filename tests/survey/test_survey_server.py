"""The survey's web server over HTTP: the real `python -m helpers survey serve`
on 127.0.0.1 with a real SQLite file, spoken to with httpx and raw sockets.

Closed by default (the organiser's page and every export need the key, also the
generated one), no caching and a strict CSP on every response, the size limit
(by Content-Length and by counting a chunked upload, without the server's
memory growing by the upload), participant text only ever as text, a too-long
explanation kept in the form with a one-line message, a second submit told that
the first answer stands, a returning platform link resuming, the completion
redirect, and the open-file budget at start."""

import html
import io
import re
import resource
import select
import socket
import sqlite3
import subprocess
import sys
import time
import zipfile

import httpx
import pytest
from survey_server import REPO, small_scenarios, survey_server, write_settings

pytestmark = pytest.mark.slow  # starts servers

CHECK = """
[[checks]]
id = "colour"
after = 1
prompt = "Please pick the option 'Orange' below."
options = ["Green", "Orange"]
answer = "Orange"
"""
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")


@pytest.fixture
def study(tmp_path):
    """Two scenarios and one attention check after the first."""
    settings = write_settings(tmp_path / "study.toml", checks=CHECK)
    return ["--settings", str(settings), "--scenarios", str(small_scenarios(tmp_path / "s.toml", 2))]


def client(server, **kwargs) -> httpx.Client:
    return httpx.Client(base_url=server.url, follow_redirects=False, timeout=30, **kwargs)


def step_key(page: str) -> str:
    return re.search(r'name="step" value="([^"]+)"', page).group(1)


def textarea(page: str) -> str:
    """What the explanation box holds, as the browser would show it."""
    raw = re.search(r'<textarea[^>]*>\n?(.*?)</textarea>', page, re.S).group(1)
    return html.unescape(raw)


def join(c: httpx.Client, query: str = "", **platform) -> str:
    """Arrive (with the study link's parameters), consent; the participant's code."""
    page = c.get("/" + query)
    assert page.status_code == 200, page.text
    draft = re.search(r'name="draft" value="([a-z0-9]+)"', page.text).group(1)
    started = c.post("/start", data={"consent": "yes", "draft": draft, **platform})
    assert started.status_code == 303, started.text
    return started.headers["location"].removeprefix("/s/")


def answer(c: httpx.Client, code: str, **fields) -> httpx.Response:
    """Post to the step on screen (its key read from the page)."""
    page = c.get(f"/s/{code}").text
    return c.post(f"/s/{code}", data={"step": step_key(page), **fields})


def finish(c: httpx.Client, code: str) -> str:
    """Answer every step (Yes, the check right); the end page."""
    while True:
        page = c.get(f"/s/{code}").text
        if "Thank you!" in page:
            return page
        if 'name="decision"' in page:
            fields = {"decision": "yes", "explanation": "a reason", "edits": "9", "paste_count": "0",
                      "pasted_chars": "0"}
        else:
            fields = {"choice": "Orange"}
        assert c.post(f"/s/{code}", data={"step": step_key(page), **fields}).status_code == 303


def rows(db, sql, *params):
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


# --- closed by default -------------------------------------------------------------------

def test_the_organiser_needs_the_key_even_when_none_was_configured(tmp_path, study):
    with survey_server(tmp_path, *study) as server, client(server) as c:
        assert "a random key" in "".join(server.lines) and len(server.key) >= 16
        join(c)
        # Without the key: refused, and nothing of the study shows.
        for path in ("/organiser", "/organiser/export.zip", "/organiser?key=wrong-key-guess"):
            refused = c.get(path)
            assert refused.status_code == 403 and "participants consented" not in refused.text, path
            assert refused.headers["cache-control"] == "no-store"
        assert c.post("/organiser/publish", data={}).status_code == 403
        assert c.post("/organiser/login", data={"key": "wrong-key-guess"}).status_code == 403
        # The old URL (marimo's app) leads to the same door.
        old = c.get(f"/?view=organiser&key={server.key}")
        assert old.status_code == 303 and old.headers["location"] == f"/organiser?key={server.key}"
        # The printed URL: a cookie for the key, and a redirect that takes the key out of the address.
        admitted = c.get(server.organiser_url.removeprefix(server.url))
        assert admitted.status_code == 303 and admitted.headers["location"] == "/organiser"
        cookie = admitted.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/organiser" in cookie
        assert server.key not in cookie  # the cookie stands for the key, it is not the key
        page = c.get("/organiser")
        assert page.status_code == 200 and "1</strong> participants consented" in page.text
        # A fresh client (another browser) with no cookie is still refused.
        with client(server) as other:
            assert other.get("/organiser").status_code == 403
            # The key typed into the form works too.
            assert other.post("/organiser/login", data={"key": server.key}).status_code == 303
            assert other.get("/organiser").status_code == 200
    assert "".join(server.lines).count(server.key) == 1  # printed once at start; no access log repeats it


def test_a_configured_key_and_exports_that_are_never_cached(tmp_path, study):
    key = "a-configured-organiser-key"
    with survey_server(tmp_path, *study, env={"EXCEPTIONS_ORGANISER_KEY": key}) as server, client(server) as c:
        assert server.key == key
        finish(c, join(c))
        assert c.get("/organiser/export.zip").status_code == 403
        c.get(f"/organiser?key={key}")
        zipped = c.get("/organiser/export.zip")
        assert zipped.status_code == 200 and zipped.headers["content-type"] == "application/zip"
        assert zipped.headers["cache-control"] == "no-store"
        assert zipped.headers["content-disposition"].startswith('attachment; filename="survey-test-study-')
        names = zipfile.ZipFile(io.BytesIO(zipped.content)).namelist()
        assert {"answers.csv", "participants.csv", "platform_ids.csv", "codebook.csv"} <= set(names)
        # Publish needs the cookie and the page's token; then the notebooks' file exists.
        page = c.get("/organiser").text
        token = re.search(r'name="token" value="([0-9a-f]+)"', page).group(1)
        assert c.post("/organiser/publish", data={"token": "0" * 64}).status_code == 403
        published = c.post("/organiser/publish", data={"token": token})
        assert published.status_code == 303
        assert "2 rows to" in c.get("/organiser").text
        assert (server.data / "human_responses.csv").is_file()


def test_every_response_carries_the_security_headers(tmp_path, study):
    with survey_server(tmp_path, *study) as server, client(server) as c:
        code = join(c)
        responses = [c.get("/"), c.get(f"/s/{code}"), c.get("/s/abcdabcdabcd"), c.get("/nowhere"),
                     c.get("/organiser"), c.post("/start", content=b"x" * 70_000)]
        assert [r.status_code for r in responses] == [200, 200, 404, 404, 403, 413]
        for r in responses:
            csp = r.headers["content-security-policy"]
            assert "default-src 'none'" in csp and "script-src 'nonce-" in csp and "http" not in csp
            assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
            assert r.headers["cache-control"] == "no-store"
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["x-frame-options"] == "DENY" and r.headers["referrer-policy"] == "no-referrer"
        # The nonce is fresh per response, and the page's one script carries it.
        nonces = {re.search(r"nonce-([^']+)", r.headers["content-security-policy"]).group(1) for r in responses}
        assert len(nonces) == len(responses)
        step = responses[1]
        nonce = re.search(r"nonce-([^']+)", step.headers["content-security-policy"]).group(1)
        assert step.text.count("<script") == step.text.count(f'<script nonce="{nonce}">') == 1


# --- the size limit ------------------------------------------------------------------------

def raw_post(port: int, head: str, body_chunks=(), read_between=False) -> tuple[bytes, int]:
    """Send a request by hand; (what came back, body bytes the socket accepted)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sent = 0
    reply = b""
    try:
        sock.sendall(head.encode())
        for chunk in body_chunks:
            if read_between and select.select([sock], [], [], 0)[0]:
                break  # the server has answered: stop like a browser would
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        try:
            while part := sock.recv(65536):
                reply += part
        except (ConnectionResetError, TimeoutError):
            pass
    finally:
        sock.close()
    return reply, sent


def peak_memory(pid: int) -> int:
    """The process's peak resident memory so far (Linux's VmHWM), in bytes."""
    status = open(f"/proc/{pid}/status").read()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) * 1024


def test_an_oversized_post_is_refused_without_reading_it(tmp_path, study):
    with survey_server(tmp_path, *study) as server, client(server) as c:
        code = join(c)
        port = int(server.url.rsplit(":", 1)[1])
        before = peak_memory(server.proc.pid)

        # Declared too large: refused before a byte of the body is read.
        reply, _ = raw_post(port, f"POST /s/{code} HTTP/1.1\r\nHost: x\r\nContent-Type: "
                                  "application/x-www-form-urlencoded\r\nContent-Length: 104857600\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 413") and b"nothing was saved" in reply

        # Not declared (chunked): refused once 64 KiB have streamed in; 100 MB offered.
        piece = b"explanation=" + b"a" * (1 << 20)
        chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        head = f"POST /s/{code} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        reply, sent = raw_post(port, head, [chunk] * 100, read_between=True)
        assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
        # Then keep pushing the whole 100 MB at it, ignoring the answer, as an attacker would.
        _, pushed = raw_post(port, head, [chunk] * 100)
        grown = peak_memory(server.proc.pid) - before
        # Its peak, not its memory now: Python hands a freed 100 MB back at once. Without the
        # limit this peak grew by about 300 MB (the body, its text, the parsed field; measured).
        assert grown < 20 * (1 << 20), f"server memory peaked {grown / 1e6:.1f} MB higher"
        assert pushed < 100 * len(chunk)  # the server stopped taking it

        # Nothing was stored, and the server still serves.
        assert rows(server.db, "SELECT COUNT(*) FROM answers") == [(0,)]
        assert c.get(f"/s/{code}").status_code == 200


# --- what participants see ---------------------------------------------------------------

def test_participant_text_is_never_markup(tmp_path, study):
    hostile = '<b>bold</b><script>alert(1)</script>"><img src=x onerror=alert(2)>'
    with survey_server(tmp_path, *study) as server, client(server) as c:
        # In a platform id carried through the consent page.
        page = c.get("/", params={"participant_label": hostile}).text
        assert "<b>bold</b>" not in page and "<script>alert" not in page and "<img" not in page
        code = join(c, participant_label="label-1")
        # In a kept explanation (too long, so the page comes back with it).
        back = answer(c, code, decision="no", explanation=hostile + "x" * 600)
        assert back.status_code == 422
        assert "<b>bold</b>" not in back.text and "<script>alert" not in back.text and "<img" not in back.text
        assert textarea(back.text) == hostile + "x" * 600  # shown exactly, as text
        # Stored as typed.
        assert answer(c, code, decision="no", explanation=hostile).status_code == 303
        assert rows(server.db, "SELECT explanation FROM answers") == [(hostile,)]


def test_a_too_long_explanation_comes_back_with_the_text_and_one_line(tmp_path, study):
    text = "word " * 122 + "ab"  # 612 characters
    with survey_server(tmp_path, *study) as server, client(server) as c:
        code = join(c)
        back = answer(c, code, decision="yes", explanation=text, edits="40", paste_count="0", pasted_chars="0")
        assert back.status_code == 422
        assert "Please keep your explanation under 500 characters (it has 612)." in back.text
        assert textarea(back.text) == text
        assert 'value="yes" checked' in back.text and 'name="edits" value="40"' in back.text
        missing = answer(c, code, explanation="fine")
        assert missing.status_code == 422 and "Please choose Yes or No." in missing.text
        assert textarea(missing.text) == "fine"
        assert rows(server.db, "SELECT COUNT(*) FROM answers") == [(0,)]
        # Line breaks count as one character each, as the participant typed them.
        lines = "\r\n".join(["x" * 99] * 5)  # 499 characters typed, 503 with a browser's CRLF
        assert answer(c, code, decision="yes", explanation=lines).status_code == 303
        assert rows(server.db, "SELECT explanation FROM answers") == [("\n".join(["x" * 99] * 5),)]


def test_a_second_submit_is_told_the_first_answer_stands(tmp_path, study):
    with survey_server(tmp_path, *study) as server, client(server) as c:
        code = join(c)
        page = c.get(f"/s/{code}").text
        first = {"step": step_key(page), "decision": "yes", "explanation": "first"}
        assert c.post(f"/s/{code}", data=first).headers["location"] == f"/s/{code}"
        # The same form again (a double click, or the same code open on a second device).
        again = c.post(f"/s/{code}", data={**first, "decision": "no", "explanation": "second"})
        assert again.status_code == 303 and again.headers["location"] == f"/s/{code}?note=recorded"
        noted = c.get(again.headers["location"]).text
        assert "That answer was already recorded; the first one stands." in noted
        assert "Question 2 of 3" in noted  # and the participant is on the next step
        assert rows(server.db, "SELECT decision, explanation FROM answers") == [("yes", "first")]
        # A made-up step key shows the current step again and stores nothing.
        assert c.post(f"/s/{code}", data={"step": "scenario:nope", "decision": "no",
                                          "explanation": "x"}).headers["location"] == f"/s/{code}"
        # An unknown code is a page saying so.
        assert c.get("/s/abcdabcdabcd").status_code == 404
        assert c.post("/s/abcdabcdabcd", data=first).status_code == 404


def test_without_javascript_quality_is_not_recorded_and_the_device_is_a_class(tmp_path, study):
    with survey_server(tmp_path, *study) as server, client(server, headers={"User-Agent": IPHONE}) as c:
        code = join(c)
        assert answer(c, code, decision="yes", explanation="typed", edits="", paste_count="",
                      pasted_chars="").status_code == 303
        assert rows(server.db, "SELECT edits, paste_count, pasted_chars FROM answers") == [(None, None, None)]
        assert rows(server.db, "SELECT device FROM participants") == [("mobile",)]
        assert not rows(server.db, "SELECT 1 FROM participants WHERE device LIKE '%iPhone%'")
        # The check and the shown time.
        page = c.get(f"/s/{code}").text
        assert "Please pick the option &#39;Orange&#39; below." in page and 'value="Orange"' in page
        assert c.post(f"/s/{code}", data={"step": step_key(page)}).status_code == 422  # nothing chosen
        assert c.post(f"/s/{code}", data={"step": step_key(page), "choice": "Green"}).status_code == 303
        assert rows(server.db, "SELECT check_id, choice, passed FROM checks") == [("colour", "Green", 0)]
        c.get(f"/s/{code}")
        c.get(f"/s/{code}")
        assert len(rows(server.db, "SELECT * FROM shown")) == 3  # each step once, however often shown


def test_a_returning_platform_link_resumes_and_the_end_redirects(tmp_path):
    url = "https://app.prolific.com/submissions/complete?cc=C0DE42"
    settings = write_settings(tmp_path / "study.toml", platform="prolific",
                              extra_study=f'completion_code = "C0DE42"\ncompletion_url = "{url}"')
    args = ["--settings", str(settings), "--scenarios", str(small_scenarios(tmp_path / "s.toml", 2))]
    ids = {"PROLIFIC_PID": "5f1a2b3c4d5e6f7a8b9c0d1e", "STUDY_ID": "st-1", "SESSION_ID": "se-1"}
    with survey_server(tmp_path, *args) as server, client(server) as c:
        page = c.get("/", params=ids).text
        for name, value in ids.items():  # carried through consent in hidden fields
            assert f'name="{name}" value="{value}"' in page
        code = join(c, "?" + "&".join(f"{k}={v}" for k, v in ids.items()), **ids)
        assert answer(c, code, decision="no", explanation="one").status_code == 303
        # The platform's "return to study" link on a fresh device: the same participant.
        with client(server) as fresh:
            back = fresh.get("/", params=ids)
            assert back.status_code == 303 and back.headers["location"] == f"/s/{code}"
            assert "Question 2 of 2" in fresh.get(back.headers["location"]).text
            # So does the resume code, typed with dashes and capitals.
            typed = fresh.get("/", params={"p": "-".join([code[:4], code[4:8], code[8:]]).upper()})
            assert typed.headers["location"] == f"/s/{code}"
            assert "No participant has that code" in fresh.get("/", params={"p": "zzzz-zzzz-zzzz"}).text
        end = finish(c, code)
        assert 'id="completion-code">C0DE42<' in end
        assert f'<meta http-equiv="refresh" content="3; url={html.escape(url)}">' in end
        assert f'href="{html.escape(url)}"' in end
        assert rows(server.db, "SELECT platform_id FROM platform_ids") == [(ids["PROLIFIC_PID"],)]
        assert rows(server.db, "SELECT COUNT(*) FROM participants WHERE completed_at IS NOT NULL") == [(1,)]
        # Consent is required.
        refused = c.post("/start", data={"draft": "", **ids})
        assert refused.status_code == 422 and "Please tick the box to take part." in refused.text


def test_beyond_its_connections_the_server_answers_503(tmp_path, study):
    with survey_server(tmp_path, *study, "--capacity", "1") as server:
        port = int(server.url.rsplit(":", 1)[1])
        held = [socket.create_connection(("127.0.0.1", port)) for _ in range(18)]  # 1 x 2 + 16 spare
        try:
            time.sleep(0.5)
            reply, _ = raw_post(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert reply.startswith(b"HTTP/1.1 503")
        finally:
            for sock in held:
                sock.close()
        time.sleep(0.5)
        assert httpx.get(server.url + "/").status_code == 200


# --- starting ----------------------------------------------------------------------------------

def serve(*args, limit=None, env=None, timeout=60):
    def lower():
        resource.setrlimit(resource.RLIMIT_NOFILE, limit)
    return subprocess.run([sys.executable, "-m", "helpers", "survey", "serve", "--port", "1", *args],
                          capture_output=True, text=True, timeout=timeout, env=env,
                          preexec_fn=lower if limit else None)


def test_a_hard_limit_too_low_for_the_capacity_refuses_to_start():
    proc = serve("--capacity", "400", limit=(256, 512), env=None)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("error: --capacity 400 needs ") and "ulimit -n" in line and "at most 512" in line
    needed = int(re.search(r"needs (\d+) open files", line).group(1))
    assert needed > 512
    fits = int(re.search(r"--capacity (\d+) or less", line).group(1))
    assert 0 < fits < 400


def test_a_low_soft_limit_is_raised_and_the_server_serves(tmp_path, study):
    def low_soft():
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    with survey_server(tmp_path, *study, "--capacity", "200", preexec_fn=low_soft) as server:
        printed = "".join(server.lines)
        needed = int(re.search(r"(\d+) open files needed, (\d+) allowed", printed).group(1))
        allowed = int(re.search(r"(\d+) open files needed, (\d+) allowed", printed).group(2))
        assert allowed >= needed > 256
        assert resource.prlimit(server.proc.pid, resource.RLIMIT_NOFILE)[0] >= needed
        assert httpx.get(server.url + "/").status_code == 200


@pytest.mark.parametrize("args,message", [
    (["--settings", "/nonexistent.toml"], "/nonexistent.toml"),
    (["--scenarios", "/nonexistent.toml"], "/nonexistent.toml: file not found"),
    (["--capacity", "0"], "--capacity must be"),
    (["--port", "70000"], "--port must be"),
])
def test_bad_arguments_are_one_line(args, message):
    proc = serve(*args)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("error: ") and message in line, proc.stderr


def test_a_short_organiser_key_is_refused(tmp_path):
    import os
    proc = serve(env={**os.environ, "EXCEPTIONS_ORGANISER_KEY": "k3y", "EXCEPTIONS_DATA": str(tmp_path)})
    assert proc.returncode == 2 and "EXCEPTIONS_ORGANISER_KEY" in proc.stderr and "Traceback" not in proc.stderr


def test_make_survey_runs_the_server():
    dry = subprocess.run(["make", "-n", "survey", "STAMP=", "STUDY=w1", "HOST=0.0.0.0", "PORT=9001",
                          "ORGANISER_KEY=abcdefghijkl"], capture_output=True, text=True, cwd=REPO)
    command = " ".join(dry.stdout.replace("\\\n", " ").split())
    assert 'EXCEPTIONS_ORGANISER_KEY="abcdefghijkl"' in command
    assert "-m helpers survey serve --host 0.0.0.0 --port 9001 --study w1" in command
    assert "marimo" not in command
