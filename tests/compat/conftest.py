"""The compatibility suite: the real CLI against a real OpenAI-compatible server
that nobody here wrote, llama-cpp-python's (`python -m llama_cpp.server`),
serving the offline model's own GGUF.

The server runs from its own venv (`make test` builds .venv-llama; it compiles
llama.cpp), found at $EXCEPTIONS_LLAMA_PYTHON or <repo>/.venv-llama/bin/python.
Without it these tests fail and say how to build it: a compatibility suite that
skips itself silently would pass on every machine that never ran it.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from compat_server import REPO, LlamaServer, llama_python


@pytest.fixture
def llama_server(tmp_path):
    """A fresh server on the GGUF's own chat template; stopped after the test."""
    server = LlamaServer(llama_python(), tmp_path)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def helpers_cli(tmp_path):
    """`python -m helpers ...` in its own process, on this checkout's code and the
    test's hermetic cache (tests/conftest.py sets EXCEPTIONS_CACHE and the rest)."""

    def run(*argv: str, timeout: float = 900) -> subprocess.CompletedProcess:
        path = os.pathsep.join(p for p in (str(REPO / "src"), os.environ.get("PYTHONPATH")) if p)
        env = {**os.environ, "PYTHONPATH": path}
        return subprocess.run([sys.executable, "-m", "helpers", *argv], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=timeout)

    return run
