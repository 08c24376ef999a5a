"""The survey app's steps (apps/survey.py): its arguments, who is answering, and
saving the answers they submit. The store itself is helpers.humans.survey.

A problem a participant can fix (a mistyped code) or that a retry may clear (a
busy database) is returned as a message for the page, never raised: the page
stays, with the form to try again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from helpers.errors import UserError
from helpers.exceptions import Scenario, load_scenarios
from helpers.humans.survey import Participant, Question, SurveyStore
from helpers.notebook.params import NotebookParams

UNKNOWN_CODE = "No participant has that code; check it, or start afresh above."


def open_survey(cli_args: Mapping[str, Any]) -> tuple[NotebookParams, list[Scenario]]:
    """The app's parameters (--study, --scenarios) and the scenarios it asks."""
    params = NotebookParams.from_cli(dict(cli_args))
    return params, load_scenarios(params.scenarios)


def identify(store: SurveyStore, scenarios: list[Scenario], study: str, *, url_code: str | None,
             typed_code: str | None, consented: bool, draft_code: str) -> tuple[Participant | None, str | None]:
    """Who is answering, and a problem to show: a returning participant (their code
    in the URL, or typed), a new one who has just consented (registered under
    draft_code, drawn once per session so that pressing Start twice registers one
    person), or nobody yet."""
    if url_code and (back := store.find(url_code)):
        return back, None
    if typed_code:
        found = store.find(typed_code)
        return found, None if found else UNKNOWN_CODE
    if consented:
        try:
            return store.register(scenarios, study, code=draft_code), None
        except UserError as exc:
            return None, str(exc)
    return None, None


def save_answers(store: SurveyStore, participant: Participant, questions: list[Question],
                 submitted: list[dict | None]) -> list[str]:
    """Save every submitted form not saved yet; the problems, one message each."""
    done = store.answered(participant)
    problems = []
    for question, value in zip(questions, submitted):
        if value is None or question.scenario.id in done:
            continue
        try:
            store.record(participant, question, value["decision"], value["explanation"])
        except UserError as exc:
            problems.append(str(exc))
    return problems
