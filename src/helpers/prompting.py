"""Turn a scenario at a level into the messages a model sees, and read answers.

The paper asked every agent for a yes-or-no decision on the scenario text. The
`baseline` variant does exactly that; later variants (ethical frameworks, chain
of thought) add to the same conversation. The variant name is part of every
cache key, so changing the wording below is a new experiment, not a cache hit.
"""

from __future__ import annotations

import re
from typing import Literal

from .errors import UserError
from .scenarios import Scenario

Decision = Literal["yes", "no", "invalid"]
Messages = list[dict[str, str]]

ANSWER_INSTRUCTION = "Answer Yes or No."

VARIANTS: dict[str, str] = {
    "baseline": "the scenario and the request for a yes-or-no decision",
}


def check_variant(name: str) -> str:
    if name not in VARIANTS:
        raise UserError(f"unknown variant '{name}'; known variants are {', '.join(VARIANTS)}")
    return name


def build_messages(scenario: Scenario, level: int, variant: str = "baseline") -> Messages:
    """The chat messages for one bucket (scenario x level) under a prompt variant."""
    check_variant(variant)
    return [{"role": "user", "content": f"{scenario.render(level)} {ANSWER_INSTRUCTION}"}]


# Leading decoration models put before the decision: markdown, quotes, labels.
_PREFIX = re.compile(r"^(?:[\s*_#>\"'`(\[-]|answer\s*:|decision\s*:|final answer\s*:)+", re.I)
_FIRST_WORD = re.compile(r"^(yes|no)\b", re.I)


def parse_answer(text: str) -> Decision:
    """Read a yes/no decision from an answer's opening words.

    Rule: after dropping leading markdown, quotes and labels such as "Answer:",
    the first word must be yes or no (any casing, any punctuation after it).
    Anything else is `invalid` and is counted, never guessed.
    """
    stripped = _PREFIX.sub("", text or "")
    match = _FIRST_WORD.match(stripped)
    return match.group(1).lower() if match else "invalid"  # type: ignore[return-value]
