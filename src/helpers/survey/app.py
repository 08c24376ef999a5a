"""The survey's web server as an ASGI app: participant pages (participant.py),
the organiser's pages (organiser.py), under the request-size limit and the
security headers of guard.py. serve.py runs it under uvicorn.

Why not marimo: a marimo session per participant measured p95 5.1 s per submit
with 200 participants at once on 2 cores (issue 17); these pages are plain
server-rendered HTML, a few kilobytes each, with one SQLite transaction per
submit, and work without JavaScript.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from helpers.errors import UserError
from helpers.survey import organiser, participant
from helpers.survey.guard import MAX_BODY, BodyLimit, SecurityHeaders
from helpers.survey.pages import render
from helpers.survey.served import Survey


async def _not_found(request: Request, exc: Exception) -> Response:
    return render(request, "message.html", 404, title="Not found",
                  message="There is no page at this address. Check the link you were given.")


async def _not_allowed(request: Request, exc: Exception) -> Response:
    return render(request, "message.html", 405, title="Not allowed",
                  message="This page cannot be used that way. Go back and use its buttons.")


async def _user_error(request: Request, exc: Exception) -> Response:
    # A database that cannot be read or written (disk full, locked past the
    # timeout): the one line says so; nothing the participant typed is lost, as
    # answer pages catch it themselves and keep the form.
    return render(request, "message.html", 503, title="Please try again",
                  message=f"The survey could not be shown just now ({exc}). Please reload the page in a moment.")


async def _favicon(request: Request) -> Response:
    return Response(status_code=204)  # browsers ask for one; an empty answer keeps the logs and tests quiet


def create_app(survey: Survey, *, max_body: int = MAX_BODY):
    """The ASGI app: Starlette's routing inside the size limit inside the headers."""
    app = Starlette(
        routes=[*participant.routes(), *organiser.routes(), Route("/favicon.ico", _favicon)],
        exception_handlers={404: _not_found, 405: _not_allowed, UserError: _user_error},
    )
    app.state.survey = survey
    return SecurityHeaders(BodyLimit(app, limit=max_body))
