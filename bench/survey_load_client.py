"""A protocol-level survey participant: plain HTTP, no browser, no JavaScript.

It knows nothing of the survey's routes. It opens the study link, reads the
page's first `<form method="post">`, fills it as a person would (ticks the
consent box, picks a radio in every group, writes an explanation in every empty
textarea, keeps hidden fields as they are), submits it, follows the redirect,
and repeats until a page has no form to post and shows the completion code.
Attention checks are answered correctly: the client is given the checks'
prompts and answers (from the study settings) and, when a page shows one of
those prompts, picks the option that is the answer.

One aiohttp session per participant (its own cookie jar and its own keep-alive
connection, as a browser tab has) and every request timed: a POST until its
redirect arrives ("submit"), a GET until its body has arrived ("page load").
A 503 or a failed connection is counted by kind and tried again after a pause,
as a person pressing reload would; after MAX_ATTEMPTS the participant gives up.

What was submitted is written down per participant (the form's `step` field and
the values sent) and whether the server acknowledged it (a redirect), so the
bench can compare, answer by answer, what the server said it stored with what
the database holds.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit

import aiohttp

MAX_ATTEMPTS = 6  # tries per request before the participant gives up
MAX_PAGES = 200  # a participant who has not finished after this many pages is stuck
REQUEST_TIMEOUT = 60.0  # seconds; a request slower than this counts as an error "timeout"

# Explanations of the kind people write (lengths 40-260 characters), some with
# non-ASCII text, quotes and a line break, so the check that stored == sent is a
# check of the text, not only of the count.
EXPLANATIONS = (
    "The rule is there for a reason, but here nobody is harmed by an exception.",
    "I would say no: if everyone asked for this the rule would mean nothing, and it is fair to others.",
    "Yes. It's a small thing for the shop and a big one for the customer; I'd make the exception.",
    "Honestly it depends on how often this happens. Once, fine; but I would not make it a habit.",
    "The reason given is good enough – the person did nothing wrong and the cost is tiny (≈ 5 €).",
    "No, rules like this protect people who are not in the room.\nBending it once invites more requests.",
    "I'd let it go: the policy was written for a different situation than this one, clearly.",
    "Yes, because the outcome is what the rule is meant to achieve anyway; \"the letter\" does not matter.",
    "Probably not. The employee could get into trouble and the customer can come back tomorrow.",
    "Ja – people matter more than procedures here. Ça ne coûte rien à personne.",
)


# --- pages and forms ---------------------------------------------------------------------

@dataclass
class Form:
    action: str
    fields: list[dict]  # {"tag", "type", "name", "value", "checked"}


class PageParser(HTMLParser):
    """The page's forms and its visible text (entities decoded)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[tuple[str, str, list[dict]]] = []  # (method, action, fields)
        self.text: list[str] = []
        self._form: list[dict] | None = None
        self._textarea: dict | None = None
        self._skip = 0  # inside <script> or <style>

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "form":
            self._form = []
            self.forms.append((a.get("method", "get").lower(), a.get("action", ""), self._form))
        elif self._form is not None and tag in ("input", "button", "select") and a.get("name"):
            self._form.append({"tag": tag, "type": a.get("type", "text").lower(), "name": a["name"],
                               "value": a.get("value", ""), "checked": "checked" in a})
        elif self._form is not None and tag == "textarea" and a.get("name"):
            self._textarea = {"tag": "textarea", "type": "textarea", "name": a["name"], "value": "",
                              "checked": False}
            self._form.append(self._textarea)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag == "form":
            self._form = None
        elif tag == "textarea":
            if self._textarea is not None:
                # HTML drops one newline right after <textarea>; a browser sends the rest.
                value = self._textarea["value"]
                self._textarea["value"] = value[1:] if value.startswith("\n") else value
            self._textarea = None

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea["value"] += data
        elif not self._skip:
            self.text.append(data)


def parse_page(html: str, url: str) -> tuple[Form | None, str]:
    """The page's first form posted to the server (None if it has none), and its text."""
    parser = PageParser()
    parser.feed(html)
    parser.close()
    text = " ".join(" ".join(parser.text).split())
    for method, action, fields in parser.forms:
        if method == "post":
            return Form(urljoin(url, action or url), fields), text
    return None, text


def fill(form: Form, text: str, checks: dict[str, str], rng: random.Random) -> list[tuple[str, str]]:
    """The fields a person would send: boxes ticked, one radio per group (the
    check's answer when the page shows a known check prompt), explanations written."""
    answer = next((a for prompt, a in checks.items() if " ".join(prompt.split()) in text), None)
    sent: list[tuple[str, str]] = []
    radios: dict[str, list[str]] = {}
    for f in form.fields:
        if f["tag"] == "button" or f["type"] in ("submit", "button", "reset", "image", "file"):
            continue
        if f["type"] == "radio":
            radios.setdefault(f["name"], []).append(f["value"])
        elif f["type"] == "checkbox":
            sent.append((f["name"], f["value"] or "on"))
        elif f["type"] == "textarea":
            sent.append((f["name"], f["value"] or rng.choice(EXPLANATIONS)))
        else:
            sent.append((f["name"], f["value"]))
    for name, values in radios.items():
        sent.append((name, answer if answer in values else rng.choice(values)))
    return sent


# --- what was sent and what came back -----------------------------------------------------

@dataclass
class Timings:
    submit: list[float] = field(default_factory=list)  # POST until its redirect
    page: list[float] = field(default_factory=list)  # GET until the whole page
    step: list[float] = field(default_factory=list)  # click to next page: submit + the page it leads to
    errors: Counter = field(default_factory=Counter)  # kind -> count


