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

# "yes" and "no" as decisions. "yes or no", "yes/no" and "yes and no" are not
# (a quote of the question, an idiom). "no" counts only where it cannot be a
# determiner: before the end, punctuation or markdown, or a word that opens a
# clause ("No I would not", "No it is too much"); so "no one", "no harm", "no
# reason", "no doubt", "no problem", "nobody" are never a "no".
# Runs of spaces are matched possessively (*+, ++) throughout: a long run of them
# must not make a pattern backtrack through every way of splitting it.
_NO_FOLLOWS = r"(?=\s*+(?:$|[^\w\s-]|-(?!\w))|\s++(?:i|we|it|that|this|because|since|as|sorry|thanks|not)\b)"
# "Yes if my friend agrees" is a condition, not a decision.
_YES = r"yes\b(?!\s*+(?:or|/|and)\s*+no\b)(?!\s*+,?\s*+(?:if|unless|only)\b)"
_NO = r"no\b(?!\s*+(?:or|/)\s*+yes\b)" + _NO_FOLLOWS
_DECISION = rf"({_YES}|{_NO})"
# Markdown, quotes and LaTeX that models wrap around a decision: **No**, $\boxed{\text{Yes}}$.
_DECOR = r"[\s*_\"'`$]*+(?:\\boxed\{)?(?:\\text(?:bf)?\{)?[\s*_\"'`]*+"
_LABEL = r"\s*+(?:(?:is|would\s+be|will\s+be)\s*+)?[:,\-\u2013\u2014]?" + _DECOR + _DECISION
_FINAL_LABEL = re.compile(r"(?:\b(?:final\s+(?:answer|decision|verdict)|in\s+conclusion|conclusion|verdict)"
                          + _LABEL + r"|\\boxed\{(?:\\text(?:bf)?\{)?\s*+" + _DECISION + ")", re.I)
_OTHER_LABEL = re.compile("|".join([
    r"\b(?:answer|decision)" + _LABEL,  # "my answer is no", "Decision - yes"
    r"\b(?:so|thus|hence|therefore)\b,?" + _DECOR + _DECISION,  # "so yes, I would buy it", "Thus, no."
    r"\b(?:i|we)(?:\s+would|'d|\s+will|\s+have\s+to|\s+must)?\s+say\b,?" + _DECOR + _DECISION,  # "I'd say yes"
    r"\ba\s+(?:firm\s+|clear\s+|definite\s+)?(yes|no)\s+(?:from|for)\s+me\b",  # "That's a no from me"
]), re.I)
# An answer to a quoted question: "Yes or no: no."
_QUOTE_ANSWER = r"\byes\s*(?:or|/)\s*no\s*[?:]"
_EMPHASIS = re.compile(r"(?:\*\*|__)\s*+" + _DECISION + r"\s*+(?:[.!]\s*+)?(?:\*\*|__)", re.I)
# Leading decoration models put before the decision: markdown, quotes, labels.
_PREFIX = re.compile(r"^(?:[\s*_#>\"'`(\[-]|answer\s*:|decision\s*:|final answer\s*:)+", re.I)
_END = r"(?=\s*+(?:$|[^\w\s]))"  # the word stands alone: end or punctuation follows
_OPENERS = [  # (pattern at the start, decision), tried in order
    (re.compile(r"(?:nope|nah)\b", re.I), "no"),
    (re.compile(r"(?:absolutely|certainly|definitely|surely|of\s+course)\s+not\b(?=\s*+(?:$|[^\w\s])|\s++(?:at|"
                r"for|with|in|on|when|while|since|because|given|after|before)\b)", re.I), "no"),
    (re.compile(r"no\s+way" + _NO_FOLLOWS + r"|(?:never|i\s*(?:'d|would)\s+rather\s+not|not\s+(?:this\s+time|"
                r"a\s+chance|at\s+all))" + _END, re.I), "no"),
    (re.compile(_DECISION, re.I), None),  # None: the word read
]
# Affirmative openers are also politeness ("Certainly! Let me think ..."), so they
# are read last, and not when a preamble follows them.
_PREAMBLES = (r"let\s+me|let's|let\s+us|here|i'll|i\s+will|i\s+can|i'd\s+be|i\s+would\s+be|i\s+am|i'm|happy|glad|"
              r"i\s+understand|to\s+answer|this\s+is\s+a|that's\s+a|good\s+question")
