"""A study's settings (study.toml): consent, recruitment platform, completion,
attention checks, which parts run, and the data-quality rules.

Strict like the other TOML files: unknown keys, wrong types and impossible values
are one-line errors naming the file and the key, because a typo here would change
what participants see or whom the export flags.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from helpers import paths
from helpers.config import read_text, type_name
from helpers.errors import ConfigError

MODULES = ("scenarios", "games")
RULES = ("attention", "fast", "paste")
# The URL parameters each platform appends to a study link. Prolific's three are
# documented on its study set-up page; MTurk's external questions get these three;
# anything else (a class, oTree-style links) uses one participant_label.
PLATFORM_PARAMS = {
    "prolific": ("PROLIFIC_PID", "STUDY_ID", "SESSION_ID"),
    "mturk": ("workerId", "assignmentId", "hitId"),
    "generic": ("participant_label",),
    "none": ("participant_label",),
}
MAX_PLATFORM_ID = 128  # characters; real ids are 24 (Prolific) or about 14 (MTurk)

STUDY_KEYS = {"id": str, "title": str, "consent": str, "consent_version": str, "platform": str,
              "completion_code": str, "completion_url": str, "modules": list, "games": list}
QUALITY_KEYS = {"min_seconds": (int, float), "exclude": list, "max_text": int}
CHECK_KEYS = {"id": str, "after": int, "prompt": str, "options": list, "answer": str}
STUDY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

DEFAULT_CONSENT = """\
Taking part is voluntary; you may stop at any time by closing the page.

We store your answers, your explanations and when you gave them, under a random
code. We never ask for your name or e-mail; please do not write them in your
explanations.

