"""What one survey server serves, shared by the participant and organiser pages:
the store, what it asks, its settings and the organiser's key."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import Request

from helpers.economics.games import Game
from helpers.exceptions.scenarios import Scenario
from helpers.survey.keys import OrganiserKey
from helpers.survey.settings import StudySettings
from helpers.survey.store import SurveyStore


@dataclass
class Survey:
    store: SurveyStore
    scenarios: list[Scenario]
    games: list[Game]
    settings: StudySettings
    key: OrganiserKey
    # The organiser's last "publish" (files written, rows, when), shown on their page.
    published: list[tuple[Path, int]] = field(default_factory=list)
    published_at: str | None = None


def survey_of(request: Request) -> Survey:
    return request.app.state.survey
