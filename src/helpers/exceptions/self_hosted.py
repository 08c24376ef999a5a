"""What an estimate knows of a self-hosted OpenAI-compatible server (any endpoint
but api.openai.com): its prompt tokens, as its own tokenizer counts them where it
offers one (helpers.llm.server_tokens), corrected by what it recorded for the
run's cached answers; and its time per answer, measured on those answers.

The correction: up to CALIBRATION_REQUESTS cached requests are counted the same
way, and the median of what the server recorded over that count scales every
count; where the server's tokenizer counted the messages' text and only the chat
template's tokens were assumed, the error is a number of tokens per prompt, and
the median difference is added instead.

A cached answer holds the prompt tokens the server billed, split evenly over the
answers its request carried; `seconds`, the request's wall time divided over
them; and `created`, when it was stored (just after the reply). A yes_no answer
(and a Batch API answer) is its own request; the sampled answers of one prompt
that share a `seconds` value came from one request.

Time: without --concurrency the server is assumed to answer one request at a
time (the adaptive throttle, helpers.llm.throttle, comes down to that on a
one-slot server), and an answer takes the median `seconds` measured. Requests
that were sent while others were in flight waited in the server's queue, and
their `seconds` count the wait too; when cached requests overlapped, an answer
takes instead the time the server was busy with them (the union of their
intervals) divided by their answers: the pace it kept. With --concurrency N the
server is assumed to answer N at once, each in the median time measured.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from helpers.llm import Call, Limits, Unit
from helpers.llm.server_tokens import EXACT, TEXT_ONLY, UNCERTAINTY, ServerTokens, describe, root_of, why_not

CALIBRATION_REQUESTS = 24  # cached requests recounted per model to calibrate the prompt count
OVERLAP = 0.8  # requests overlapped if the server was busy less than this share of their summed time


def given_concurrency(limits: Limits) -> int | None:
    """--concurrency if it was given (None: adaptive): the requests a server is
    assumed to answer at once; None: assume one at a time."""
    return limits.concurrency


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 else None


@dataclass
class Request:
    """A cached request: its first answer's unit, how many answers it carried, and
    what the server recorded."""

    unit: Unit
    answers: int
    prompt_tokens: float | None  # the sum over its answers
    seconds: float | None  # per answer (the wall time divided over the answers)
    created: float | None

    @property
    def interval(self) -> tuple[float, float] | None:
        if self.seconds is None or self.created is None:
            return None
        return self.created - self.seconds * self.answers, self.created


def cached_requests(answered: list[tuple[Unit, dict[str, Any]]]) -> list[Request]:
    """The cached requests these answers came from."""
    groups: dict[tuple, list[dict]] = {}
    units: dict[tuple, Unit] = {}
    for unit, result in answered:
        seconds = _number(result.get("seconds"))
        if unit.kind == "yes_no" or "batch_id" in result:
            key: tuple = (unit.key,)
        elif seconds is not None:
            key = (unit.prompt, seconds)
        else:
            continue  # which answers shared its request is unknown
        groups.setdefault(key, []).append(result)
        units.setdefault(key, unit)
    requests = []
    for key, results in groups.items():
        tokens = [t for r in results if (t := _number(r.get("prompt_tokens"))) is not None]
        created = [c for r in results if (c := _number(r.get("created"))) is not None]
        online = "batch_id" not in results[0]  # a batch's answers took hours, not seconds
        requests.append(Request(units[key], len(results), sum(tokens) if len(tokens) == len(results) else None,
                                _number(results[0].get("seconds")) if online else None,
                                max(created) if created else None))
    return requests


@dataclass
class Pace:
    """Measured time per answer of one kind."""

    seconds: float  # per answer
    median: float  # the median measured per-answer seconds
    answers: int
    overlapped: bool  # the cached requests overlapped: `seconds` is the pace the server kept
    busy: float  # seconds the server was busy with them


def pace_of(requests: list[Request]) -> Pace | None:
    timed = [r for r in requests if r.interval is not None]
    if not timed:
        return None
    median = statistics.median(r.seconds for r in timed for _ in range(r.answers))  # type: ignore[misc]
    busy, end = 0.0, float("-inf")
    for start, stop in sorted(r.interval for r in timed):  # type: ignore[type-var]
        busy += max(0.0, stop - max(start, end))
        end = max(end, stop)
    answers = sum(r.answers for r in timed)
    summed = sum(r.seconds * r.answers for r in timed)  # type: ignore[operator]
    overlapped = busy < OVERLAP * summed
    return Pace(busy / answers if overlapped else median, median, answers, overlapped, busy)


@dataclass
class Served:
    """One model on one self-hosted endpoint, for one estimate; close() when done."""

    name: str
    requests: list[Request]  # this model's cached requests in the plan
    concurrency: int | None  # requests the server answers at once, if given
    counter: ServerTokens
    # (recorded, counted) prompt tokens of cached requests, by how they were counted
    calibration: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
    methods: dict[str, int] = field(default_factory=dict)  # prompts counted each way
    paces: dict[str, Pace | None] = field(default_factory=dict)  # by kind, for the kinds to be made
    assumed_latency: float = 1.0

    @classmethod
    def open(cls, unit: Unit, answered: list[tuple[Unit, dict[str, Any]]], limits: Limits) -> Served:
        served = cls(unit.model.spec.name, cached_requests(answered), given_concurrency(limits),
                     ServerTokens(unit.model.spec))
        served._calibrate()
        return served

    def close(self) -> None:
        self.counter.close()

    def _calibrate(self) -> None:
        billed = [(r.unit, r.prompt_tokens) for r in self.requests if r.prompt_tokens is not None]
        for unit, recorded in billed[:CALIBRATION_REQUESTS]:
            count = self.counter.count(unit.messages)
            if count.tokens > 0:
                self.calibration.setdefault(count.method, []).append((recorded, count.tokens))

    def corrections(self, method: str) -> list[float]:
        """What each cached request says the count lacks: with the server's tokenizer on
        the text alone, the template's tokens (a difference); otherwise a ratio."""
        pairs = self.calibration.get(method, [])
        if method in TEXT_ONLY:
            return [recorded - counted for recorded, counted in pairs]
        return [recorded / counted for recorded, counted in pairs]

    def corrected(self, method: str, tokens: int) -> int:
        found = self.corrections(method)
        if not found:
            return tokens
        if method in TEXT_ONLY:
            return max(1, round(tokens + statistics.median(found)))
        return round(tokens * statistics.median(found))

    def prompt_tokens(self, call: Call) -> int:
        count = self.counter.count(call.units[0].messages)
        self.methods[count.method] = self.methods.get(count.method, 0) + 1
        return self.corrected(count.method, count.tokens)

    def request_seconds(self, call: Call, assumed_latency: float) -> float:
        """Seconds this request adds to the run (before any rate limit)."""
        kind = call.units[0].kind
        if kind not in self.paces:
            self.paces[kind] = pace_of([r for r in self.requests if r.unit.kind == kind])
        pace = self.paces[kind]
        if pace is None:
            self.assumed_latency = assumed_latency
            return assumed_latency / (self.concurrency or 1)
        if self.concurrency:
            return pace.median * len(call.units) / self.concurrency
        return pace.seconds * len(call.units)

    def notes(self) -> list[str]:
        return self._token_notes() + self._time_notes()

    def _token_notes(self) -> list[str]:
        notes = []
        spec = self.counter.spec
        for method, prompts in sorted(self.methods.items()):
            share = "" if len(self.methods) == 1 else f" ({prompts} prompts)"
            note = f"prompt tokens of {self.name}{share}: counted with {describe(method, spec.model)}"
            if method == "tiktoken" and (why := why_not(root_of(spec.base_url or ""))):
                note += f" ({why})"
            found = self.corrections(method)
            if found and method in TEXT_ONLY:
                note += (f"; corrected by {statistics.median(found):+.0f} tokens a prompt, the median "
                         f"difference between the prompt tokens the server recorded and this count over "
                         f"{len(found)} cached requests of this model (from {min(found):+.0f} to {max(found):+.0f})")
            elif found:
                note += (f"; corrected ×{statistics.median(found):.3f}, the median ratio of the prompt tokens "
                         f"the server recorded to this count over {len(found)} cached requests of this model "
                         f"(from {min(found):.3f} to {max(found):.3f})")
            elif method not in EXACT:
                note += f"; approximate, {UNCERTAINTY[method]}; cached answers of this model would calibrate it"
            notes.append(note)
        return notes

    def _time_notes(self) -> list[str]:
        at_once = (f"{self.concurrency} requests at a time (--concurrency)" if self.concurrency
                   else "one request at a time (pass --concurrency N if it answers N at once)")
        notes = []
        for kind, pace in sorted(self.paces.items()):
            if pace is None:
                notes.append(f"time of {self.name}, {kind} answers, is a guess: no cached answers to measure it "
                             f"on, so {self.assumed_latency:g} s per request, and the server is assumed to answer "
                             f"{at_once}; a server on a CPU can take several seconds per request; make a few "
                             "calls (e.g. with one --scenario) and estimate again")
            elif pace.overlapped and not self.concurrency:
                notes.append(f"time of {self.name}, {kind} answers: {pace.seconds:.2f} s each, measured on "
                             f"{pace.answers} cached answers whose requests overlapped (each waited in the "
                             f"server's queue: {pace.median:.2f} s median): the server was busy {pace.busy:.1f} s "
                             "with them, the pace assumed here")
            else:
                notes.append(f"time of {self.name}, {kind} answers: {pace.median:.2f} s each, the median over "
                             f"{pace.answers} cached answers; the server is assumed to answer {at_once}")
        return notes