@dataclass
class Outcome:
    """One participant's run."""
    label: str
    started: bool = False  # the consent page was shown
    finished: bool = False  # the completion code was shown
    code: str | None = None  # the participant's resume code (from their page's URL)
    answers: dict[str, dict[str, str]] = field(default_factory=dict)  # step key -> fields sent, acknowledged
    unacknowledged: dict[str, dict[str, str]] = field(default_factory=dict)  # sent, no answer from the server
    seconds: float = 0.0  # study link to completion page (or to giving up)
    problem: str | None = None


def error_kind(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timeout"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"connect: {exc.os_error.__class__.__name__}"
    return f"connection: {exc.__class__.__name__}"


class Participant:
    def __init__(self, base: str, label: str, params: dict[str, str], checks: dict[str, str],
                 completion: str | None, timings: Timings, think: float, rng: random.Random):
        self.base, self.params, self.checks, self.completion = base, params, checks, completion
        self.timings, self.think, self.rng = timings, think, rng
        self.outcome = Outcome(label)

    async def _request(self, session: aiohttp.ClientSession, method: str, url: str,
                       data: list[tuple[str, str]] | None = None) -> tuple[int, str, str | None]:
        """(status, body, redirect location); retried on 503 and connection errors."""
        for attempt in range(MAX_ATTEMPTS):
            start = time.monotonic()
            try:
                async with session.request(method, url, data=urlencode(data) if data is not None else None,
                                           headers={"Content-Type": "application/x-www-form-urlencoded"}
                                           if data is not None else None, allow_redirects=False) as resp:
                    body = await resp.text()
                    elapsed = time.monotonic() - start
                    if resp.status == 503:
                        self.timings.errors["HTTP 503"] += 1
                    else:
                        (self.timings.submit if method == "POST" else self.timings.page).append(elapsed)
                        if resp.status >= 400:
                            self.timings.errors[f"HTTP {resp.status}"] += 1
                        return resp.status, body, resp.headers.get("Location")
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                self.timings.errors[error_kind(exc)] += 1
            await asyncio.sleep(min(8.0, 0.5 * 2 ** attempt) * (0.5 + self.rng.random()))
        raise GaveUp(f"{method} {urlsplit(url).path}: no answer after {MAX_ATTEMPTS} tries")

    async def _load(self, session, url: str) -> tuple[str, str]:
        """GET `url`, following redirects; (final url, page)."""
        for _ in range(10):
            status, body, location = await self._request(session, "GET", url)
            if status in (301, 302, 303, 307, 308) and location:
                url = urljoin(url, location)
                continue
            return url, body
        raise GaveUp(f"too many redirects from {url}")

    async def run(self) -> Outcome:
        out = self.outcome
        begun = time.monotonic()
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
        # unsafe=True: keep cookies from an IP address (127.0.0.1), as a browser does.
        async with aiohttp.ClientSession(timeout=timeout, cookie_jar=aiohttp.CookieJar(unsafe=True),
                                         connector=aiohttp.TCPConnector(limit=2)) as session:
            try:
                url, page = await self._load(session, f"{self.base}/?{urlencode(self.params)}")
                out.started = True
                for _ in range(MAX_PAGES):
                    form, text = parse_page(page, url)
                    if form is None:
                        out.finished = bool(self.completion) and self.completion in text
                        if not out.finished:
                            out.problem = f"a page with nothing to submit and no completion code: {text[:120]!r}"
                        break
                    fields = fill(form, text, self.checks, self.rng)
                    if self.think:
                        await asyncio.sleep(self.rng.uniform(0.5, 1.5) * self.think)
                    sent = dict(fields)
                    step = sent.get("step")
                    clicked = time.monotonic()
                    if step:
                        out.unacknowledged[step] = sent
                    status, page, location = await self._request(session, "POST", form.action, fields)
                    if status in (302, 303) and location:
                        if step:
                            out.answers[step] = out.unacknowledged.pop(step)
                        url, page = await self._load(session, urljoin(form.action, location))
                        self.timings.step.append(time.monotonic() - clicked)
                        if out.code is None and "/s/" in url:
                            out.code = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
                    else:
                        url = form.action  # the same form back with a message: fill it again
                else:
                    out.problem = f"not finished after {MAX_PAGES} pages"
            except GaveUp as exc:
                out.problem = str(exc)
        out.seconds = time.monotonic() - begun
        return out


class GaveUp(Exception):
    pass


def prolific_params(number: int, rng: random.Random, study_id: str = "BENCHSTUDY00000000000001") -> dict[str, str]:
    """The three parameters Prolific appends to a study link (24-hex-digit ids)."""
    return {"PROLIFIC_PID": f"{rng.getrandbits(64):016x}{number:08x}", "STUDY_ID": study_id,
            "SESSION_ID": f"{rng.getrandbits(96):024x}"}


async def crowd(base: str, count: int, *, over: float = 0.0, checks: dict[str, str], completion: str | None,
                think: float = 0.0, seed: int = 0, timings: Timings | None = None) -> tuple[list[Outcome], Timings]:
    """`count` participants; all at once (over=0) or arriving evenly over `over` seconds."""
    timings = timings or Timings()
    rng = random.Random(seed)

    async def one(i: int) -> Outcome:
        if over:
            await asyncio.sleep(over * i / count)
        p = Participant(base, f"p{i}", prolific_params(i, rng), checks, completion, timings, think,
                        random.Random(f"{seed}-{i}"))
        return await p.run()

    outcomes = await asyncio.gather(*(one(i) for i in range(count)))
    return list(outcomes), timings
