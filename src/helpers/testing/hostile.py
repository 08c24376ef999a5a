"""Hostile stand-ins for an OpenAI-compatible server: small real servers on 127.0.0.1
that answer `POST /v1/chat/completions` the way a broken, overloaded or merely
different server might, so a client's defences can be tested at the HTTP boundary.

    with hostile.serve("trickle", interval=0.5) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="x")

Every stand-in answers `GET /v1/models` with a normal model list, counts the chat
requests it received (`requests`, their JSON bodies in `bodies`) so a test can
tell how many attempts a client made, and closes at once even with a hung or
trickling request in flight. The behaviours (BEHAVIOURS):

    ok               a valid completion honouring n (the control)
    one_choice       a valid completion with one choice whatever n is (like llama.cpp)
    choices_string   200, {"choices": "oops", ...}
    null_body        200, the body `null`
    top_list         200, a top-level JSON list (holding a valid completion)
    content_number   200, a valid completion whose message.content is 42
    usage_strings    200, a valid completion whose usage counts are "many"
    bad_json         200, Content-Type application/json, a body that is not JSON
    error_500        500 with an OpenAI-shaped error body
    retry_after      429 with `Retry-After: <retry_after>` ("3600", "inf", an HTTP date...)
    trickle          status and headers at once, then a valid completion one byte every
                     `interval` seconds (default 2: about ten minutes in all)
    hang             reads the request and never answers (until the client or close() ends it)

`refused()` gives a base URL where nothing listens. Valid completions look like
OpenAI's chat.completion object; a request with `logprobs: true, top_logprobs: k`
gets, in each choice, logprobs.content[0].top_logprobs of the tokens "Yes", "No", ...
"""

from __future__ import annotations

import json
import math
import socket
import threading
import time
from typing import Any

from helpers.testing.transport import Background, answer, error, headers_list, read_body, until_disconnect

BEHAVIOURS = ("ok", "one_choice", "choices_string", "null_body", "top_list", "content_number",
              "usage_strings", "bad_json", "error_500", "retry_after", "trickle", "hang")
# Tokens and probabilities offered as top_logprobs, most likely first.
TOP_TOKENS = (("Yes", 0.7), ("No", 0.2), ("yes", 0.05), ("no", 0.03), ("Maybe", 0.02))


def completion(body: dict, n: int | None = None, content: Any = "Yes", number: int = 0) -> dict:
    """A chat.completion object as OpenAI sends it now, with `n` choices (default: the body's n)."""
    n = int(body.get("n") or 1) if n is None else n
    k = int(body.get("top_logprobs") or 0)
    logprobs = None
    if body.get("logprobs"):
        top = [{"token": t, "logprob": math.log(p), "bytes": list(t.encode())} for t, p in TOP_TOKENS[:k]]
        first = {"token": "Yes", "logprob": math.log(TOP_TOKENS[0][1]), "bytes": list(b"Yes")}
        logprobs = {"content": [{**first, "top_logprobs": top}], "refusal": None}
    choices = [{"index": i, "finish_reason": "stop", "logprobs": logprobs,
                "message": {"role": "assistant", "content": content, "refusal": None, "annotations": []}}
               for i in range(n)]
    prompt, each = 12, 1
    return {"id": f"chatcmpl-hostile{number:06d}", "object": "chat.completion", "created": int(time.time()),
            "model": str(body.get("model", "")), "choices": choices, "service_tier": "default",
            "system_fingerprint": "fp_hostile",
            "usage": {"prompt_tokens": prompt, "completion_tokens": each * n, "total_tokens": prompt + each * n,
                      "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
                      "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                                    "accepted_prediction_tokens": 0,
                                                    "rejected_prediction_tokens": 0}}}


class Hostile:
    """One stand-in server (see the module's doc); a context manager, like FakeOpenAI."""

    def __init__(self, behaviour: str, *, retry_after: str = "3600", interval: float = 2.0, port: int = 0):
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {behaviour!r}; one of {', '.join(BEHAVIOURS)}")
        self.behaviour = behaviour
        self.retry_after = retry_after
        self.interval = interval
        self.requests = 0  # POST /v1/chat/completions received, whatever became of them
        self.bodies: list[Any] = []  # their JSON bodies (None where a body was not JSON)
        self._lock = threading.Lock()
        self._http = Background(self._app, port)

    @property
    def port(self) -> int:
        return self._http.port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> Hostile:
        self._http.start()
        return self

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Hostile:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def _app(self, scope: dict, receive: Any, send: Any) -> None:
        raw = await read_body(receive)
        route = (scope["method"], scope["path"].rstrip("/"))
        if route == ("GET", "/v1/models"):
            return await answer(send, 200, {"object": "list", "data": [
                {"id": "hostile-model", "object": "model", "created": 0, "owned_by": "hostile"}]})
        if route != ("POST", "/v1/chat/completions"):
            status, payload, _ = error(404, f"Unknown path: {scope['method']} {scope['path']}")
            return await answer(send, status, payload)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        with self._lock:
            self.requests += 1
            self.bodies.append(body)
            number = self.requests
        await self._misbehave(body if isinstance(body, dict) else {}, number, receive, send)

    async def _misbehave(self, body: dict, number: int, receive: Any, send: Any) -> None:
        kind = self.behaviour
        if kind == "hang":
            await until_disconnect(receive)  # no status line, ever; returns once the connection is gone
            return
        if kind == "trickle":
            data = json.dumps(completion(body, number=number)).encode()
            # With a Content-Length the body is well framed: only its pace is hostile. Each
            # byte resets a client's read timeout, so only a total deadline ends the wait.
            await send({"type": "http.response.start", "status": 200, "headers": headers_list(
                {"content-type": "application/json", "content-length": str(len(data))})})
            for i in range(len(data)):
                if await until_disconnect(receive, self.interval):
                    return
                await send({"type": "http.response.body", "body": data[i:i + 1], "more_body": i + 1 < len(data)})
            return
        if kind == "retry_after":
            status, payload, _ = error(429, "Rate limit reached for requests", type_="requests",
                                       code="rate_limit_exceeded")
            return await answer(send, status, payload, {"retry-after": self.retry_after})
        if kind == "error_500":
            status, payload, _ = error(500, "The server had an error while processing your request.",
                                       type_="server_error")
            return await answer(send, status, payload)
        if kind == "bad_json":
            return await answer(send, 200, b"<html><body>502 Bad Gateway</body></html> {not json")
        if kind == "null_body":
            return await answer(send, 200, b"null")
        reply = completion(body, n=1 if kind == "one_choice" else None, number=number,
                           content=42 if kind == "content_number" else "Yes")
        if kind == "choices_string":
            reply["choices"] = "oops"
        if kind == "usage_strings":
            reply["usage"] = {key: "many" for key in ("prompt_tokens", "completion_tokens", "total_tokens")}
        await answer(send, 200, [reply] if kind == "top_list" else reply)


def serve(behaviour: str, **options: Any) -> Hostile:
    """`with serve("hang") as server: ...`; options: retry_after, interval, port."""
    return Hostile(behaviour, **options)


class Refused:
    """A base URL where nothing listens: a port held bound but not listening, so the
    kernel refuses connections and no other server can take the port meanwhile."""

    requests = 0  # nothing is ever received

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> Refused:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def refused() -> Refused:
    """`with refused() as server: server.base_url` refuses every connection."""
    return Refused()
