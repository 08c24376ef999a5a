"""MoralExceptQA as a second, public human baseline.

MoralExceptQA (Jin, Levine, Gonzalez Adauto, Kamal, Sap, Sachan, Mihalcea,
Tenenbaum, Schölkopf: "When to Make Exceptions: Exploring Language Models as
Accounts of Human Moral Judgment", NeurIPS 2022) collects vignettes in which
someone breaks a rule, each with the share of people who judged that acceptable.
Licence: CC BY-NC-SA 4.0 (attribution, non-commercial, share-alike). We never
copy the file into this repository; it is read from the user's copy
(paths.moralexceptqa_file(): EXCEPTIONS_MORALEXCEPTQA, or the shared copy next to
the checkout), e.g. `complete_file.csv` from github.com/feradauto/MoralCoT
(input_data/) or the dataset feradauto/MoralExceptQA.

What we use: the `blue.house` study, 9 contexts (things Hank does to his
neighbour's property without permission) x 6 conditions (what the stranger
offers or threatens). The conditions are an ordered ladder, so each context
becomes a Scenario with six levels, in the paper's convention that level 1 is
the least justified exception (people refuse it most) and the last the most:

    level 1 hundred      $100 offered
    level 2 thousand     $1,000
    level 3 tenthousand  $10,000
    level 4 hunthousand  $100,000
    level 5 million      $1,000,000
    level 6 gun          the stranger will kill Hank's son if he refuses

The human data's refusal side: `human.response` is the share who judged
breaking the rule acceptable (granting the exception), so the human refusal
rate is 1 - human.response. The model is asked whether what Hank did was
acceptable; "no" is its refusal.

Sample size: the file gives proportions, not counts. Every blue.house share is a
whole number of answers out of 59 to 63 people (e.g. 0.8667 = 52/60, 0.1746 =
11/63), so for each row n is taken as the size between N_RANGE that makes the
share a whole count, the one closest to DEFAULT_N when several do (0.5 fits
every even size); DEFAULT_N if none does. Pass n= to use one fixed size instead.
The `lines` and `cannonball` studies have no ordered ladder and are not mapped.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from helpers import paths
from helpers.errors import ConfigError
from helpers.exceptions.scenarios import Scenario

STUDY = "blue.house"
CONDITIONS = ("hundred", "thousand", "tenthousand", "hunthousand", "million", "gun")  # level 1..6
REQUIRED = ("context", "condition", "study", "human.response", "scenario")
DEFAULT_N = 60
N_RANGE = (50, 70)
QUESTION = "Was it acceptable for Hank to do what the stranger asked?"
LICENCE = "CC BY-NC-SA 4.0"
ATTRIBUTION = ("MoralExceptQA: Jin, Levine, Gonzalez Adauto, Kamal, Sap, Sachan, Mihalcea, Tenenbaum, "
               "Schölkopf, \"When to Make Exceptions: Exploring Language Models as Accounts of Human "
               "Moral Judgment\", NeurIPS 2022 (arXiv 2210.01478); data from github.com/feradauto/MoralCoT, "
               f"also the dataset feradauto/MoralExceptQA. Licence {LICENCE}: attribution, "
               "non-commercial use, share-alike.")
# Readable ids and titles for the nine contexts of the published file; another
# context (in an edited copy) keeps its own name.
CONTEXTS = {
    "bleachlawn": ("bleach_lawn", "Bleach the lawn"),
    "bluehouse": ("blue_house", "Paint the house blue"),
    "blueinsidedoor": ("blue_inside_door", "Paint the door blue (inside)"),
    "bluemailbox": ("blue_mailbox", "Paint the mailbox blue"),
    "blueoutsidedoor": ("blue_outside_door", "Paint the door blue (outside)"),
    "breakwindows": ("break_windows", "Break the windows"),
    "erasemural": ("erase_mural", "Paint over the mural"),
    "razehouse": ("raze_house", "Demolish the house"),
    "smearpoop": ("smear_poop", "Smear the front step"),
}
LEVEL_LABELS = ("$100", "$1,000", "$10,000", "$100,000", "$1,000,000", "threat to kill his son")


@dataclass(frozen=True)
class MoralExceptQA:
    path: Path
    scenarios: list[Scenario]  # one per context, six levels each
    human: pd.DataFrame  # scenario, level, refusal_rate, n, k, se, n_note, context, condition, response
    rows: pd.DataFrame  # the blue.house rows as read, for reference


def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise ConfigError(f"MoralExceptQA file not found at {path}; download complete_file.csv "
                          "(github.com/feradauto/MoralCoT, input_data/) and pass its path "
                          "(--moralexceptqa FILE or EXCEPTIONS_MORALEXCEPTQA)")
    try:
        table = pd.read_csv(path, encoding="utf-8")
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ConfigError(f"{path}: cannot be read as CSV ({' '.join(str(exc).split())[:200]})") from None
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing:
        raise ConfigError(f"{path}: missing column `{missing[0]}`; a MoralExceptQA file has {', '.join(REQUIRED)}")
    return table


def _words(text: str) -> list[str]:
    # The file mixes ' and ’ within one vignette family; one apostrophe lets the
    # six texts of a context share their common words.
    return text.replace("\u2019", "'").split()


def _scenario(context: str, texts: list[str]) -> Scenario:
    """A Scenario whose prompt is the words all six vignettes share, with {value}
    where they differ; level i renders the i-th vignette (plus the question)."""
    words = [_words(t) for t in texts]
    head = 0
    while all(len(w) > head for w in words) and len({w[head] for w in words}) == 1:
        head += 1
    tail = 0
    while all(len(w) > head + tail for w in words) and len({w[-1 - tail] for w in words}) == 1:
        tail += 1
    levels = tuple(" ".join(w[head:len(w) - tail]) for w in words)
    prefix, suffix = " ".join(words[0][:head]), " ".join(words[0][len(words[0]) - tail:])
    prompt = " ".join(p for p in (prefix, "{value}", suffix, QUESTION) if p)
    ident, title = CONTEXTS.get(context, (re.sub(r"[^a-z0-9_]", "_", context.lower()), context))
    if not re.match(r"^[a-z]", ident):
        ident = f"c_{ident}"
    return Scenario(id=ident, title=title, prompt=prompt, levels=levels,
                    provenance=f"MoralExceptQA ({LICENCE}), study blue.house, context '{context}'; "
                               "levels = payment conditions $100 .. $1,000,000, then the threat")


def infer_n(share: float) -> tuple[int, bool]:
    """(n, inferred): the sample size that makes `share` a whole count (see module doc)."""
    fits = [n for n in range(N_RANGE[0], N_RANGE[1] + 1) if abs(share * n - round(share * n)) < 1e-6]
    if not fits:
        return DEFAULT_N, False
    return min(fits, key=lambda n: (abs(n - DEFAULT_N), n)), True


def load_moralexceptqa(path: str | Path | None = None, *, n: int | None = None) -> MoralExceptQA:
    """Read MoralExceptQA's blue.house study as scenarios and human refusal rates.

    path: the dataset's complete_file.csv (default paths.moralexceptqa_file()).
    n: a fixed number of human answers per vignette; default: inferred per row
    (see the module docstring). Any problem with the file is a one-line ConfigError
    naming the file, the row (1-based data row) and the field.
    """
    path = Path(path) if path is not None else paths.moralexceptqa_file()
    if n is not None and n < 1:
        raise ConfigError(f"n must be at least 1, got {n}")
    table = _read(path)
    rows = table[table["study"] == STUDY]
    if rows.empty:
        raise ConfigError(f"{path}: no rows of study '{STUDY}'; is this MoralExceptQA's complete_file.csv?")
    human, texts = [], {}
    for index, row in rows.iterrows():
        where = f"{path}: row {index + 1}"
        if row["condition"] not in CONDITIONS:
            raise ConfigError(f"{where}, field `condition`: {row['condition']!r} is not one of {', '.join(CONDITIONS)}")
        share = float(pd.to_numeric(row["human.response"], errors="coerce"))
        if math.isnan(share) or not 0 <= share <= 1:
            raise ConfigError(f"{where}, field `human.response`: {row['human.response']!r} is not a share between 0 and 1")
        if not isinstance(row["scenario"], str) or not row["scenario"].strip():
            raise ConfigError(f"{where}, field `scenario`: the vignette text is missing")
        key = (str(row["context"]), row["condition"])
        if key in texts:
            raise ConfigError(f"{where}, field `condition`: context '{key[0]}' has condition '{key[1]}' twice")
        texts[key] = row["scenario"]
        size, inferred = (n, False) if n is not None else infer_n(float(share))
        note = (f"inferred: {round(share * size)} of {size} answers" if inferred
                else f"assumed n = {size}" + ("" if n is not None else " (no whole count fits)"))
        human.append({"context": key[0], "condition": key[1], "level": CONDITIONS.index(key[1]) + 1,
                      "response": float(share), "refusal_rate": 1 - float(share), "n": size, "n_note": note})
    scenarios, by_context = [], {}
    for context in dict.fromkeys(c for c, _ in texts):
        absent = [c for c in CONDITIONS if (context, c) not in texts]
        if absent:
            raise ConfigError(f"{path}: context '{context}' has no row for condition '{absent[0]}'; "
                              f"each context needs all of {', '.join(CONDITIONS)}")
        scenarios.append(_scenario(context, [texts[context, c] for c in CONDITIONS]))
        by_context[context] = scenarios[-1].id
    frame = pd.DataFrame(human)
    frame.insert(0, "scenario", frame["context"].map(by_context))
    frame["k"] = frame["refusal_rate"] * frame["n"]
    frame["se"] = (frame["refusal_rate"] * (1 - frame["refusal_rate"]) / frame["n"]) ** 0.5
    rank = {s.id: i for i, s in enumerate(scenarios)}
    frame = frame.sort_values(["scenario", "level"], key=lambda col: col.map(rank) if col.name == "scenario" else col)
    return MoralExceptQA(path, scenarios, frame.reset_index(drop=True), rows.reset_index(drop=True))
