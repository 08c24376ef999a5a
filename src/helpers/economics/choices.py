"""Read a chosen action from a model's answer, by rules a reader can check.

The rules (the same for games, dilemmas and the pricing game):

1. Drop leading decoration: whitespace, markdown (`*`, `_`, `#`, `>`), quotes,
   brackets, bullet dashes ("- "), and labels such as "Answer:", "Choice:", "Decision:",
   "Final answer:", "My answer is", "Price:".
2. Drop one lead-in of the form "I [would|will|'d|'ll] [choose|pick|select|go
   with|decide] [to] [give|contribute|send|put in|return|pass|pay|set|charge]",
   e.g. "I choose X", "I would send 5", "I'd accept", "I set 4.50". ("I keep
   10" is not a lead-in: keeping is not giving.)
3. What follows must start with the answer: a label (one word, any casing) for a
   labelled choice, or a number (optionally with "$") for an amount or a price.
   A number must be one of the allowed amounts, or inside the allowed price range.

Anything else is `invalid`: counted and shown, never turned into a choice.
"""

from __future__ import annotations

import re
from fractions import Fraction

INVALID = "invalid"

_DECORATION = re.compile(
    r"^(?:[\s*_#>\"'`“”‘’(\[{]|-(?=\s)"  # a dash only as a bullet ("- 5"), never a minus sign
    r"|(?:final\s+|my\s+)?(?:answer|choice|decision|response|price)\s*(?:is\b)?\s*[:=]?)+",
    re.I,
)
_LEAD_IN = re.compile(
    r"^i(?:\s+would|\s+will|['’]d|['’]ll)?"
    r"(?:\s+(?:choose|pick|select|go\s+with|decide))?"
    r"(?:\s+to)?"
    r"(?:\s+(?:give|contribute|send|put\s+in|put|return|pass|pay|set|charge))?\s+",
    re.I,
)
_WORD = re.compile(r"^([A-Za-z]+)\b")
_NUMBER = re.compile(r"^\$?\s?(\d+(?:\.\d+)?)(?![\d.]*\w)")


def _strip(text: str) -> str:
    stripped = _DECORATION.sub("", text or "")
    return _LEAD_IN.sub("", stripped, count=1)


def parse_label(text: str, labels: dict[str, str]) -> str:
    """The action id whose label opens the answer (rules 1-3), else "invalid".

    labels: action id -> the one word the model is asked to answer with.
    """
    match = _WORD.match(_strip(text))
    if not match:
        return INVALID
    word = match.group(1).lower()
    for action, label in labels.items():
        if label.lower() == word:
            return action
    return INVALID


def parse_number(text: str) -> Fraction | None:
    """The number that opens the answer (rules 1-3), exactly, or None."""
    match = _NUMBER.match(_strip(text))
    return Fraction(match.group(1)) if match else None


def parse_amount(text: str, amounts: dict[str, Fraction]) -> str:
    """The action id of the allowed amount that opens the answer, else "invalid".

    amounts: action id -> amount. "5", "5.0", "$5" and "5 points" all read as 5;
    an amount that is not on the list (say 7 when 0, 5, 10 are allowed) is invalid.
    """
    value = parse_number(text)
    if value is None:
        return INVALID
    for action, amount in amounts.items():
        if amount == value:
            return action
    return INVALID
