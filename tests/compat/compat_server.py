"""llama-cpp-python's server as a test fixture, and a proxy that records requests.

The server runs from its own venv (`make test` builds .venv-llama; it compiles
llama.cpp), found at $EXCEPTIONS_LLAMA_PYTHON or <repo>/.venv-llama/bin/python.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from helpers.llm.local_model import DEFAULT_LOCAL, gguf_path

REPO = Path(__file__).resolve().parents[2]
LLAMA_PYTHON_VAR = "EXCEPTIONS_LLAMA_PYTHON"
START_TIMEOUT = 120.0  # seconds; the 135M model loads in about a second, imports take longer
# uvicorn's access log line of one chat completion (the server logs every request).
COMPLETION_LINE = re.compile(r'"POST /v1/chat/completions HTTP/1\.[01]" \d{3}')


def llama_python() -> Path:
    """The python of the venv with llama-cpp-python[server]; a test failure if missing."""
    path = Path(os.environ.get(LLAMA_PYTHON_VAR) or REPO / ".venv-llama" / "bin" / "python")
    if not path.exists():
        pytest.fail(f"the compatibility suite needs llama-cpp-python's server at {path}, which is missing: "
                    f"`make test` builds it (or `make compat-server` alone; it compiles llama.cpp, 10-20 minutes on 2 cores), or point "
                    f"{LLAMA_PYTHON_VAR} at a python that has llama-cpp-python[server] installed",
                    pytrace=False)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LlamaServer:
    """One `python -m llama_cpp.server` process on 127.0.0.1; restartable on the same port,
    so a restart is the same endpoint URL (as a user's restarted server would be)."""

    python: Path
    logs: Path
    port: int = field(default_factory=free_port)
    chat_format: str | None = None
    process: subprocess.Popen | None = None
    log_file: Path | None = None
    starts: int = 0
    startup_seconds: float = 0.0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, chat_format: str | None = None) -> LlamaServer:
        """Start (or restart) with this chat format; None uses the GGUF's own template."""
        self.stop()
        self.chat_format = chat_format
        self.starts += 1
        self.log_file = self.logs / f"llama-server-{self.starts}.log"
        argv = [str(self.python), "-m", "llama_cpp.server", "--model", str(gguf_path(DEFAULT_LOCAL)),
                "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", "2048"]
        if chat_format:
            argv += ["--chat_format", chat_format]
        # Unbuffered, so that uvicorn's access log (stdout) is on disk when a test counts requests.
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with self.log_file.open("w") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        started = time.monotonic()
        while time.monotonic() - started < START_TIMEOUT:
            if self.process.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {self.process.returncode} at start:\n{self.tail()}",
                            pytrace=False)
            try:
                if httpx.get(f"{self.base_url}/models", timeout=2).status_code == 200:
                    self.startup_seconds = time.monotonic() - started
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        pytest.fail(f"llama_cpp.server did not answer /v1/models within {START_TIMEOUT:.0f} s:\n{self.tail()}",
                    pytrace=False)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file else ""

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def completions(self) -> int:
        """Chat-completion requests this process has answered so far (its access log)."""
        return len(COMPLETION_LINE.findall(self.log()))



# Headers that belong to one hop of a connection, not to the request.
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host",
               "proxy-connection", "te", "trailer", "upgrade", "content-encoding"}


class RecordingProxy:
    """A pass-through HTTP/1.1 proxy in front of the server that keeps the body of
    every chat completion it forwards, so a test can say which requests a run made
    (the server's access log counts them, but cannot tell a sample from a probe)."""

    def __init__(self, upstream: str):
        self.upstream = upstream.rstrip("/")  # http://127.0.0.1:PORT
        self.bodies: list[dict] = []
        self._lock = threading.Lock()
        self._client = httpx.Client(timeout=600)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the real server does

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.command == "POST" and self.path.endswith("/chat/completions"):
                    with proxy._lock:
                        proxy.bodies.append(json.loads(body))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
                reply = proxy._client.request(self.command, proxy.upstream + self.path,
                                              content=body, headers=headers)
                self.send_response(reply.status_code)
                for key, value in reply.headers.items():
                    if key.lower() not in HOP_HEADERS:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(reply.content)))
                self.end_headers()
                self.wfile.write(reply.content)

            do_GET = do_POST = _forward

            def log_message(self, *args) -> None:  # quiet: the server logs requests itself
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> RecordingProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._client.close()
