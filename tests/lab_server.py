"""`make lab` as a user runs it, from the checkout, on a free port of 127.0.0.1.

The Makefile's own recipe runs (not a copy of its command line), with the venv
running the tests in place of .venv and its install stamp taken as done (`make -o`):
the tests check the target, they do not reinstall the shared venv. Jupyter's config,
data and runtime folders, marimo's config and session snapshots, and the workspace's
cache, records and data are fresh temporary folders, so nothing lands in the user's
home or the checkout.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from browser import free_port

REPO = Path(__file__).resolve().parents[1]


@dataclasses.dataclass
class Lab:
    url: str  # http://127.0.0.1:PORT
    token: str
    log: Path
    printed: str  # the first line `make lab` printed

    def get(self, path: str, *, data: bytes | None = None, headers: dict | None = None):
        """(status, headers, body) of a request to the server, with the token."""
        request = urllib.request.Request(
            self.url + path, data=data,
            headers={"Authorization": f"token {self.token}", **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=90) as response:
                return response.status, response.headers, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode()


def lab_command(port: int, token: str, *extra: str) -> list[str]:
    venv = Path(sys.prefix)
    command = ["make", "--no-print-directory", "-o", str(venv / ".installed"), "lab",
               f"VENV={venv}", f"PORT={port}", f"LAB_TOKEN={token}", *extra]
    if os.geteuid() == 0:  # Jupyter refuses root unless told; containers run as root.
        command.append("LAB_ARGS=--allow-root")
    return command


def lab_env(folder: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    dirs = {"JUPYTER_CONFIG_DIR": "jupyter-config", "JUPYTER_DATA_DIR": "jupyter-data",
            "JUPYTER_RUNTIME_DIR": "jupyter-runtime", "XDG_CONFIG_HOME": "xdg-config",
            "XDG_STATE_HOME": "xdg-state", "EXCEPTIONS_CACHE": "cache",
            "EXCEPTIONS_RECORDS": "records", "EXCEPTIONS_DATA": "data",
            # marimo keeps a notebook's session snapshot in __marimo__/ beside it,
            # or under Python's pycache prefix when one is set.
            "PYTHONPYCACHEPREFIX": "pycache"}
    env = {**os.environ, **{k: str(folder / v) for k, v in dirs.items()}, **(extra or {})}
    # The checkout's src first, so notebooks opened through the proxy import this
    # checkout's helpers (as the tests do) whichever checkout the venv was built from.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "src"), env.get("PYTHONPATH")) if p)
    env.pop("JUPYTER_TOKEN", None)
    return env


def stop_group(proc: subprocess.Popen) -> None:
    """End make, Jupyter and the marimo it started: they share make's process group."""
    for sig, grace in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)


@contextlib.contextmanager
def make_lab(folder: Path, env: dict[str, str] | None = None, timeout: float = 240):
    """Run `make lab` until /lab answers 200; yields a Lab. Always ends the process group."""
    folder.mkdir(parents=True, exist_ok=True)
    port, token = free_port(), secrets.token_urlsafe(16)
    log = folder / "make-lab.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(lab_command(port, token), cwd=REPO, env=lab_env(folder, env),
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        lab = Lab(f"http://127.0.0.1:{port}", token, log, "")
        deadline = time.monotonic() + timeout
        while True:
            try:
                if lab.get("/lab")[0] == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"make lab did not serve /lab:\n{log.read_text()}")
            time.sleep(0.5)
        lab.printed = log.read_text().splitlines()[0]
        yield lab
    finally:
        stop_group(proc)


@contextlib.contextmanager
def stand_in_reports(pages: dict[str, str]):
    """Pages (name: HTML) in a folder of reports/ for the lab to open; yields the
    folder's path from the checkout.

    make report's output is not in git, so the tests bring their own pages, in a
    folder of their own (JupyterLab adds .ipynb_checkpoints/ beside what it opens),
    and take it all away afterwards.
    """
    reports = REPO / "reports"
    made_reports = not reports.exists()
    folder = reports / f"lab-test-{secrets.token_hex(4)}"
    folder.mkdir(parents=True)
    try:
        for name, html in pages.items():
            (folder / name).write_text(html, encoding="utf-8")
        yield folder.relative_to(REPO).as_posix()
    finally:
        shutil.rmtree(folder)
        if made_reports:
            with contextlib.suppress(OSError):  # something else wrote there meanwhile
                reports.rmdir()
