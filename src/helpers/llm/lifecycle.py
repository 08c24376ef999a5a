"""When OpenAI shuts an openai/ model down, and the line that says so before a run.

The date comes from the endpoint when it can be asked: `GET {base_url}/models`
lists each model with an optional `shutdown_date` ("YYYY-MM-DD", or null when
none is announced). The listing is asked once per endpoint per day, with a short
timeout and no retries, and kept in the answer cache's meta entries (never the
API key), so a second run that day asks nothing, even when the first was refused. Whatever goes wrong (no key for
api.openai.com, a server that is down, a 404 from a server that lists no models,
a reply that is not a listing) falls back quietly to models.toml's `shutdown`,
copied from OpenAI's deprecations page. A fine-tuned model (ft:BASE:...) takes
its own listed date, else its BASE's.

A server of one's own (vLLM, llama.cpp) shuts nothing down: a model it lists
without a `shutdown_date` has none, and a name models.toml does not know is not
asked about at all.

"Today" is the real date, or EXCEPTIONS_TODAY=YYYY-MM-DD for tests and what-ifs
("what would a run on 2027-01-15 say?").
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from helpers.errors import UserError
from helpers.llm.cache import CallCache, open_cache
from helpers.llm.capabilities import Rules, load_rules
from helpers.llm.naming import OPENAI_URL, ModelSpec, base_of, parse_model
from helpers.llm import served

TODAY_VAR = "EXCEPTIONS_TODAY"
LIST_TIMEOUT = 5.0  # seconds for the whole listing; it is asked at most once a day per endpoint
ARCHIVE_HINT = "`python -m helpers archive export ...` keeps its answers usable after that"
_MISSING = object()


@dataclass(frozen=True)
class Shutdown:
    """An openai/ model's shutdown date (None: none known) and where it was read."""

    model: str  # as named in the run, e.g. openai/gpt-4o-mini
    date: date | None
    source: str


def today() -> date:
    """The real date, or EXCEPTIONS_TODAY=YYYY-MM-DD when set."""
    value = os.environ.get(TODAY_VAR, "").strip()
    if not value:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError(f"{TODAY_VAR}={value!r} is not a date: write YYYY-MM-DD (e.g. {TODAY_VAR}=2027-01-15), "
                        "or unset it to use today's date") from None


def _meta_key(endpoint: str, day: date) -> str:
    return f"meta:models:{hashlib.sha256(endpoint.encode()).hexdigest()[:16]}:{day.isoformat()}"


def _fetch(endpoint: str) -> dict[str, Any]:
    """The listing as kept: {"models": {id: {"shutdown_date": ...} or {}}}, or {"failed": why}.
    The whole request is bounded by LIST_TIMEOUT (httpx's timeout is per read)."""
    import httpx

    try:
        with served.check_client("shutdown-dates", LIST_TIMEOUT) as client:
            listing = served.read_json(client, "GET", f"{endpoint}/models", LIST_TIMEOUT)
    except served.NoReply as exc:
        return {"failed": str(exc)}
    except (httpx.HTTPError, ValueError) as exc:
        return {"failed": type(exc).__name__}
    data = listing.get("data") if isinstance(listing, dict) else None
    if not isinstance(data, list):
        return {"failed": "the reply is not a model list"}
    models: dict[str, dict] = {}
    for entry in data:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            continue
        said = entry.get("shutdown_date", _MISSING)
        if said is _MISSING:
            models[entry["id"]] = {}
        elif said is None or _is_date(said):
            models[entry["id"]] = {"shutdown_date": said}
        # an unreadable date says nothing: that model falls back to models.toml
    return {"models": models}


def _is_date(value: Any) -> bool:
    try:
        date.fromisoformat(value)
        return isinstance(value, str)
    except (TypeError, ValueError):
        return False


