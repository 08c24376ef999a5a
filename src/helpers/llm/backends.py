"""What a backend is, and the one fault it may raise for a passing reason.

A backend sends one request (a body built by its provider's `request_body`,
exactly what the cache key was derived from) and returns one result per
answer it received: `yes_no` results hold P(yes) and P(no) of the first answer
token, `generate` results one sampled text. A server may return fewer answers
than `n` asked for (some ignore `n`); the caller keeps what came and asks for
the rest one by one. Errors that no retry can fix (bad key, unknown model,
rejected request) are one-line UserErrors; a 400 that names one parameter the
model does not take is Unsupported, which the engine may adapt to. Passing
faults (timeouts, 429, 5xx, dropped connections, replies of the wrong shape)
are CallFailed, which the caller counts as a failed call and never as a decision.
"""

from __future__ import annotations

from typing import Any, Protocol


class CallFailed(Exception):
    """A call that failed for a passing reason; it is retried, and if it keeps
    failing, counted as failed and made again on the next run.

    kind: a short name the run's summary groups failures by ("timeout",
    "connection", "HTTP 500", "malformed reply", ...). retry_after: the seconds
    the server asked us to wait. billed: the request reached the server and may
    have been charged although no answer came back (a client-side timeout).
    """

    def __init__(self, reason: str, retry_after: float | None = None, *, kind: str = "failed",
                 billed: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.kind = kind
        self.billed = billed


class Unsupported(Exception):
    """The server rejected one parameter of the request (an OpenAI-shaped HTTP 400
    naming it): not billed, and perhaps something to adapt to (capabilities.lesson)."""

    def __init__(self, param: str | None, code: str | None, message: str, where: str):
        super().__init__(f"{where} rejected the request (400): {message}")
        self.param = param
        self.code = code
        self.message = message
        self.where = where


class Backend(Protocol):
    supports_n: bool
    deadline: float | None  # seconds a whole call may take (None: no limit, e.g. in-process)
    where: str  # the endpoint, for messages: calls to one endpoint share its health
    # An in-process backend (deadline None) may also set `in_flight`: how many calls it
    # wants at once (a batching one gathers concurrent calls into batches); default 16.

    async def send(self, kind: str, body: dict[str, Any], *, n: int, seed: int) -> list[dict[str, Any]]: ...

    async def aclose(self) -> None:
        """Release what belongs to the event loop the calls ran on (connections)."""
