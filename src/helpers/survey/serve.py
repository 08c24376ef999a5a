"""Running the survey server: `python -m helpers survey serve` (and `make survey`).

It loads the study (settings, scenarios, games), makes sure the process may
open enough files for --capacity participants at once, prints the
participants' and the organiser's URLs, and runs the app under uvicorn.

Open files. Every connection is a file descriptor, and so is each SQLite file
a store operation opens (the database, its -wal and -shm: 3 per operation,
at most one operation per worker thread). When a process runs out, accept()
fails with EMFILE and the server logs an error per attempt while browsers see
failed page loads (issue 17 measured 211 of 250 arrivals failing under
`ulimit -n 1024` with marimo). Here the budget is computed up front:

    connections  = capacity * CONNECTIONS_PER_PARTICIPANT + SPARE_CONNECTIONS
    open files   = BASE_FILES + 3 * WORKER_THREADS + connections + backlog

uvicorn answers 503 (and closes the connection) to a request that arrives
while `connections` are open (limit_concurrency), and the event loop accepts at
most `backlog` connections at a time; the rest wait in the kernel's queue,
holding no descriptor of ours, and a burst past that queue is refused by the
kernel and retried by the browser. So browsers, which send their request as
soon as they connect, cannot run the process out of descriptors at the stated
capacity. (A client that opens connections and sends nothing can: uvicorn has
no timeout before the first request. A public server wants a reverse proxy in
front; a class or a platform study does not meet such clients.) The soft limit
(ulimit -n) is raised toward the hard limit when it is too low, and when even
the hard limit is too low the server refuses to start with the number it needs.

Measured on this machine (Chromium, 10 participants in separate contexts): the
idle server holds 7 descriptors; after one submit each the 10 participants held
10 connections (one each), all closed by uvicorn 5 s later (keep-alive
timeout); worker threads start lazily. CONNECTIONS_PER_PARTICIPANT = 2 leaves
room for a browser's second connection (a reload while the first lingers, a
speculative preconnect); BASE_FILES = 64 leaves room over the measured 7 for
the export's files and lazily imported libraries. At the default capacity of
200 the budget is 800 descriptors: within the common `ulimit -n 1024`.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

from helpers.economics.games import load_games, select
from helpers.errors import UserError
from helpers.exceptions.scenarios import load_scenarios
from helpers.survey.app import create_app
from helpers.survey.keys import OrganiserKey
from helpers.survey.served import Survey
from helpers.survey.settings import load_settings
from helpers.survey.store import SurveyStore

CONNECTIONS_PER_PARTICIPANT = 2
SPARE_CONNECTIONS = 16  # the organiser, a reload storm, a benchmark's probe
BASE_FILES = 64
WORKER_THREADS = 40  # anyio's default thread pool, where every store operation runs
FILES_PER_STORE_OPERATION = 3  # database, -wal, -shm
MAX_CAPACITY = 10_000


def open_survey(settings_path: Path | None = None, study: str | None = None, scenarios_path: Path | None = None,
                games_path: Path | None = None, key: OrganiserKey | None = None) -> Survey:
    """The study to serve, every file read and checked now (a bad one is one UserError line)."""
    settings = load_settings(settings_path, study)
    scenarios = load_scenarios(scenarios_path) if "scenarios" in settings.modules else []
    games = select(load_games(games_path), list(settings.games) if settings.games else None) \
        if "games" in settings.modules else []
    if not scenarios and not games:
        raise UserError(f"{settings.source}: the study asks nothing (modules {', '.join(settings.modules)} "
                        "with no scenarios or games); check modules and the scenarios/games files")
    store = SurveyStore()
    store.progress()  # fails now, in one line, if the database cannot be read
    return Survey(store, scenarios, games, settings, key or OrganiserKey.from_env()[0])


def budget(capacity: int) -> dict[str, int]:
    """uvicorn's limits and the open files they need, for `capacity` participants at once."""
    connections = capacity * CONNECTIONS_PER_PARTICIPANT + SPARE_CONNECTIONS
    backlog = max(64, capacity)
    files = BASE_FILES + FILES_PER_STORE_OPERATION * WORKER_THREADS + connections + backlog
    return {"connections": connections, "backlog": backlog, "files": files}


def ensure_open_files(needed: int, capacity: int) -> int:
    """Raise the soft limit on open files to `needed` (up to the hard limit);
    the limit now in force. A hard limit below `needed` is a UserError."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            fits = max((c for c in range(capacity) if budget(c)["files"] <= hard), default=0)
            raise UserError(f"--capacity {capacity} needs {needed} open files but this shell allows at most "
                            f"{hard}; run `ulimit -n {needed}` as a user allowed to raise it, or use "
                            f"--capacity {fits} or less")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
        soft = needed
    return soft


def serve(survey: Survey, *, host: str, port: int, capacity: int, key_text: str, key_generated: bool) -> None:
    import uvicorn

    if not 1 <= capacity <= MAX_CAPACITY:
        raise UserError(f"--capacity must be from 1 to {MAX_CAPACITY:,}, got {capacity}")
    limits = budget(capacity)
    allowed = ensure_open_files(limits["files"], capacity)
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{port}"
    settings = survey.settings
    games = sum(len(g.settings) for g in survey.games)
    print(f"study {settings.study!r} ({settings.source}): {len(survey.scenarios)} scenarios, {games} game "
          f"settings, {len(settings.checks)} attention checks, platform {settings.platform}")
    print(f"participants: {base}/")
    print(f"organiser:    {base}/organiser?key={key_text}"
          + ("   (a random key; set ORGANISER_KEY to choose one)" if key_generated else ""))
    print(f"database:     {survey.store.path}")
    print(f"capacity:     {capacity} participants at once ({limits['connections']} connections; "
          f"{limits['files']} open files needed, {allowed} allowed); Ctrl-C stops", flush=True)
    if host in ("0.0.0.0", "::"):
        print("              (every address of this machine: participants use its address on the room's network)")
    sys.stdout.flush()
    config = uvicorn.Config(create_app(survey), host=host, port=port, lifespan="off",
                            access_log=False,  # URLs carry resume codes and the key: never log them
                            server_header=False, log_level="warning",
                            limit_concurrency=limits["connections"], backlog=limits["backlog"],
                            timeout_keep_alive=5)
    uvicorn.Server(config).run()
