"""The survey's web server for tests: `python -m helpers survey serve` in a
subprocess on 127.0.0.1 (a free port), with its own SQLite file and data folder,
exactly as `make survey` starts it. Yields where it is and what it printed."""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from browser import free_port

REPO = Path(__file__).resolve().parents[1]


@dataclass
class Running:
    url: str  # http://127.0.0.1:PORT
    organiser_url: str  # as printed, with the key
    key: str
    db: Path
    data: Path
    proc: subprocess.Popen
    lines: list[str]  # everything it printed so far


def write_settings(path: Path, *, platform: str = "none", extra_study: str = "", checks: str = "",
                   quality: str = "", modules: str = '["scenarios"]', games: str = "") -> Path:
    """A study.toml for a test (every key the settings module checks)."""
    text = f"""
[study]
id = "test-study"
title = "A test survey"
consent = "You agree to take part in a test.\\n\\nNothing here is real."
consent_version = "t-1"
platform = "{platform}"
modules = {modules}
{games}
{extra_study}
[quality]
min_seconds = 5.0
exclude = ["attention"]
max_text = 500
{quality}
{checks}
"""
    path.write_text(text, encoding="utf-8")
    return path


def small_scenarios(path: Path, count: int) -> Path:
    """The first `count` scenarios of scenarios.toml in a file of their own."""
    blocks = (REPO / "scenarios.toml").read_text().split("[[scenarios]]")
    path.write_text("[[scenarios]]".join(blocks[:count + 1]), encoding="utf-8")
    return path


@contextlib.contextmanager
def survey_server(tmp_path: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60,
                  preexec_fn=None):
    port = free_port()
    data = tmp_path / "data"
    db = data / "survey.sqlite"
    full_env = {**os.environ, "EXCEPTIONS_DATA": str(data), "PYTHONUNBUFFERED": "1", **(env or {})}
    full_env.pop("EXCEPTIONS_SURVEY_DB", None)
    if "EXCEPTIONS_ORGANISER_KEY" not in (env or {}):
        full_env.pop("EXCEPTIONS_ORGANISER_KEY", None)
    proc = subprocess.Popen([sys.executable, "-m", "helpers", "survey", "serve", "--host", "127.0.0.1",
                             "--port", str(port), *args], env=full_env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, preexec_fn=preexec_fn)
    lines: list[str] = []
    found: queue.Queue[str] = queue.Queue()

    def read():
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("organiser:"):
                found.put(line.split()[1])

    threading.Thread(target=read, daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                organiser_url = found.get(timeout=0.2)
                break
            except queue.Empty:
                if proc.poll() is not None or time.monotonic() > deadline:
                    time.sleep(0.2)  # the reader thread's last lines
                    raise RuntimeError("the survey server did not start: " + "".join(lines)) from None
        while True:
            try:
                urllib.request.urlopen(url + "/favicon.ico", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the survey server did not start: " + "".join(lines))
                time.sleep(0.1)
        key = organiser_url.split("key=", 1)[1]
        yield Running(url, organiser_url, key, db, data, proc, lines)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