def listing(endpoint: str, cache: CallCache, day: date) -> dict[str, Any] | None:
    """What GET {endpoint}/models said on `day` (asked now if not yet that day), or
    None when it was not asked: no key for api.openai.com."""
    key = _meta_key(endpoint, day)
    kept = cache.get(key)
    if kept is not None:
        return kept
    if endpoint == OPENAI_URL and not os.environ.get("OPENAI_API_KEY"):
        return None  # not stored: a key set later in the day should be used
    said = {"asked": day.isoformat(), **_fetch(endpoint)}
    cache.put_meta(key, said)  # failures too, so a server that lists nothing is asked once a day
    return said


def _listed(said: dict[str, Any] | None, model: str) -> dict | None:
    models = (said or {}).get("models") or {}
    if model in models:
        return models[model]
    base = base_of(model)
    return models.get(base) if base != model else None


def _asked(endpoint: str, day: str) -> str:
    where = "/v1" if endpoint == OPENAI_URL else endpoint
    return f"GET {where}/models on {day}"


def shutdown(spec: ModelSpec, cache: CallCache, rules: Rules, day: date) -> Shutdown:
    """The shutdown date of one model and its source: the endpoint's listing of
    `day`, else models.toml. Local models have none and cost no look-up."""
    if spec.provider != "openai":
        return Shutdown(spec.name, None, "a local model")
    endpoint = spec.base_url or OPENAI_URL
    rule = rules.for_model(spec.model)
    if endpoint != OPENAI_URL and rule.rule == "defaults":
        return Shutdown(spec.name, None, f"not an OpenAI model, served by {endpoint}")
    said = listing(endpoint, cache, day)
    entry = _listed(said, spec.model)
    if entry is not None and "shutdown_date" in entry:
        when = entry["shutdown_date"]
        return Shutdown(spec.name, date.fromisoformat(when) if when else None, _asked(endpoint, said["asked"]))
    if entry is not None and endpoint != OPENAI_URL:
        return Shutdown(spec.name, None, f"{endpoint} serves it and gives no shutdown date")
    file = Path(rules.source).name
    return Shutdown(spec.name, date.fromisoformat(rule.shutdown) if rule.shutdown else None,
                    f"{file}, from OpenAI's deprecations page")


def shutdowns(models: Iterable[str], *, base_url: str | None = None, day: date | None = None,
              rules: Rules | None = None) -> list[Shutdown]:
    """The shutdown of each openai/ model in `models` (local ones are skipped, and a
    run of local models alone opens nothing and asks nothing)."""
    # Other names are checked where they are used (base_url is for openai/ ones only).
    specs = [parse_model(m, base_url) for m in dict.fromkeys(models) if m.partition("/")[0] == "openai"]
    if not specs:
        return []
    day = day or today()
    rules = rules or load_rules()
    with open_cache() as cache:
        return [shutdown(s, cache, rules, day) for s in specs]


def days_left(when: date, day: date) -> str:
    left = (when - day).days
    return "today" if left == 0 else f"in {left} day{'s' if left != 1 else ''}"


def warning(found: Shutdown, day: date) -> str | None:
    """The line to show for one model, or None when it has no shutdown date."""
    if found.date is None:
        return None
    if found.date < day:
        return (f"{found.model} was shut down on {found.date} ({found.source}): new calls will fail; "
                "its cached answers still work")
    return (f"{found.model} shuts down on {found.date} ({days_left(found.date, day)}; {found.source}): "
            f"{ARCHIVE_HINT}")


def warnings(models: Iterable[str], *, base_url: str | None = None, day: date | None = None) -> list[str]:
    """One line per openai/ model with a shutdown date, for `warning: ...` on stderr
    or a notebook's callout.

    models: names as a run takes them (provider/model); base_url: the endpoint of
    the openai/ ones (None: OPENAI_BASE_URL, else api.openai.com); day: today
    unless given (EXCEPTIONS_TODAY, else the real date)."""
    day = day or today()
    lines = (warning(found, day) for found in shutdowns(models, base_url=base_url, day=day))
    return [line for line in lines if line]
