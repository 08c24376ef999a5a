"""ILLUSTRATIVE human responses: generated, not collected from anyone.

The paper's human data are not public. For demos and tests this module makes a
stand-in with the paper's design, clearly labelled: study = "illustrative" in
every row, participant ids "illustrative-001" ..., and timestamps on 1 January
2000 (obviously made up: far from the paper's real study, run in December 2024).
helpers.humans.provenance finds those marks in any file they are saved to, so
every table, figure and report computed from it says "illustrative data".
Replace it with real data (your own file, or the survey's export in
data/human_responses.csv) for any claim about people.

Design (paper, Sec. 4.1): 303 participants; each answers every scenario once,
in random order, at a level drawn uniformly and independently per scenario.

Refusal curves: for each scenario the probability of "no" falls with the level,
piecewise linear on the logit scale between anchors:
- a bucket the paper reports a human rate for (src/helpers/data/paper_reported.csv,
  via helpers.exceptions.reference) is anchored exactly at that rate;
- an unanchored first (most severe) level starts at the mean of the paper's
  reported first-level rates, an unanchored last level ends at the mean of its
  reported last-level rates, each moved by a small seeded offset (up to
  +/-JITTER on the logit scale) so that scenarios do not all look alike.
Decisions are Bernoulli draws from the curve, so bucket rates scatter around it
as real bucket rates (about 50 answers each) would.

Explanations are short sentences written for this generator, chosen by the
decision and by whether the level is in the severe or the mild half.

Data-quality columns, as the survey's export writes them (helpers.humans.quality),
so that a workshop without real data can try `--exclude`: seconds (time on the
question, at most the time since the previous answer), paste_count and
pasted_chars, attention_passed of attention_total checks, and the exclusion
variables excl_attention, excl_fast (under MIN_SECONDS), excl_paste and excluded
(the survey's default rule: attention). About CARELESS of the participants fail a
check, FAST of the answers are too fast and PASTED pasted; these are drawn from a
stream of their own, so the columns above are exactly what they were before the
quality columns existed, and independently of the answers: filtering the
illustrative set shows how a filter is stated, not what one does to real data.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd

from helpers.exceptions import reference
from helpers.humans.provenance import ID_PREFIX, STUDY
from helpers.humans.responses import COLUMNS
from helpers.exceptions.scenarios import Scenario

LABEL = "human (illustrative data)"  # how tables and figures name this set
PARTICIPANTS = 303
SEED = 2024
JITTER = 0.5  # largest seeded offset of an unanchored end of a curve, in logits
# Sessions start at midnight UTC on 2000-01-01: a date no real participant of this
# study answered on (the paper's own study ran in December 2024), so a timestamp
# alone already says "generated".
START = datetime(2000, 1, 1, 0, 0, tzinfo=timezone.utc)
# The quality columns (see the module's doc): the survey's default threshold and
# two attention checks per participant, and how often each flag is drawn.
MIN_SECONDS = 5.0
CHECKS = 2
CARELESS = 0.06  # participants failing at least one check
FAST = 0.04  # answers given in under MIN_SECONDS
PASTED = 0.03  # answers whose explanation was pasted
QUALITY = ["seconds", "paste_count", "pasted_chars", "attention_passed", "attention_total",
           "excl_attention", "excl_fast", "excl_paste", "excluded"]

# (decision, severe half?) -> explanations; written for this generator, about
# the length (10-20 words) of the explanations the paper describes.
EXPLANATIONS: dict[tuple[str, bool], tuple[str, ...]] = {
    ("yes", False): (
        "It is only a tiny bit over, so the point of the rule is still respected.",
        "The difference is so small that refusing would be silly.",
        "This barely crosses the line; common sense says go ahead.",
        "Nobody is harmed by such a small exception and it helps a lot.",
        "That close to the limit, I would make the exception without thinking twice.",
    ),
    ("yes", True): (
        "It is well past the rule, but the situation really calls for it.",
        "The person's need outweighs the policy in this case.",
        "A rule should bend when following it does more harm than good.",
        "It is a lot, but I think the person who set the rule would agree.",
    ),
    ("no", True): (
        "That is far beyond what the rule allows, so the answer is no.",
        "The gap is too big; the policy exists for cases like this one.",
        "An exception this large would be unfair to everyone who followed the rule.",
        "It goes well past the limit and I would not take that on myself.",
    ),
    ("no", False): (
        "Even a small exception is still breaking the rule I was given.",
        "If I bend the rule once, where would I draw the line next time?",
        "It is not my place to change the policy, even by a little.",
        "A limit is a limit; I would ask before going over it.",
    ),
}


def _logit(p: float) -> float:
    return float(np.log(p / (1 - p)))


def _expit(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def illustrative_curves(scenarios: list[Scenario], *, seed: int = SEED) -> pd.DataFrame:
    """The generator's true refusal probability per (scenario, level).

    Columns: scenario, level, refusal_probability, anchored (True where the
    paper reports this bucket's human rate and the curve passes through it).
    """
    marks = reference.human_marks()
    first = marks[marks["level"] == 1]["refusal_rate"].mean()
    last = marks[marks["level"] == marks["level"].max()]["refusal_rate"].mean()
    rng = np.random.default_rng([seed, 1])  # its own stream: curves do not depend on participants
    rows = []
    for scenario in scenarios:
        k = len(scenario.levels)
        own = marks[(marks["scenario"] == scenario.id) & (marks["level"] <= k)]
        anchors = {int(r.level): _logit(r.refusal_rate) for r in own.itertuples()}
        offsets = rng.uniform(-JITTER, JITTER, size=2)
        anchors.setdefault(1, _logit(first) + offsets[0])
        anchors.setdefault(k, _logit(last) + offsets[1])
        xs = sorted(anchors)
        probabilities = _expit(np.interp(np.arange(1, k + 1), xs, [anchors[x] for x in xs]))
        for level, p in enumerate(probabilities, start=1):
            rows.append({"scenario": scenario.id, "level": level, "refusal_probability": float(p),
                         "anchored": level in set(own["level"].astype(int))})
    return pd.DataFrame(rows)


def illustrative_responses(scenarios: list[Scenario], *, participants: int = PARTICIPANTS,
                           seed: int = SEED) -> pd.DataFrame:
    """Generated human responses in the human-responses format (study = "illustrative").

    participants: how many made-up participants (the paper had 303); seed: the
    same seed always gives the same table. Each participant answers every
    scenario once, in random order, at a uniformly drawn level; decisions follow
    illustrative_curves(). The data-quality columns (QUALITY) follow the
    position. Not real data: label anything computed from it.
    """
    if participants < 1:
        raise ValueError(f"participants must be at least 1, got {participants}")
    curves = illustrative_curves(scenarios, seed=seed).set_index(["scenario", "level"])["refusal_probability"]
    rng = np.random.default_rng([seed, 2])
    # The quality columns' own stream: drawing them leaves every draw of `rng` where it was.
    quality = np.random.default_rng([seed, 3])
    rows = []
    for index in range(1, participants + 1):
        clock = START + timedelta(seconds=int(rng.integers(0, 3 * 3600)))
        passed = CHECKS - int(quality.integers(1, CHECKS + 1)) if quality.random() < CARELESS else CHECKS
        for position, pick in enumerate(rng.permutation(len(scenarios)), start=1):
            scenario = scenarios[pick]
            k = len(scenario.levels)
            level = int(rng.integers(1, k + 1))
            decision = "no" if rng.random() < curves[scenario.id, level] else "yes"
            severe = level <= k / 2
            options = EXPLANATIONS[decision, severe]
            gap = int(rng.integers(25, 110))
            clock += timedelta(seconds=gap)
            explanation = options[int(rng.integers(len(options)))]
            rows.append({"participant_id": f"{ID_PREFIX}{index:03d}", "scenario": scenario.id,
                         "level": level, "decision": decision, "explanation": explanation,
                         "timestamp": clock.isoformat(), "study": STUDY, "position": position,
                         **_quality(quality, gap, explanation, passed)})
    return pd.DataFrame(rows, columns=COLUMNS + ["position"] + QUALITY)


def _quality(rng: np.random.Generator, gap: int, explanation: str, passed: int) -> dict:
    """One answer's quality columns: seconds on the question (a fast answer under
    MIN_SECONDS, else between half and all of the `gap` since the previous answer),
    whether its explanation was pasted, and the participant's attention checks."""
    fast = rng.random() < FAST
    seconds = round(float(rng.uniform(1.5, MIN_SECONDS - 0.1) if fast else rng.uniform(0.5, 0.95) * gap), 1)
    pasted = len(explanation) if rng.random() < PASTED else 0
    return {"seconds": seconds, "paste_count": int(pasted > 0), "pasted_chars": pasted,
            "attention_passed": passed, "attention_total": CHECKS, "excl_attention": passed < CHECKS,
            "excl_fast": seconds < MIN_SECONDS, "excl_paste": pasted > 0, "excluded": passed < CHECKS}
