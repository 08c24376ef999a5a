"""Turn a scenario at a level into the conversation a model sees, and read answers.

A prompt *variant* (defined in variants.toml, see variants.py) is a list of user
turns. One turn is one question: `baseline` asks for a yes-or-no decision on the
scenario, the ethical-framework variants add one instruction to that question.
Several turns make a chain (`cot`): each turn is asked after the model's answer
to the one before, in the same conversation, and the decision is read from the
last answer. The rendered messages are part of every cache key, so changing a
variant's wording is a new experiment, not a cache hit.

`parse_answer` reads a decision from free text by the rules in its docstring.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from helpers.exceptions.scenarios import Scenario
from helpers.exceptions.variants import Variant, check_variant, get_variant, load_variants  # noqa: F401 (re-exported)

Decision = Literal["yes", "no", "invalid"]
Messages = list[dict[str, str]]

ANSWER_INSTRUCTION = "Answer Yes or No."  # the baseline's wording; see variants.toml


def build_messages(scenario: Scenario, level: int, variant: str = "baseline",
                   answers: Sequence[str] = (), variants_file: str | Path | None = None) -> Messages:
    """The chat messages for one bucket (scenario x level) under a prompt variant.

    answers: the model's answers to the variant's earlier turns (for a chain);
    with k answers the result is the conversation at turn k + 1, ending with a
    user message. variants_file: another variants TOML (default: variants.toml).
    """
    return get_variant(variant, variants_file).messages(scenario.render(level), answers)


# --- Reading a decision ------------------------------------------------------

_YES_NO = r"(yes|no)\b(?!\s*(?:or|/)\s*(?:yes|no)\b)"  # "yes or no" quotes the question
# Leading decoration models put before the decision: markdown, quotes, labels.
_PREFIX = re.compile(r"^(?:[\s*_#>\"'`(\[-]|answer\s*:|decision\s*:|final answer\s*:)+", re.I)
_FIRST_WORD = re.compile(r"^" + _YES_NO, re.I)
_IDIOMS = re.compile(r"^(?:no\s+(?:problem|doubt|worries|matter)|yes\s+and\s+no)\b", re.I)
_LABEL = r"\s*(?:is|would\s+be|will\s+be)?\s*[:,\-\u2013\u2014]?[\s*_\"'`]*" + _YES_NO
_FINAL_LABEL = re.compile(r"\b(?:final\s+(?:answer|decision|verdict)|in\s+conclusion|conclusion|verdict)"
                          + _LABEL, re.I)
_OTHER_LABEL = re.compile(r"\b(?:answer|decision)" + _LABEL, re.I)
_EMPHASIS = re.compile(r"(?:\*\*|__)\s*" + _YES_NO + r"\s*[.!]?\s*(?:\*\*|__)"
                       r"|^[\s\"'`>*_]*" + _YES_NO + r"[\s\"'`*_]*[.!]?[\s\"'`*_]*$", re.I | re.M)
_QUESTION = re.compile(r"\b(?:do|would|will|should|shall|can)\s+you\s+([a-z]+)", re.I)

_SUBJECTS = {"i", "we"}
_NEGATIONS = {"not", "never", "refuse", "decline"}
_HELPERS = _NEGATIONS | {
    "would", "will", "should", "shall", "must", "can", "could", "may", "might", "do", "did",
    "does", "am", "are", "going", "to", "ought", "still", "definitely", "certainly", "probably",
    "really", "just", "also", "then", "therefore", "thus", "so", "ultimately", "happily",
    "gladly", "rather", "indeed", "decide", "choose", "agree",
}
_NOT_A_STATEMENT = {"if", "whether", "unless", "when", "should", "would", "do", "did", "can",
                    "will", "could", "that"}  # conditions and questions ("if I buy it", "should I buy")
_CONTRACTIONS = [(r"\bwon't\b", "will not"), (r"\bcan't\b|\bcannot\b", "can not"),
                 (r"\bshan't\b", "shall not"), (r"n't\b", " not"), (r"'d\b", " would"),
                 (r"'ll\b", " will"), (r"'m\b", " am"), (r"'re\b", " are")]
_EXCEPTION_PHRASES = [("make", a, "exception") for a in ("an", "the", "this", "that")] + \
                     [("grant", a, "exception") for a in ("an", "the", "this", "that")]


def action_of(question: str) -> str | None:
    """The verb a scenario asks about: "... Do you buy the flour?" -> "buy" (the last
    "do/would/should/can you <verb>" in the text), or None."""
    found = _QUESTION.findall(question or "")
    return found[-1].lower() if found else None


def _last(pattern: re.Pattern, text: str) -> str | None:
    hits = [next(g for g in m.groups() if g) for m in pattern.finditer(text)]
    return hits[-1].lower() if hits else None


def _statement(words: list[str], start: int) -> Decision | None:
    """yes/no if words[:start] end with "<I|we> <helpers...>", e.g. "I would not"."""
    j, negations, you_ok = start - 1, 0, False
    while j >= 0 and words[j] in _HELPERS:
        negations += words[j] in _NEGATIONS
        you_ok = you_ok or words[j] in {"should", "must", "ought"}
        j -= 1
    if j < 0 or not (words[j] in _SUBJECTS or (words[j] == "you" and you_ok)):
        return None
    if j > 0 and words[j - 1] in _NOT_A_STATEMENT:
        return None
    # "I do not think I should buy it": a negated belief flips the statement.
    before = words[max(0, j - 3):j]
    if "not" in before and any(w in {"think", "believe", "feel"} for w in before):
        negations += 1
    return "no" if negations % 2 else "yes"


def _stated_action(text: str, action: str | None) -> Decision | None:
    phrases = _EXCEPTION_PHRASES + ([(action,)] if action else [])
    normal = text.lower().replace("\u2019", "'")
    for pattern, replacement in _CONTRACTIONS:
        normal = re.sub(pattern, replacement, normal)
    found: Decision | None = None
    for sentence in re.findall(r"[^.!?;\n]+[.!?;\n]?", normal):
        if sentence.rstrip().endswith("?"):
            continue  # a question, often the prompt's own, decides nothing
        words = re.findall(r"[a-z]+", sentence)
        for i in range(len(words)):
            for phrase in phrases:
                if tuple(words[i:i + len(phrase)]) == phrase:
                    found = _statement(words, i) or found
    return found


def parse_answer(text: str, action: str | None = None) -> Decision:
    """Read a yes/no decision from an answer, short or long; else `invalid`.

    The rules, in order; the first that finds a decision wins:

    1. A labelled final decision anywhere, the last one: "Final answer: yes",
       "My final decision is **No**", "In conclusion, no".
    2. The opening word, after dropping leading markdown, quotes and labels such
       as "Answer:": "Yes.", "No, because ...", "**No**", "Decision: yes".
       Idioms ("No problem", "No doubt", "Yes and no") do not count.
    3. Any other labelled decision, the last one: "my answer is no", "Decision - yes".
    4. An emphasised or stand-alone yes/no, the last one: "... so: **No**" or a
       line holding only "Yes." after paragraphs of reasoning.
    5. A first-person statement about the scenario's action, the last one, when
       `action` (see action_of) is given, or about making/granting an exception:
       "I would not buy it" -> no, "I'd let the passenger board" -> yes,
       "you should not buy the flour" -> no. not / never / refuse to / decline to
       negate (twice negated is yes); conditions ("if I buy it") and questions
       are skipped.

    Everywhere, "yes or no" is a quote of the question, not a decision. Anything
    else is `invalid`: counted and shown, never guessed.
    """
    text = text or ""
    if found := _last(_FINAL_LABEL, text):
        return found  # type: ignore[return-value]
    stripped = _PREFIX.sub("", text)
    if not _IDIOMS.match(stripped) and (match := _FIRST_WORD.match(stripped)):
        return match.group(1).lower()  # type: ignore[return-value]
    for pattern in (_OTHER_LABEL, _EMPHASIS):
        if found := _last(pattern, text):
            return found  # type: ignore[return-value]
    return _stated_action(text, action) or "invalid"