_AFFIRMATIVE = re.compile(r"(?:yeah|yep|yup|sure|of\s+course|certainly|absolutely|definitely|indeed)" + _END
                          + r"(?![^\w]*+(?:" + _PREAMBLES + "))", re.I)
_QUESTION = re.compile(r"\b(?:do|would|will|should|shall|can)\s+you\s+([a-z]+)", re.I)
_SENTENCE = re.compile(r"(?:[^.!?;:\n]|[.:](?=\d))+[.!?;:\n]?")  # "$10.01" and "8:59" stay whole

_SUBJECTS = {"i", "we"}
_NEGATIONS = {"not", "never", "refuse", "decline"}
_MODALS = {"would", "will", "should", "shall", "must", "can", "could", "do", "am"}
_HELPERS = _NEGATIONS | _MODALS | {"have",
    "may", "might", "did", "does", "are", "going", "to", "ought", "still", "rather", "then",
    "therefore", "thus", "so", "just", "indeed", "decide", "decided", "choose", "agree", "need", "has",
}
# Adverbs ("I'd gladly / reluctantly / probably buy it") pass, except those that
# weaken or condition the verb.
_NOT_HELPER_ADVERBS = {"only", "hardly", "barely", "rarely", "scarcely", "normally", "usually", "ordinarily"}
_NOT_A_STATEMENT = {"if", "whether", "unless", "when", "should", "would", "do", "did", "can",
                    "will", "could", "that"}  # conditions and questions ("if I buy it", "should I buy")
_CONDITIONS = {"if", "unless", "whether", "otherwise", "suppose", "supposing"}
_CONTRACTIONS = [(r"\bwon't\b", "will not"), (r"\bcan't\b|\bcannot\b", "can not"),
                 (r"\bshan't\b", "shall not"), (r"n't\b", " not"), (r"'d\b", " would"),
                 (r"'ll\b", " will"), (r"'m\b", " am"), (r"'re\b", " are"), (r"'ve\b", " have"),
                 (r"\bgo\s+ahead\s+and\b", "")]
# (words, sign): the action itself (+1), making an exception (+1), refusing (-1).
_EXCEPTION_PHRASES = [(("make", a, "exception"), 1) for a in ("an", "the", "this", "that")] + \
                     [(("grant", a, "exception"), 1) for a in ("an", "the", "this", "that")]
_REFUSALS = [((verb,), -1) for verb in ("decline", "refuse", "reject", "deny")]
_SELF = {"me", "us", "s", "you", "yourself", "myself"}  # "let me think", "let's see": not the action
_IMPERATIVE_FILLERS = {"yes", "sure", "definitely", "absolutely", "certainly", "of", "course", "so",
                       "then", "just", "simply", "please", "ok", "okay", "decision", "answer"}


def action_of(question: str) -> str | None:
    """The verb a scenario asks about: "... Do you buy the flour?" -> "buy" (the last
    "do/would/should/can you <verb>" in the text), or None."""
    found = _QUESTION.findall(question or "")
    return found[-1].lower() if found else None


def _last(pattern: re.Pattern, text: str) -> Decision | None:
    hits = [next(g for g in m.groups() if g) for m in pattern.finditer(text)]
    return hits[-1].lower() if hits else None  # type: ignore[return-value]


def _statement(words: list[str], start: int) -> Decision | None:
    """yes/no if words[:start] end with "<I|we> <helpers...>", e.g. "I would not"."""
    j, negations, you_ok = start - 1, 0, False
    while j >= 0 and (words[j] in _HELPERS or (words[j].endswith("ly") and words[j] not in _NOT_HELPER_ADVERBS)):
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


def _flip(decision: Decision, sign: int) -> Decision:
    return decision if sign > 0 else ("yes" if decision == "no" else "no")


_BOUNDARIES = {",", "\u2014", "\u2013", "-"}  # clause marks kept as tokens: "No need to wait - approve it."
# "My decision is to approve", "the right thing is not to book it": a chosen course of action.
_CHOSEN = re.compile(r"\b(?:(?:my|our)\s+(?:final\s+)?(?:decision|choice|answer|recommendation|verdict)"
                     r"|the\s+(?:best|right|correct|fair|fairest|sensible|reasonable|proper)\s+"
                     r"(?:thing\s+to\s+do|thing|choice|decision|course\s+of\s+action|call|option))"
                     r"\s+(?:is|would\s+be|will\s+be)\s*:?\s+(not\s+)?to\s+(not\s+)?$")


