"""The organiser's pages, all behind the organiser's key (keys.py):

    GET  /organiser               progress, buckets, exclusions, median time; the exports
    GET  /organiser?key=KEY       sets the key's cookie, then redirects without the key
    POST /organiser/login         the same from a form (a key typed by hand)
    GET  /organiser/export.zip    answers, participants, games, checks, platform ids, codebook
    POST /organiser/publish       writes data/human_responses.csv (and human_games.csv)
                                  for the notebooks

Without the key every one of them answers 403 with a page asking for it; the
exports are never cached (no-store), so the answers stay off the disk of
whatever browser downloads them, except as the file the organiser saves.
"""

from __future__ import annotations

from datetime import datetime, timezone

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from helpers.errors import UserError
from helpers.survey import export
from helpers.survey.forms import read_form
from helpers.survey.keys import COOKIE
from helpers.survey.pages import render
from helpers.survey.served import Survey, survey_of

PATH = "/organiser"
WRONG_KEY = "That is not the organiser's key. Use the organiser link the server printed when it started."
NEED_KEY = "This page is for the survey's organiser. Open the organiser link the server printed when it started."


def routes() -> list[Route]:
    return [Route(PATH, page, methods=["GET"]),
            Route(PATH + "/login", login, methods=["POST"]),
            Route(PATH + "/export.zip", download, methods=["GET"]),
            Route(PATH + "/publish", publish, methods=["POST"])]


def _allowed(request: Request) -> bool:
    return survey_of(request).key.cookie_ok(request.cookies.get(COOKIE))


def _refused(request: Request, message: str = NEED_KEY) -> Response:
    return render(request, "organiser_key.html", 403, title="Organiser", message=message)


def _admitted(survey: Survey) -> Response:
    """The redirect that takes the key out of the address bar, with the cookie that stands for it."""
    response = RedirectResponse(PATH, status_code=303)
    # Session cookie (no max_age): it ends with the browser. Path-limited to the
    # organiser's pages; not Secure, because a class's server is often plain http.
    response.set_cookie(COOKIE, survey.key.cookie_value, path=PATH, httponly=True, samesite="strict")
    return response


async def page(request: Request) -> Response:
    survey = survey_of(request)
    if "key" in request.query_params:
        if survey.key.matches(request.query_params["key"]):
            return _admitted(survey)
        return _refused(request, WRONG_KEY)
    if not _allowed(request):
        return _refused(request)
    return await _dashboard(request, survey)


async def login(request: Request) -> Response:
    survey = survey_of(request)
    form = await read_form(request)
    if survey.key.matches(form.get("key", "").strip()):
        return _admitted(survey)
    return _refused(request, WRONG_KEY)


async def _dashboard(request: Request, survey: Survey, *, message: str | None = None, status: int = 200) -> Response:
    def gather():
        store = survey.store
        return export.overview(store, survey.settings), export.bucket_table(store, survey.scenarios)

    overview, buckets = await run_in_threadpool(gather)
    settings = survey.settings
    return render(request, "organiser.html", status, title=f"Organiser: {settings.title}", settings=settings,
                  overview=overview, bucket_columns=list(buckets.columns),
                  bucket_rows=buckets.itertuples(index=False, name=None),
                  database=str(survey.store.path), study_link=str(request.base_url),
                  params=settings.platform_params(), published=survey.published,
                  published_at=survey.published_at, token=survey.key.form_token, message=message)


async def download(request: Request) -> Response:
    survey = survey_of(request)
    if not (_allowed(request) or survey.key.matches(request.query_params.get("key"))):
        return _refused(request)
    data = await run_in_threadpool(export.bundle, survey.store, survey.settings)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    name = f"survey-{survey.settings.study}-{stamp}.zip"  # the study id is letters, digits, . _ - only
    return Response(data, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store"})


async def publish(request: Request) -> Response:
    survey = survey_of(request)
    form = await read_form(request)
    if not (_allowed(request) and survey.key.form_ok(form.get("token"))):
        return _refused(request)
    try:
        written = await run_in_threadpool(export.publish, survey.store, survey.scenarios, survey.settings,
                                           survey.games)
    except UserError as exc:
        return await _dashboard(request, survey, message=f"Nothing written: {exc}", status=409)
    survey.published = written
    survey.published_at = datetime.now().strftime("%H:%M:%S")
    return RedirectResponse(PATH, status_code=303)
