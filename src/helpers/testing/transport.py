"""The HTTP side of the test servers: uvicorn serving an ASGI app on 127.0.0.1 from
a thread of its own (`Background`), the few ASGI steps every server here shares
(read a body, answer, hang up), OpenAI's error shape, and the app that turns
requests into calls of FakeOpenAI's `_route(...)`.

Why uvicorn and not http.server: real servers (OpenAI, vLLM, llama.cpp) speak
HTTP/1.1 and keep connections alive between requests. The stdlib server spoke
HTTP/1.0 and closed every connection, so client bugs that only show on a reused
connection (a pooled connection bound to an event loop that has since closed)
went unseen. What each endpoint answers is decided elsewhere (helpers.testing.chat,
helpers.testing.stores); this module only moves requests and replies.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from email.parser import BytesParser
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

# A reply is (status, payload, extra headers); payload None means "hang up without answering".
Reply = tuple[int, "dict | bytes | None", dict]
App = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]], Awaitable[None]]
CHECK_HEADER = "x-exceptions-check"  # helpers.llm.served.CHECK_HEADER, as headers arrive: lower-cased
KEEP_ALIVE = 5.0  # seconds an idle connection stays open; uvicorn's default, and of the order real servers use


def error(status: int, message: str, type_: str = "invalid_request_error",
          code: str | None = None, param: str | None = None) -> Reply:
    """An error reply in OpenAI's shape, which the SDK turns into its exceptions."""
    return status, {"error": {"message": message, "type": type_, "code": code, "param": param}}, {}


def parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """Form fields of a multipart/form-data body: name -> (filename, bytes). The email
    parser reads this MIME format (and keeps binary bytes intact); cgi is deprecated."""
    message = BytesParser().parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    parts = message.get_payload() if message.is_multipart() else []
    return {str(p.get_param("name", header="content-disposition")): (p.get_filename(), p.get_payload(decode=True))
            for p in parts}


class Background:
    """`app` served by uvicorn (HTTP/1.1, keep-alive) on 127.0.0.1:`port` from a daemon thread.

    The socket is bound at construction, as http.server did, so `port` is known before
    start() and is refused again after close(). uvicorn neither counts connections nor
    lets an app drop one, so its HTTP protocol is subclassed to track them: `open`
    maps each live connection's client address (the ASGI scope's "client") to its
    transport, and `on_connect` is called for every TCP connection accepted.
    """

    def __init__(self, app: App, port: int = 0, *, on_connect: Callable[[], None] | None = None,
                 keep_alive: float = KEEP_ALIVE):
        # A client that opens its connections all at once (hundreds in flight) must not
        # overflow the queue of connections not yet accepted (the kernel caps it at somaxconn).
        self.sock = socket.create_server(("127.0.0.1", port), backlog=1024)
        self.port: int = self.sock.getsockname()[1]
        self.open: dict[tuple, asyncio.BaseTransport] = {}  # touched on the server's event loop only
        self._on_connect = on_connect or (lambda: None)
        config = uvicorn.Config(_quiet(app), http=self._protocol(), loop="asyncio", lifespan="off",
                                log_config=None, access_log=False, timeout_keep_alive=keep_alive)
        self._server = uvicorn.Server(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def _protocol(self) -> type[H11Protocol]:
        owner = self

        class Tracked(H11Protocol):  # h11, not httptools: pure Python, always there with uvicorn
            def connection_made(self, transport: Any) -> None:
                super().connection_made(transport)
                owner.open[tuple(self.client or ())] = transport
                owner._on_connect()

            def connection_lost(self, exc: Exception | None) -> None:
                owner.open.pop(tuple(self.client or ()), None)
                super().connection_lost(exc)

        return Tracked

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        # Off the main thread uvicorn installs no signal handlers (it checks), as a thread needs.
        await self._server.serve(sockets=[self.sock])

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),), daemon=True,
                                        name=f"uvicorn-{self.port}")
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:  # uvicorn has no "started" event to wait on
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the test server on port {self.port} did not start")
            time.sleep(0.002)

    def hang_up(self, scope: dict) -> None:
        """Drop the connection of the request `scope` without a word (on the server's loop)."""
        transport = self.open.get(tuple(scope.get("client") or ()))
        if transport is not None:
            transport.abort()

    def _hang_up_all(self) -> None:
        for server in getattr(self._server, "servers", []):
            server.close()  # first, so that no connection comes in after the last one is dropped
        for transport in list(self.open.values()):
            transport.abort()

    def close(self) -> None:
        """Stop at once: requests in flight (a hung one too) see their connection drop."""
        thread, self._thread = self._thread, None
        if thread is not None and self._loop is not None:
            # force_exit: otherwise uvicorn waits for every request in flight to finish.
            self._server.should_exit = self._server.force_exit = True
            with contextlib.suppress(RuntimeError):  # the loop may be gone already
                self._loop.call_soon_threadsafe(self._hang_up_all)
            thread.join(timeout=10)
        self.sock.close()


