"""The participant's pages: arrival and consent, one page per step, the end.

    GET  /            the consent page; `?p=CODE` or a platform id already seen
                      resumes that participant (a redirect to their page)
    POST /start       consent: registers the participant, then their page
    GET  /s/{code}    the participant's next step (or the end page)
    POST /s/{code}    an answer to that step, then (303) the next one

Every page works without JavaScript. A post that cannot be saved (no decision,
an explanation too long) comes back as the same page with what was typed still
in the form and one line saying what to change; an answer that was already
recorded (a double click, the same code open on a second device) moves on with
a note that the first answer stands. The store's guarantees (one transaction
per answer, the first answer stands) are helpers.survey.store's.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from helpers.economics.humans import actions_for_people
from helpers.errors import UserError
from helpers.survey.codes import format_code, new_code, parse_code
from helpers.survey.device import device_class
from helpers.survey.forms import count, read_form
from helpers.survey.pages import render
from helpers.survey.served import Survey, survey_of
from helpers.survey.settings import clean_platform
from helpers.survey.store import Participant, Quality

UNKNOWN_CODE = "No participant has that code; check it, or start afresh below."
CONSENT_NEEDED = "Please tick the box to take part."
RECORDED = "That answer was already recorded; the first one stands."
VALUE_FIELDS = ("decision", "explanation", "edits", "paste_count", "pasted_chars", "choice")


def routes() -> list[Route]:
    return [Route("/", home, methods=["GET"]),
            Route("/start", start, methods=["POST"]),
            Route("/s/{code}", show_step, methods=["GET"]),
            Route("/s/{code}", answer, methods=["POST"])]


def _to_participant(code: str, note: str | None = None) -> RedirectResponse:
    return RedirectResponse(f"/s/{code}" + ("?note=recorded" if note else ""), status_code=303)


# --- arrival and consent -------------------------------------------------------------

async def home(request: Request) -> Response:
    survey = survey_of(request)
    query = request.query_params
    if query.get("view") == "organiser":  # the organiser's URL before this server (marimo's app)
        key = query.get("key")
        return RedirectResponse("/organiser" + (f"?key={key}" if key else ""), status_code=303)
    platform = clean_platform(survey.settings, dict(query))
    typed = query.get("p", "").strip()

    def returning() -> Participant | None:
        found = survey.store.find(typed) if typed else None
        return found or survey.store.find_platform(survey.settings, platform)

    found = await run_in_threadpool(returning)
    if found is not None:
        return _to_participant(found.code)
    return consent_page(request, survey, platform, message=UNKNOWN_CODE if typed else None)


def consent_page(request: Request, survey: Survey, platform: dict[str, str], *, message: str | None = None,
                 status: int = 200) -> Response:
    settings = survey.settings
    scenarios = len(survey.scenarios) if "scenarios" in settings.modules else 0
    games = sum(len(g.settings) for g in survey.games) if "games" in settings.modules else 0
    return render(request, "consent.html", status, title=settings.title,
                  paragraphs=settings.consent_paragraphs(), version=settings.consent_version,
                  scenarios=scenarios, games=games, checks=len(settings.checks),
                  platform=sorted(platform.items()),
                  # Drawn for this page, so that pressing Start twice registers one participant.
                  draft=new_code(), message=message)


async def start(request: Request) -> Response:
    survey = survey_of(request)
    form = await read_form(request)
    platform = clean_platform(survey.settings, form)
    if form.get("consent") != "yes":
        return consent_page(request, survey, platform, message=CONSENT_NEEDED, status=422)
    try:
        participant = await run_in_threadpool(
            survey.store.register, survey.scenarios, survey.settings, games=survey.games, platform=platform,
            device=device_class(request.headers.get("user-agent")), code=parse_code(form.get("draft")))
    except UserError as exc:
        return consent_page(request, survey, platform, message=str(exc), status=503)
    return _to_participant(participant.code)


# --- the steps -------------------------------------------------------------------------

def _unknown(request: Request) -> Response:
    return render(request, "message.html", 404, title="Code not found", link="/",
                  message=UNKNOWN_CODE.replace("below", "on the first page"))


async def show_step(request: Request) -> Response:
    survey = survey_of(request)
    store = survey.store

    def load():
        participant = store.find(request.path_params["code"])
        if participant is None:
            return None, [], None
        steps = store.steps(participant, survey.scenarios, survey.games, survey.settings)
        step = store.next_step(participant, steps)
        if step is None:
            store.complete(participant)
        else:
            store.mark_shown(participant, step)
        return participant, steps, step

    participant, steps, step = await run_in_threadpool(load)
    if participant is None:
        return _unknown(request)
    if step is None:
        return end_page(request, survey, participant)
    note = RECORDED if request.query_params.get("note") == "recorded" else None
    return step_page(request, survey, participant, steps, step, note=note)


def step_page(request: Request, survey: Survey, participant: Participant, steps: list, step, *,
              values: dict[str, str] | None = None, message: str | None = None, note: str | None = None,
              status: int = 200) -> Response:
    if step.kind == "check":
        options = [(option, option) for option in step.check.options]
    elif step.kind == "game":
        options = actions_for_people(step.setting)  # in the order the prompt lists them
    else:
        options = []
    shown = {name: (values or {}).get(name, "") for name in VALUE_FIELDS}
    return render(request, "step.html", status, title=survey.settings.title, code=format_code(participant.code),
                  raw_code=participant.code, number=steps.index(step) + 1, total=len(steps), kind=step.kind,
                  prompt=step.prompt, step_key=step.key, options=options, values=shown,
                  max_text=survey.settings.max_text, message=message, note=note)


def end_page(request: Request, survey: Survey, participant: Participant) -> Response:
    settings = survey.settings
    return render(request, "end.html", title=settings.title, code=format_code(participant.code),
                  completion_code=settings.completion_code, redirect=settings.completion_url)


def _save(survey: Survey, participant: Participant, step, form: dict[str, str]) -> bool:
    """Record the posted answer to `step`; False if it already had one (UserError if it cannot be saved)."""
    store = survey.store
    if step.kind == "scenario":
        quality = Quality(count(form.get("edits")), count(form.get("paste_count")), count(form.get("pasted_chars")))
        # A browser sends a textarea's line breaks as CRLF; the participant typed one character each.
        explanation = form.get("explanation", "").replace("\r\n", "\n")
        return store.record(participant, step, form.get("decision", ""), explanation, quality=quality,
                            max_text=survey.settings.max_text)
    if step.kind == "check":
        return store.record_check(participant, step, form.get("choice", ""))
    return store.record_game(participant, step, form.get("choice", ""))


async def answer(request: Request) -> Response:
    survey = survey_of(request)
    store = survey.store
    form = await read_form(request)

    def handle() -> tuple[str, Any]:
        participant = store.find(request.path_params["code"])
        if participant is None:
            return "unknown", None
        steps = store.steps(participant, survey.scenarios, survey.games, survey.settings)
        current = store.next_step(participant, steps)
        keys = [s.key for s in steps]
        posted = form.get("step")
        if posted not in keys:  # an old page from before the study changed, or a made-up post
            return "show", participant
        if current is None or keys.index(posted) < keys.index(current.key):
            return "recorded", participant
        if posted != current.key:  # a step not reached yet: only a made-up post gets here
            return "show", participant
        try:
            saved = _save(survey, participant, current, form)
        except UserError as exc:
            return "invalid", (participant, steps, current, str(exc))
        return ("saved" if saved else "recorded"), participant

    outcome, detail = await run_in_threadpool(handle)
    if outcome == "unknown":
        return _unknown(request)
    if outcome == "invalid":
        participant, steps, step, problem = detail
        return step_page(request, survey, participant, steps, step, values=form, message=problem, status=422)
    return _to_participant(detail.code, note=outcome == "recorded")
