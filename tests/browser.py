"""Real-browser helpers: a `marimo run` server on 127.0.0.1 and Debian's Chromium
driven by Playwright (which may not download a browser of its own here)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps dialling out, which this
# machine's closed network refuses; the tests need none of it.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not shutil.which("chromium"),
    reason="Debian's chromium is not installed (make test installs it)",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def marimo_server(notebook: Path, env: dict[str, str], *args: str, timeout: float = 90):
    """Serve a notebook with `marimo run` on a free local port; yields its URL."""
    port = free_port()
    marimo = str(Path(sys.executable).parent / "marimo")
    proc = subprocess.Popen([marimo, "run", str(notebook), "--headless", "--no-token",
                             "--host", "127.0.0.1", "--port", str(port), *args],
                            env={**os.environ, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(url + "/health", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"marimo did not start: {proc.stdout.read() if proc.stdout else ''}")
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def chromium_page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def only_local(context, allowed: tuple[str, ...] = ("file:",)) -> list[str]:
    """Abort every request of a browser context whose URL does not start with one of
    `allowed` (the network "cut"); returns the list the aborted URLs are added to."""
    aborted: list[str] = []

    def route(r):
        if r.request.url.startswith(allowed):
            r.continue_()
        else:
            aborted.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    return aborted
