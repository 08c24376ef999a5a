"""Reading the survey's form posts (application/x-www-form-urlencoded, what a
browser sends for a plain form). The body was already read and size-limited by
guard.BodyLimit; parsing it here needs no multipart library."""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request

MAX_COUNT = 1_000_000  # edits or pasted characters beyond this are not a person typing an answer


async def read_form(request: Request) -> dict[str, str]:
    """Field -> value (the first, if a field comes twice); invalid UTF-8 is replaced, not refused."""
    body = await request.body()
    fields: dict[str, str] = {}
    for name, value in parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True):
        fields.setdefault(name, value)
    return fields


def count(text: str | None) -> int | None:
    """A counter the page's script filled in; None when it did not (no JavaScript) or is not a count."""
    if not text or not text.strip().isdigit():
        return None
    return min(int(text.strip()), MAX_COUNT)
