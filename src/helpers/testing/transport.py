"""The HTTP side of the fake OpenAI: a threaded server on 127.0.0.1, the request
handler that reads bodies and writes JSON replies, and OpenAI's error shape.

What each endpoint answers is decided elsewhere (helpers.testing.chat for chat
completions, helpers.testing.stores for files, batches and fine-tuning jobs);
this module only turns requests into calls of `fake._route(...)` and replies
into bytes on the wire.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

# A reply is (status, payload, extra headers); payload None means "hang up without answering".
Reply = tuple[int, "dict | bytes | None", dict]


class Fake(Protocol):
    """What the handler needs of the server object (helpers.testing.server.FakeOpenAI)."""

    api_key: str | None
    requests: list[dict]
    fail_next: list[int]
    stats: dict[str, int]
    _lock: Any

    def _route(self, method: str, path: str, query: dict, body: Any) -> Reply: ...


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


class Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a thread stuck in a timeout fault must not delay close()
    request_queue_size = 128  # the default 5 makes a burst of new connections wait on SYN retries


def handler_for(fake: Fake) -> type[BaseHTTPRequestHandler]:
    """A request handler class that records each request on `fake` and asks it for the reply."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def handle(self) -> None:
            try:
                super().handle()
            except ConnectionError:  # the client hung up (e.g. it gave up waiting): not our error
                pass

        def _send(self, status: int, payload: dict | bytes | None, headers: dict) -> None:
            if payload is None:  # an injected fault: hang up without a word
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            # Objects keep private "_" bookkeeping that clients must not see.
            data = payload if isinstance(payload, bytes) else json.dumps(
                {k: v for k, v in payload.items() if not k.startswith("_")}).encode()
            self.send_response(status)
            headers = {"Content-Type": "application/json", **headers}
            for key, value in {**headers, "Content-Length": str(len(data))}.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def _serve(self) -> None:
            url = urlsplit(self.path)
            # The body is always read first, so an early error leaves the stream clean.
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if url.path.rstrip("/") in ("/stats", "/v1/stats"):  # observing is not a request
                with fake._lock:
                    return self._send(200, dict(fake.stats), {})
            ctype = self.headers.get("Content-Type", "")
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
                    return self._send(*error(400, "We could not parse the JSON body of your request."))
            with fake._lock:
                fake.requests.append({"method": self.command, "path": self.path, "body": recorded,
                                      "at": time.monotonic(), "headers": {k.lower(): v for k, v in self.headers.items()}})
                fake.stats["requests"] += 1
                failure = fake.fail_next.pop(0) if fake.fail_next else None
            auth = self.headers.get("Authorization", "")
            if fake.api_key is not None and auth != f"Bearer {fake.api_key}":
                return self._send(*error(401, "Incorrect API key provided", code="invalid_api_key"))
            if failure:
                return self._send(*error(failure, f"injected {failure}", type_="server_error"))
            if not url.path.startswith("/v1/"):
                return self._send(*error(404, f"Unknown path: {url.path}"))
            self._send(*fake._route(self.command, url.path, parse_qs(url.query), body))

        do_GET = do_POST = do_DELETE = _serve

    return Handler
