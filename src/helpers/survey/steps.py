"""What a participant is asked, in order: scenario questions, attention checks
and game settings, each a step with a key unique per participant and the exact
text shown.

The order is fixed by what the store drew at consent (scenario order and levels,
game order) and by the study settings (where each check goes), so a returning
participant meets the same sequence.
"""

from __future__ import annotations

from dataclasses import dataclass

from helpers.economics.games import Setting
from helpers.economics.humans import prompt_for_people
from helpers.exceptions.scenarios import Scenario
from helpers.survey.settings import AttentionCheck, StudySettings


@dataclass(frozen=True)
class Question:
    position: int  # 1-based place among this participant's scenarios
    scenario: Scenario
    level: int
    kind = "scenario"

    @property
    def key(self) -> str:
        return f"scenario:{self.scenario.id}"

    @property
    def prompt(self) -> str:
        return self.scenario.render(self.level)


@dataclass(frozen=True)
class CheckStep:
    check: AttentionCheck
    kind = "check"

    @property
    def key(self) -> str:
        return f"check:{self.check.id}"

    @property
    def prompt(self) -> str:
        return self.check.prompt


@dataclass(frozen=True)
class GameStep:
    position: int  # 1-based place among this participant's game settings
    setting: Setting
    kind = "game"

    @property
    def key(self) -> str:
        return f"game:{self.setting.game.id}:{self.setting.index}"

    @property
    def prompt(self) -> str:
        # The very text an agent is sent for this setting (tests compare the two).
        return prompt_for_people(self.setting)


Step = Question | CheckStep | GameStep


def arrange(questions: list[Question], games: list[GameStep], settings: StudySettings) -> list[Step]:
    """The participant's steps: the modules in the settings' order, each check
    after its `after`-th scenario question (checks past the last question close
    the scenario module; with no scenario module they open the survey)."""
    scenario_part: list[Step] = []
    checks = sorted(settings.checks, key=lambda c: c.after)
    pending = list(checks)
    for number, question in enumerate(questions, start=1):
        scenario_part.append(question)
        while pending and pending[0].after <= number:
            scenario_part.append(CheckStep(pending.pop(0)))
    if "scenarios" in settings.modules:
        scenario_part.extend(CheckStep(c) for c in pending)
        parts = {"scenarios": scenario_part, "games": list(games)}
        return [step for module in settings.modules for step in parts.get(module, [])]
    return [*(CheckStep(c) for c in checks), *games]