The answers are used to compare people's decisions with those of AI models, for
research and teaching."""


@dataclass(frozen=True)
class AttentionCheck:
    id: str
    after: int  # shown after this many scenario questions
    prompt: str
    options: tuple[str, ...]
    answer: str


@dataclass(frozen=True)
class StudySettings:
    study: str = "survey"
    title: str = "A short survey about everyday decisions"
    consent: str = DEFAULT_CONSENT
    consent_version: str = "1"
    platform: str = "none"
    completion_code: str | None = None
    completion_url: str | None = None
    modules: tuple[str, ...] = ("scenarios",)
    games: tuple[str, ...] | None = None  # None: every game in games.toml
    min_seconds: float = 5.0
    exclude: tuple[str, ...] = ("attention",)
    max_text: int = 500
    checks: tuple[AttentionCheck, ...] = ()
    source: str = "defaults"

    def platform_params(self) -> tuple[str, ...]:
        """The URL parameters to capture from the study link."""
        return PLATFORM_PARAMS[self.platform]

    def consent_paragraphs(self) -> list[str]:
        return [" ".join(p.split()) for p in self.consent.split("\n\n") if p.strip()]


def _typed(where: str, raw: dict, key: str, kind) -> object:
    value = raw[key]
    if isinstance(value, bool) and kind is not bool or not isinstance(value, kind):
        expected = "a number" if kind == (int, float) else type_name(kind())
        raise ConfigError(f"{where}: `{key}` must be {expected}, got {type_name(value)}")
    return value


def _table(source: str, data: dict, name: str, allowed: dict) -> dict:
    raw = data.get(name, {})
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: `{name}` must be a [{name}] table, got {type_name(raw)}")
    unknown = sorted(set(raw) - set(allowed))
    if unknown:
        raise ConfigError(f"{source}: [{name}] has unknown key `{unknown[0]}`; allowed keys are "
                          f"{', '.join(allowed)}")
    return {key: _typed(f"{source}: [{name}]", raw, key, allowed[key]) for key in raw}


def _strings(where: str, key: str, values: list, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
    for value in values:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: `{key}` must list strings, got {type_name(value)}")
        if allowed is not None and value not in allowed:
            raise ConfigError(f"{where}: `{key}` has {value!r}; choose from {', '.join(allowed)}")
    if len(set(values)) != len(values):
        raise ConfigError(f"{where}: `{key}` names something twice")
    return tuple(values)


def _check(source: str, index: int, raw: object) -> AttentionCheck:
    where = f"{source}: check #{index}"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a [[checks]] table, got {type_name(raw)}")
    unknown = sorted(set(raw) - set(CHECK_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key `{unknown[0]}`; allowed keys are {', '.join(CHECK_KEYS)}")
    for key in CHECK_KEYS:
        if key not in raw:
            raise ConfigError(f"{where}: missing required key `{key}`")
        _typed(where, raw, key, CHECK_KEYS[key])
    where = f"{source}: check '{raw['id']}'"
    options = _strings(where, "options", raw["options"])
    if len(options) < 2:
        raise ConfigError(f"{where}: `options` needs at least two choices")
    if raw["answer"] not in options:
        raise ConfigError(f"{where}: `answer` {raw['answer']!r} is not one of its options")
    if raw["after"] < 0:
        raise ConfigError(f"{where}: `after` must be 0 or more (the number of scenario questions before it)")
    if not raw["prompt"].strip():
        raise ConfigError(f"{where}: `prompt` is empty")
    return AttentionCheck(raw["id"], raw["after"], " ".join(raw["prompt"].split()), options, raw["answer"])


def _url(where: str, url: str) -> str:
    parts = urlparse(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ConfigError(f"{where}: `completion_url` must be an http(s) address, got {url[:60]!r}")
    return url


def parse_settings(text: str, source: str = "study.toml", study: str | None = None) -> StudySettings:
    """Parse and validate study settings; `study` (e.g. --study) overrides [study] id."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"study", "quality", "checks"})
    if unknown:
        raise ConfigError(f"{source}: unknown top-level key `{unknown[0]}`; the file holds [study], "
                          "[quality] and [[checks]]")
    s = _table(source, data, "study", STUDY_KEYS)
    q = _table(source, data, "quality", QUALITY_KEYS)
    where = f"{source}: [study]"
    defaults = StudySettings()
    study_id = (study or s.get("id") or defaults.study).strip()
    if not STUDY_ID.match(study_id):
        raise ConfigError(f"{where}: study id {study_id[:40]!r} must be 1-64 letters, digits, '.', '_' or '-'")
    platform = s.get("platform", defaults.platform)
    if platform not in PLATFORM_PARAMS:
        raise ConfigError(f"{where}: `platform` {platform!r}; choose from {', '.join(PLATFORM_PARAMS)}")
    modules = _strings(where, "modules", s.get("modules", list(defaults.modules)), MODULES)
    if not modules:
        raise ConfigError(f"{where}: `modules` is empty; name at least one of {', '.join(MODULES)}")
    games = _strings(where, "games", s["games"]) if "games" in s else None
    code = s.get("completion_code", "").strip() or None
    url = _url(where, s["completion_url"].strip()) if s.get("completion_url", "").strip() else None
    consent = s.get("consent", defaults.consent)
    if not consent.strip():
        raise ConfigError(f"{where}: `consent` is empty; participants must be told what they agree to")
    where_q = f"{source}: [quality]"
    exclude = _strings(where_q, "exclude", q.get("exclude", list(defaults.exclude)), RULES)
    min_seconds = float(q.get("min_seconds", defaults.min_seconds))
    if min_seconds < 0:
        raise ConfigError(f"{where_q}: `min_seconds` must be 0 or more")
    max_text = q.get("max_text", defaults.max_text)
    if not 20 <= max_text <= 5000:
        raise ConfigError(f"{where_q}: `max_text` must be between 20 and 5000 characters, got {max_text}")
    raw_checks = data.get("checks", [])
    if not isinstance(raw_checks, list):
        raise ConfigError(f"{source}: `checks` must be [[checks]] tables")
    checks = tuple(_check(source, i, raw) for i, raw in enumerate(raw_checks, start=1))
    if len({c.id for c in checks}) != len(checks):
        raise ConfigError(f"{source}: two attention checks share an id; give each its own")
    return StudySettings(
        study=study_id, title=" ".join(s.get("title", defaults.title).split()), consent=consent,
        consent_version=s.get("consent_version", defaults.consent_version).strip() or "1",
        platform=platform, completion_code=code, completion_url=url, modules=modules, games=games,
        min_seconds=min_seconds, exclude=exclude, max_text=max_text, checks=checks, source=source)


def load_settings(path: str | Path | None = None, study: str | None = None) -> StudySettings:
    """The study settings from `path` (default: study.toml at the workspace root;
    built-in defaults when that file does not exist and no path was given)."""
    if path is None:
        default = paths.study_file()
        if not default.is_file():
            return parse_settings("", source="defaults", study=study)
        path = default
    path = Path(path)
    return parse_settings(read_text(path, "--settings"), source=str(path), study=study)


def clean_platform(settings: StudySettings, query: dict) -> dict[str, str]:
    """The platform's ids from a study link's parameters: only the names this
    platform uses, trimmed, and only printable text of a sane length (a link is
    typed by anyone; an odd value is dropped, not stored)."""
    found = {}
    for name in settings.platform_params():
        value = query.get(name)
        if isinstance(value, str):
            value = value.strip()
            if value and len(value) <= MAX_PLATFORM_ID and value.isprintable():
                found[name] = value
    return found
