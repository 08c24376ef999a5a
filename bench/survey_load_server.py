"""The survey server as the load bench runs it, and what it reads afterwards.

- `SurveyServer`: `python -m helpers survey serve` in a subprocess (this
  checkout's code), on a free port of 127.0.0.1, with a fresh SQLite file and
  data folder (EXCEPTIONS_SURVEY_DB, EXCEPTIONS_DATA) and a known organiser key,
  optionally under an open-files limit set before the interpreter starts (what
  `ulimit -n N` in the shell does: soft and hard, so the server cannot raise it;
  or the soft limit only, as most shells start, so it may).
- `Sampler`: the server's resident memory and open descriptors every 0.1 s.
- `stored()`: every answer in the database, keyed as the participant's form named
  the step (scenario:ID, check:ID, game:GAME:SETTING), read straight from the file.
"""

from __future__ import annotations

import os
import resource
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from contextlib import closing
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from browser import free_port  # noqa: E402

ORGANISER_KEY = "bench-organiser-key"

# Settings of the bench's study: the platform is Prolific (the study link carries
# its three ids), the end page shows a completion code the client looks for, and
# the two attention checks are those of the repository's study.toml.
STUDY_TOML = """\
[study]
id = "bench"
title = "Load bench"
consent_version = "bench-1"
platform = "prolific"
completion_code = "BENCH-DONE-7Q"
modules = {modules}

[[checks]]
id = "colour"
after = 3
prompt = "This question checks that you are reading carefully. Please pick the option 'Orange' below."
options = ["Green", "Orange", "Blue", "I am not sure"]
answer = "Orange"

[[checks]]
id = "weekday"
after = 7
prompt = "To show that you are still reading, please pick 'Thursday', whichever day it is today."
options = ["Monday", "Thursday", "Saturday", "Sunday"]
answer = "Thursday"
"""


def write_study(folder: Path, games: bool = False, games_subset: list[str] | None = None) -> Path:
    modules = '["scenarios", "games"]' if games else '["scenarios"]'
    text = STUDY_TOML.format(modules=modules)
    if games and games_subset:
        text = text.replace("\n\n[[checks]]", "\ngames = [" + ", ".join(f'"{g}"' for g in games_subset)
                            + "]\n\n[[checks]]", 1)
    path = folder / "study.toml"
    path.write_text(text, encoding="utf-8")
    return path


class SurveyServer:
    def __init__(self, folder: Path, settings: Path, *, rlimit: tuple[int, int] | None = None,
                 capacity: int | None = None, extra_env: dict[str, str] | None = None, extra_path: str | None = None):
        """rlimit: the server's (soft, hard) open-files limit, set before it starts
        (None: this process's)."""
        self.folder, self.settings = folder, settings
        self.rlimit, self.capacity = rlimit, capacity
        self.db = folder / "survey.sqlite"
        self.log = folder / "server.log"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.extra_env = extra_env or {}
        self.extra_path = [extra_path] if extra_path else []
        self.proc: subprocess.Popen | None = None
        self.limits: tuple[int, int] | None = None  # the server's (soft, hard) once it runs

    def _preexec(self):
        if self.rlimit:
            resource.setrlimit(resource.RLIMIT_NOFILE, self.rlimit)

    def start(self, timeout: float = 60.0) -> None:
        env = {**os.environ, "EXCEPTIONS_SURVEY_DB": str(self.db), "EXCEPTIONS_DATA": str(self.folder / "data"),
               "EXCEPTIONS_ORGANISER_KEY": ORGANISER_KEY, "PYTHONUNBUFFERED": "1",
               "PYTHONPATH": os.pathsep.join([*self.extra_path, str(REPO / "src"),
                                                    os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
               **self.extra_env}
        command = [sys.executable, "-m", "helpers", "survey", "serve", "--settings", str(self.settings),
                   "--host", "127.0.0.1", "--port", str(self.port)]
        if self.capacity:
            command += ["--capacity", str(self.capacity)]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         preexec_fn=self._preexec, cwd=REPO)
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(self.base + "/", timeout=5) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise ServerRefused(self.log_text().strip().splitlines()[-1:] or ["(no output)"])
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the survey server did not answer within {timeout:.0f} s; see {self.log}")
            time.sleep(0.2)
        limits = psutil.Process(self.proc.pid).rlimit(psutil.RLIMIT_NOFILE)
        self.limits = (limits[0], limits[1])

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown, as Ctrl-C
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


class ServerRefused(Exception):
    """The server exited before answering (its last output line says why)."""


class Sampler:
    """Peak resident memory and open descriptors of a process, and its CPU time, sampled in a thread."""

    def __init__(self, pid: int, interval: float = 0.1):
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak_rss = 0
        self.peak_fds = 0
        self.peak_threads = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.cpu_start = sum(self.process.cpu_times()[:2])
        self.cpu_seconds = 0.0

    def _run(self):
        while not self._stop.is_set():
            try:
                with self.process.oneshot():
                    self.peak_rss = max(self.peak_rss, self.process.memory_info().rss)
                    self.peak_fds = max(self.peak_fds, self.process.num_fds())
                    self.peak_threads = max(self.peak_threads, self.process.num_threads())
                    self.cpu_seconds = sum(self.process.cpu_times()[:2]) - self.cpu_start
                self.samples += 1
            except psutil.Error:
                return
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def stored(db: Path) -> dict[str, dict[str, dict[str, str]]]:
    """Resume code -> step key -> what the database holds for that step."""
    with closing(sqlite3.connect(db)) as conn:
        codes = dict(conn.execute("SELECT participant_id, code FROM participants"))
        out: dict[str, dict[str, dict[str, str]]] = {code: {} for code in codes.values()}
        for pid, scenario, decision, explanation in conn.execute(
                "SELECT participant_id, scenario, decision, explanation FROM answers"):
            out[codes[pid]][f"scenario:{scenario}"] = {"decision": decision, "explanation": explanation}
        for pid, check, choice in conn.execute("SELECT participant_id, check_id, choice FROM checks"):
            out[codes[pid]][f"check:{check}"] = {"choice": choice}
        for pid, game, setting, choice in conn.execute(
                "SELECT participant_id, game, setting, choice FROM game_choices"):
            out[codes[pid]][f"game:{game}:{setting}"] = {"choice": choice}
    return out


def compare(sent: dict[str, dict[str, dict[str, str]]], held: dict[str, dict[str, dict[str, str]]],
            maybe: dict[str, set[str]]) -> list[str]:
    """Every difference between what the server acknowledged (`sent`: code -> step
    -> fields) and what the database holds; `maybe` are steps sent without an
    answer from the server (either way is right for those). Empty when they agree."""
    problems = []
    for code, steps in sent.items():
        have = held.get(code)
        if have is None:
            problems.append(f"participant {code}: acknowledged answers but not in the database")
            continue
        for key, fields in steps.items():
            row = have.get(key)
            if row is None:
                problems.append(f"{code} {key}: acknowledged, not stored")
                continue
            for name, value in row.items():
                # A browser sends a textarea's line breaks as CRLF; the server stores LF.
                if fields.get(name, "").replace("\r\n", "\n") != value:
                    problems.append(f"{code} {key}: {name} sent {fields.get(name)!r}, stored {value!r}")
        for key in set(have) - set(steps) - maybe.get(code, set()):
            problems.append(f"{code} {key}: stored, never acknowledged")
    for code in set(held) - set(sent):
        extra = set(held[code]) - maybe.get(code, set())
        if extra:
            problems.append(f"participant {code}: {len(extra)} stored answers no client was told of")
    return problems
