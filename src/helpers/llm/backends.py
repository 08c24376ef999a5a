"""What a backend is, and the one fault it may raise for a passing reason.

A backend sends one request (a body built by its provider's `request_body`,
exactly what the cache key was derived from) and returns one result per
answer: `yes_no` results hold P(yes) and P(no) of the first answer token,
`generate` results one sampled text. Errors that no retry can fix (bad key,
unknown model, rejected request) are one-line UserErrors; passing faults
(timeouts, 429, 5xx, dropped connections) are CallFailed, which the caller
counts as a failed call and never as a decision.
"""

from __future__ import annotations

from typing import Any, Protocol


class CallFailed(Exception):
    """A call that failed for a passing reason; it is retried, and if it keeps
    failing, counted as failed and made again on the next run."""

    def __init__(self, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.retry_after = retry_after


class Backend(Protocol):
    supports_n: bool

    async def send(self, kind: str, body: dict[str, Any], *, n: int, seed: int) -> list[dict[str, Any]]: ...
