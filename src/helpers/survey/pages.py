"""Rendering the survey's pages: Jinja2 templates (templates/) with autoescaping
on for every template, so whatever a participant typed (and whatever a settings
file or a platform's URL parameter holds) reaches the page as text, never as
markup. Nothing in the templates marks a value safe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from helpers.survey.guard import NONCE_KEY

TEMPLATES = Path(__file__).resolve().parent / "templates"

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,  # every template, whatever its name ends with
    undefined=jinja2.StrictUndefined,  # a missing value is a bug to see, not an empty string
    trim_blocks=True,
    lstrip_blocks=True,
)


def paragraphs(text: str) -> list[str]:
    """Plain text with paragraphs separated by blank lines -> the paragraphs."""
    parts = [" ".join(p.split()) for p in text.replace("\r\n", "\n").split("\n\n")]
    return [p for p in parts if p]


_env.filters["paragraphs"] = paragraphs


# What base.html shows when a page does not set it: a note (something went
# fine but differently), a message (what to change), the participant's code, a link.
DEFAULTS: dict[str, Any] = {"note": None, "message": None, "code": None, "link": None}


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """The page `template` with `context`, plus the response's CSP nonce."""
    nonce = request.scope.get("state", {}).get(NONCE_KEY, "")
    page = {**DEFAULTS, **context, "nonce": nonce}
    html = _env.get_template(template).render(**page)
    return HTMLResponse(html, status_code=status)
