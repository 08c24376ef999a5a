"""Two ASGI middlewares that wrap the whole survey app: a request-size limit and
the security headers every response carries.

BodyLimit reads a request's body before the app sees it, and refuses it with
413 as soon as it is known to be too large: at once when Content-Length says
so, else when the bytes streamed so far (chunked uploads) pass the limit. The
rest is never read: the response says `Connection: close` and the server drops
the connection, so a 100 MB post costs the server at most the limit plus the
server's read buffer, not 100 MB. The survey's forms are a few kilobytes; the
app then reads the body from memory, and can never see a partial one.

Headers: nothing is cached (pages carry resume codes and answers, exports carry
everyone's), no MIME sniffing, no framing, no Referer (URLs carry resume codes,
and the end page may send the participant on to a platform), and a Content
Security Policy that allows nothing from anywhere but this server, with inline
script and style only under a fresh per-response nonce (the pages' only script
counts edits and pastes; their only style is the inline stylesheet).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY = 64 * 1024  # bytes; an answer is at most a few thousand
NONCE_KEY = "csp_nonce"  # in scope["state"], read by pages.render

TOO_LARGE_PAGE = (b"<!doctype html><meta charset='utf-8'><title>Too large</title>"
                  b"<p>That was more than this survey accepts at once. Please go back and shorten "
                  b"your answer; nothing was saved.</p>")


def csp(nonce: str) -> str:
    return ("default-src 'none'; "
            f"script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
            "img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


def security_headers(nonce: str) -> list[tuple[bytes, bytes]]:
    return [(b"content-security-policy", csp(nonce).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"cross-origin-resource-policy", b"same-origin")]


class SecurityHeaders:
    """Adds the headers above to every response, and `Cache-Control: no-store`
    unless the app set a Cache-Control of its own (none does today)."""

    def __init__(self, app: App):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})[NONCE_KEY] = nonce

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() not in _REPLACED]
                if not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers + security_headers(nonce)
            await send(message)

        await self.app(scope, receive, send_with_headers)


_REPLACED = {name for name, _ in security_headers("x")}


class BodyLimit:
    """Refuses request bodies above `limit` bytes with 413 (see the module's docstring)."""

    def __init__(self, app: App, limit: int = MAX_BODY):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await _too_large(send)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left before sending it all: nothing to answer
            body = message.get("body", b"")
            size += len(body)
            if size > self.limit:
                await _too_large(send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive() that hands the app the buffered body, then waits for the client
    to disconnect like the server's own would."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _too_large(send: Send) -> None:
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/html; charset=utf-8"),
                            (b"content-length", str(len(TOO_LARGE_PAGE)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": TOO_LARGE_PAGE})