def _tokens(sentence: str) -> list[str]:
    return re.findall(r"[a-z]+|[,\u2014\u2013]|(?<=\s)-(?=\s)", sentence)


def _sentence_statement(sentence: str, phrases: list[tuple[tuple[str, ...], int]]) -> Decision | None:
    """The last statement in one sentence: first-person, imperative, chosen or elliptical."""
    words = _tokens(sentence)
    found: Decision | None = None
    # Where an imperative's verb may stand: a clause's first word after fillers ("Yes, approve it.").
    starts = set()
    for k in [0] + [k + 1 for k, w in enumerate(words) if w in _BOUNDARIES]:
        while k < len(words) and words[k] in _IMPERATIVE_FILLERS | _BOUNDARIES:
            k += 1
        starts.add(k)
    first_condition = next((k for k, w in enumerate(words) if w in _CONDITIONS), len(words))
    last_only_if = max((k for k in range(len(words) - 1) if words[k:k + 2] == ["only", "if"]), default=-1)
    for i in range(len(words)):
        for phrase, sign in phrases:
            end = i + len(phrase)
            after = words[end] if end < len(words) else ""
            if tuple(words[i:end]) != phrase or after in _SELF or (sign < 0 and after == "to"):
                continue  # "let me explain"; "refuse to ..." is read at the verb it negates
            if first_condition < i or last_only_if >= end:
                continue  # "if I buy it", "otherwise I'd waive it", "buy it only if ..."
            chosen = "to" in words[i - 2:i] and _CHOSEN.search(
                " ".join(w for w in words[max(0, i - 12):i] if w not in _BOUNDARIES) + " ")
            if i in starts:
                reading: Decision | None = "yes"  # "Approve it.", "Let them board."
            elif (i - 1 in starts and words[i - 1] == "never") or (
                    i - 2 in starts and words[i - 2:i] == ["do", "not"]):
                reading = "no"  # "Don't let them board."
            elif chosen:
                reading = "no" if chosen.group(1) or chosen.group(2) else "yes"
            else:
                reading = _statement(words, i)
            found = _flip(reading, sign) if reading else found
    # "I won't." / "I would, yes.": the action left implicit after the subject.
    clause: list[str] = []
    for w in words + [","]:
        if w not in _BOUNDARIES:
            clause.append(w)
            continue
        k = 0
        while k < len(clause) and clause[k] in _IMPERATIVE_FILLERS:
            k += 1
        if (found is None and len(clause) > k + 1 and clause[k] in _SUBJECTS and first_condition == len(words)
                and all(w in _HELPERS for w in clause[k + 1:]) and clause[-1] in _MODALS | {"not"}):
            found = _statement(clause, len(clause))
        clause = []
    return found


def _stated_action(text: str, action: str | None) -> Decision | None:
    """The last statement about the action (or about making an exception, or a
    refusal) in text; questions are skipped."""
    phrases = _EXCEPTION_PHRASES + _REFUSALS + ([((action,), 1)] if action else [])
    normal = text.lower()
    for pattern, replacement in _CONTRACTIONS:
        normal = re.sub(pattern, replacement, normal)
    found: Decision | None = None
    for sentence in _SENTENCE.findall(normal):
        if sentence.rstrip().endswith("?"):
            continue  # a question, often the prompt's own, decides nothing
        found = _sentence_statement(sentence, phrases) or found
    return found


def _standalone(text: str) -> Decision | None:
    """The last emphasised yes/no ("**No**") or sentence opening with one
    ("... cake. Yes."), unless it answers a question of the model's own
    ("Is a penny a big deal? No."; a lead-in such as "Honestly?" is not one)."""
    hits = [(m.start(), m.group(1).lower()) for m in _EMPHASIS.finditer(text)]
    previous = ""
    for match in _SENTENCE.finditer(text):
        sentence = match.group(0)
        opening = re.match(r"[\s*_#>\"'`(\[-]*" + _DECISION, sentence, re.I)
        asked = previous.rstrip(" *_\"'`").endswith("?") and len(re.findall(r"\w+", previous)) > 2
        if opening and not asked:
            hits.append((match.start(), opening.group(1).lower()))
        if sentence.strip():
            previous = sentence
    return max(hits)[1] if hits else None  # type: ignore[return-value]