def _quiet(app: App) -> App:
    async def quiet(scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        # A task still running when the server closes is cancelled; nobody waits for its
        # reply, and uvicorn would log the cancellation as an error of the app.
        with contextlib.suppress(asyncio.CancelledError):
            await app(scope, receive, send)

    return quiet


async def read_body(receive: Callable[[], Awaitable[dict]]) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body"):
            return b"".join(chunks)


async def until_disconnect(receive: Callable[[], Awaitable[dict]], timeout: float | None = None) -> bool:
    """Wait until the connection is gone (client hung up or server dropped it): True if
    it went within `timeout`. The body must have been read (read_body) first."""
    async def wait() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    try:
        await asyncio.wait_for(wait(), timeout)
        return True
    except asyncio.TimeoutError:
        return False


def headers_list(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in headers.items()]


async def answer(send: Callable[[dict], Awaitable[None]], status: int, payload: dict | list | bytes | None,
                 headers: dict[str, str] | None = None) -> None:
    """A whole reply with a Content-Length; a dict or list payload is sent as JSON."""
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    merged = {"content-type": "application/json", **{k.lower(): v for k, v in (headers or {}).items()},
              "content-length": str(len(data))}
    await send({"type": "http.response.start", "status": status, "headers": headers_list(merged)})
    await send({"type": "http.response.body", "body": data})


# -- FakeOpenAI's requests ------------------------------------------------------
class Fake(Protocol):
    """What the app needs of the server object (helpers.testing.server.FakeOpenAI)."""

    api_key: str | None
    requests: list[dict]
    fail_next: list[int]
    stats: dict[str, int]
    _lock: Any
    _http: Background
    _workers: Executor

    checks: list[dict]

    def _route(self, method: str, path: str, query: dict, body: Any) -> Reply: ...

    def _check(self, method: str, path: str, body: Any) -> Reply: ...


def handle(fake: Fake, method: str, target: str, headers: dict[str, str], raw: bytes) -> Reply:
    """One request, recorded on `fake` and answered by it. Runs in a worker thread:
    the fake's code is synchronous and may sleep (latency, timeout faults)."""
    url = urlsplit(target)
    if url.path.rstrip("/") in ("/stats", "/v1/stats"):  # observing is not a request
        with fake._lock:
            return 200, dict(fake.stats), {}
    ctype = headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        body: Any = parse_multipart(ctype, raw)
        recorded = {k: v[1].decode() if v[0] is None else {"filename": v[0], "bytes": len(v[1])}
                    for k, v in body.items()}
    else:
        try:
            body = recorded = json.loads(raw or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return error(400, "We could not parse the JSON body of your request.")
    if headers.get(CHECK_HEADER):
        # The workspace's served-model check (helpers.llm.served) asks before a run what
        # the server serves. It is kept apart (`checks`), met by no injected fault and
        # counted in no stat, so tests count and break the study's own requests only.
        with fake._lock:
            fake.checks.append({"method": method, "path": target, "body": recorded})
        return fake._check(method, url.path, body)
    with fake._lock:
        fake.requests.append({"method": method, "path": target, "body": recorded,
                              "at": time.monotonic(), "headers": headers})
        fake.stats["requests"] += 1
        failure = fake.fail_next.pop(0) if fake.fail_next else None
    if fake.api_key is not None and headers.get("authorization", "") != f"Bearer {fake.api_key}":
        return error(401, "Incorrect API key provided", code="invalid_api_key")
    if failure:
        return error(failure, f"injected {failure}", type_="server_error")
    if not url.path.startswith("/v1/"):
        return error(404, f"Unknown path: {url.path}")
    return fake._route(method, url.path, parse_qs(url.query), body)


def app_for(fake: Fake) -> App:
    """The ASGI app of a FakeOpenAI: reads the request, lets a worker thread answer it."""

    async def app(scope: dict, receive: Any, send: Any) -> None:
        raw = await read_body(receive)
        query = scope.get("query_string", b"").decode("latin-1")
        target = scope.get("raw_path", scope["path"].encode()).decode("latin-1") + (f"?{query}" if query else "")
        # Header names arrive lower-cased; a repeated header keeps its last value.
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        loop = asyncio.get_running_loop()
        status, payload, extra = await loop.run_in_executor(fake._workers, handle, fake, scope["method"],
                                                            target, headers, raw)
        if payload is None:  # an injected fault: the client sees the connection close, no status line
            fake._http.hang_up(scope)
            await until_disconnect(receive)  # so uvicorn knows, and does not answer 500 in our place
            return
        if isinstance(payload, dict):  # objects keep private "_" bookkeeping that clients must not see
            payload = {k: v for k, v in payload.items() if not k.startswith("_")}
        await answer(send, status, payload, extra)

    return app