def _opening(text: str, affirmative: bool = False) -> tuple[Decision | None, int]:
    """The decision an answer opens with (rule 2; with affirmative, rule 6 too),
    and where it ends in text."""
    stripped = _PREFIX.sub("", text)
    skipped = len(text) - len(stripped)
    for pattern, decision in _OPENERS:
        if match := pattern.match(stripped):
            return (decision or match.group(1).lower()), skipped + match.end()  # type: ignore[return-value]
    if affirmative and (match := _AFFIRMATIVE.match(stripped)):
        return "yes", skipped + match.end()
    return None, 0


def _later(text: str, action: str | None) -> Decision | None:
    """Rules 3 to 5 of parse_answer."""
    question = _QUOTE_ANSWER + ("|" + rf"\b{re.escape(action)}\b[^.!?\n]*\?" if action else "")
    answers = [_opening(text[m.end():], affirmative=True)[0] for m in re.finditer(question, text, re.I)]
    if answers := [a for a in answers if a]:
        return answers[-1]  # checked before labels: "Answer Yes or No? No" ends in the answer
    return _last(_OTHER_LABEL, text) or _stated_action(text, action) or _standalone(text)


def parse_answer(text: str, action: str | None = None) -> Decision:
    """Read a yes/no decision from an answer, short or long; else `invalid`.

    The rules, in order; the first that finds a decision wins:

    1. A labelled final decision anywhere, the last one: "Final answer: yes",
       "My final decision is **No**", "In conclusion, no", "$\\boxed{Yes}$".
    2. The opening, after dropping leading markdown, quotes and labels such as
       "Answer:": "Yes.", "No, because ...", "**No**", "Decision: yes", and the
       refusals "Nope", "Nah", "No way", "Never", "Not this time / a chance / at
       all", "Absolutely / Certainly / Definitely / Of course not", "I'd rather
       not". "Yes if ..." is a condition, not an opening. If rules 3-5 read the
       rest of the answer the other way, the answer contradicts itself: `invalid`.
    3. An answer to the quoted question, read like an opening ("Do you buy the
       flour? No", "Would I accept the return? Absolutely."), else any other
       labelled decision ("my answer is no", "Decision - yes", "I'd say yes",
       "That's a no from me") or conclusion ("so yes, I would buy it", "Thus,
       no."), the last one.
    4. A statement about the scenario's action, the last one, when `action` (see
       action_of) is given, or about making/granting an exception, or a refusal
       (decline / refuse / reject / deny): first person ("I would not buy it" ->
       no, "I'd gladly let the passenger board" -> yes, "you should not buy the
       flour" -> no, "I would decline the order" -> no), imperative at a clause's
       start ("Approve it." / "No need to wait - approve it." -> yes, "Don't let
       them board." -> no), a chosen course ("My decision is to approve ...",
       "the right thing is not to book it") or elliptical ("I won't.", "I would,
       yes."). not / never / refuse to / decline to negate (twice negated is
       yes). Skipped: questions, conditions ("if I buy it", "otherwise I'd waive
       it", "buy it only if ..."), and the verb aimed at the speaker ("let me
       think", "let's see").
    5. An emphasised yes/no or a sentence that opens with one, the last one:
       "... so: **No**", "... the cake. Yes." - unless it answers a question the
       model asked itself ("Is a penny a big deal? No."; a lead-in of one or two
       words such as "Honestly?" is not such a question).
    6. An affirmative opener standing alone: "Sure.", "Of course!", "Certainly,
       ...", "Absolutely.", "Yeah" -> yes; read last because models also open
       with them out of politeness, and never before "let me" / "here is" / "I'd
       be happy to" and the like.

    Everywhere, "yes or no" is a quote of the question, not a decision, and
    "no" followed by a noun ("no one", "no harm", "no reason", "no doubt", "no
    problem") is not a "no". Anything else is `invalid`: counted and shown,
    never guessed. tests/data/answers_corpus.csv measures these rules (make bench).
    """
    text = (text or "").replace("\u2019", "'").replace("\u2018", "'")
    if found := _last(_FINAL_LABEL, text):
        return found
    opening, end = _opening(text)
    if opening:
        later = _later(" " * end + text[end:], action)
        return opening if later in (None, opening) else "invalid"
    if found := _later(text, action):
        return found
    return _opening(text, affirmative=True)[0] or "invalid"
