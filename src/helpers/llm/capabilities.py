"""What an openai/ model takes in a request: its token-limit parameter, whether it
takes a temperature and logprobs, `n`, whether it reasons and which reasoning
efforts it accepts, and its documented shutdown date.

Three sources, the later winning: the rules of models.toml (by name pattern),
what a server taught us by rejecting a parameter (remembered per endpoint and
model in the cache's meta entries), and a run's `--capability KEY=VALUE`.

Request bodies are built from these (openai_backend.request_body), and cache
keys from the bodies, so a model's answers are keyed on what it was really sent.
Only a rejection (never billed, nothing stored under the old body) teaches us
anything: learning from a successful reply would change later bodies and orphan
the answers already stored under the old ones.
"""

from __future__ import annotations

import fnmatch
import re
import time
import tomllib
from dataclasses import dataclass, fields, replace
from datetime import date
from pathlib import Path
from typing import Any

from helpers import paths
from helpers.errors import ConfigError, UserError
from helpers.llm import local_registry
from helpers.llm.naming import base_of

TOKEN_LIMITS = ("max_tokens", "max_completion_tokens")
TEMPERATURES = ("any", "default-only", "effort-none")
LOGPROBS = ("yes", "no", "effort-none")
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")


@dataclass(frozen=True)
class Capabilities:
    token_limit: str = "max_tokens"
    temperature: str = "any"
    logprobs: str = "yes"
    n: bool = True
    reasoning: bool = False
    efforts: tuple[str, ...] = ()
    default_effort: str | None = None
    shutdown: str | None = None  # YYYY-MM-DD, as documented
    rule: str = "defaults"  # which rule of models.toml matched, for messages

    def effort(self, asked: str | None) -> str | None:
        """The effort a request runs at: the one asked for, else the model's default."""
        return asked or self.default_effort

    def reasons(self, asked: str | None) -> bool:
        """Whether answers spend (and bill) reasoning tokens at this effort."""
        return self.reasoning and self.effort(asked) != "none"

    def takes_temperature(self, asked: str | None) -> bool:
        return self.temperature == "any" or (self.temperature == "effort-none" and self.effort(asked) == "none")

    def gives_logprobs(self, asked: str | None) -> bool:
        return self.logprobs == "yes" or (self.logprobs == "effort-none" and self.effort(asked) == "none")


DEFAULTS = Capabilities()
_KINDS: dict[str, tuple[type, tuple[str, ...] | None]] = {
    "token_limit": (str, TOKEN_LIMITS), "temperature": (str, TEMPERATURES), "logprobs": (str, LOGPROBS),
    "n": (bool, None), "reasoning": (bool, None), "efforts": (list, EFFORTS), "default_effort": (str, EFFORTS),
    "shutdown": (str, None),
}


@dataclass(frozen=True)
class Rules:
    defaults: Capabilities
    patterns: dict[str, Capabilities]
    fine_tuning_ends: str | None = None  # YYYY-MM-DD: the last day OpenAI takes new fine-tuning jobs
    source: str = "models.toml"

    def for_model(self, model: str) -> Capabilities:
        """The rule of the most specific (longest) pattern that fits; a fine-tuned
        model (ft:BASE:org:name:id) follows its BASE."""
        name = base_of(model)
        fitting = [p for p in self.patterns if fnmatch.fnmatchcase(name, p)]
        if not fitting:
            return self.defaults
        return self.patterns[max(fitting, key=len)]


def _date(value: str, where: str) -> str:
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise ConfigError(f"{where}: {value!r} is not a date; write YYYY-MM-DD") from None


def _check(key: str, value: Any, where: str) -> Any:
    """One key's value, checked and normalised; a ConfigError names what is wrong."""
    if key not in _KINDS:
        raise ConfigError(f"{where}: unknown key `{key}`; allowed keys are {', '.join(_KINDS)}")
    kind, allowed = _KINDS[key]
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: `{key}` must be true or false, got {value!r}")
        return value
    if kind is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: `{key}` must be a list of strings, got {value!r}")
        bad = [v for v in value if v not in allowed]
        if bad:
            raise ConfigError(f"{where}: `{key}` has {bad[0]!r}; use values from {', '.join(allowed)}")
        return tuple(value)
    if key == "shutdown" and isinstance(value, date):  # TOML's unquoted 2027-01-14
        value = value.isoformat()
    if not isinstance(value, str):
        raise ConfigError(f"{where}: `{key}` must be a string, got {value!r}")
    if key == "shutdown":
        return _date(value, f"{where}: `shutdown`")
    if allowed and value not in allowed:
        raise ConfigError(f"{where}: `{key}` is {value!r}; use one of {', '.join(allowed)}")
    return value


def _rule(raw: Any, base: Capabilities, where: str, rule: str) -> Capabilities:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a table of keys, got {type(raw).__name__}")
    checked = {key: _check(key, value, where) for key, value in raw.items()}
    caps = replace(base, **checked, rule=rule)
    if caps.default_effort is not None and caps.efforts and caps.default_effort not in caps.efforts:
        raise ConfigError(f"{where}: default_effort {caps.default_effort!r} is not among its efforts")
    return caps


def load_rules(path: str | Path | None = None) -> Rules:
    """Read and check models.toml (a missing file: every model takes the defaults)."""
    path = Path(path) if path is not None else paths.models_file()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Rules(DEFAULTS, {}, None, str(path))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"openai", "defaults", "models", "local"})
    if unknown:
        raise ConfigError(f"{path}: unknown table `{unknown[0]}`; use [openai], [defaults], [models.\"PATTERN\"] "
                          "and [local.NAME]")
    # Local model names live in the same file; a mistake there fails here too, before a run.
    local_registry.parse_tables(data.get("local", {}), path)
    openai = data.get("openai", {})
    extra = sorted(set(openai) - {"fine_tuning_ends"}) if isinstance(openai, dict) else ["(not a table)"]
    if extra:
        raise ConfigError(f"{path}: [openai] has unknown key `{extra[0]}`; allowed: fine_tuning_ends")
    ends = openai.get("fine_tuning_ends")
    if ends is not None:
        ends = _date(ends.isoformat() if isinstance(ends, date) else str(ends), f"{path}: [openai] fine_tuning_ends")
    defaults = _rule(data.get("defaults", {}), DEFAULTS, f"{path}: [defaults]", "defaults")
    models = data.get("models", {})
    if not isinstance(models, dict):
        raise ConfigError(f"{path}: `models` must be tables [models.\"PATTERN\"]")
    patterns = {pattern: _rule(raw, defaults, f"{path}: model rule '{pattern}'", pattern)
                for pattern, raw in models.items()}
    return Rules(defaults, patterns, ends, str(path))


# -- a run's overrides: --capability KEY=VALUE -------------------------------------------

def parse_override(text: str) -> tuple[str, Any]:
    """`KEY=VALUE` as typed on the command line, checked like the file's keys."""
    key, sep, value = text.partition("=")
    key, value = key.strip().replace("-", "_"), value.strip()
    where = f"--capability {text}"
    if not sep or not key:
        raise UserError(f"{where}: write KEY=VALUE, e.g. --capability token_limit=max_completion_tokens")
    if key not in _KINDS or key == "shutdown":
        raise UserError(f"{where}: unknown key `{key}`; use one of "
                        f"{', '.join(k for k in _KINDS if k != 'shutdown')}")
    kind, _ = _KINDS[key]
    if kind is bool:
        lowered = value.lower()
        if lowered not in ("true", "false", "yes", "no", "1", "0"):
            raise UserError(f"{where}: `{key}` is true or false")
        return key, lowered in ("true", "yes", "1")
    if kind is list:
        parsed: Any = [v.strip() for v in value.split(",") if v.strip()]
    else:
        parsed = value
    try:
        return key, _check(key, parsed, where)
    except ConfigError as exc:
        raise UserError(str(exc)) from None


def with_overrides(caps: Capabilities, overrides: tuple[tuple[str, Any], ...], why: str) -> Capabilities:
    return replace(caps, **dict(overrides), rule=why) if overrides else caps


# -- what a server taught us ---------------------------------------------------------------

_SUPPORTED = re.compile(r"[Ss]upported values are:?\s*(.*)")


def lesson(param: str | None, code: str | None, message: str) -> dict[str, Any] | None:
    """What an OpenAI-shaped 400 rejecting one parameter says about the model, as
    capability changes; None when it says nothing we can use."""
    text = message or ""
    unsupported = (code in ("unsupported_parameter", "unsupported_value")
                   or text.startswith(("Unsupported parameter", "Unsupported value")))
    if not unsupported or not param:
        return None
    if param == "max_tokens":
        return {"token_limit": "max_completion_tokens"}
    if param == "max_completion_tokens":
        return {"token_limit": "max_tokens"}
    if param == "temperature":
        return {"temperature": "default-only"}
    if param in ("logprobs", "top_logprobs"):
        return {"logprobs": "no"}
    if param == "n":
        return {"n": False}
    if param == "reasoning_effort":
        if code == "unsupported_parameter" or text.startswith("Unsupported parameter"):
            return {"efforts": (), "reasoning": False}
        found = _SUPPORTED.search(text)
        values = tuple(v for v in re.findall(r"'([a-z]+)'", found.group(1)) if v in EFFORTS) if found else ()
        return {"efforts": values} if values else None
    return None


def adaptation(changes: dict[str, Any]) -> str:
    """What a run does differently after a lesson, in words."""
    said = []
    for key, value in changes.items():
        if key == "token_limit":
            said.append(f"sending `{value}` instead")
        elif key == "temperature":
            said.append("leaving the temperature at its default (1)")
        elif key == "n":
            said.append("one request per answer")
        elif key == "logprobs":
            said.append("no logprobs (exact mode needs them)")
        elif key == "efforts":
            said.append(f"reasoning efforts {', '.join(value) or '(none)'} only")
    return "; ".join(said) or "adapted"


def _meta_key(identity_digest: str) -> str:
    return f"meta:capabilities:{identity_digest}"


def learned(cache, identity_digest: str) -> dict[str, Any]:
    """What servers taught about this endpoint and model in earlier runs."""
    entry = cache.get(_meta_key(identity_digest)) or {}
    known = {f.name for f in fields(Capabilities)}
    return {k: tuple(v) if isinstance(v, list) else v for k, v in entry.get("changes", {}).items() if k in known}


def remember(cache, identity_digest: str, changes: dict[str, Any], why: str) -> None:
    entry = dict(cache.get(_meta_key(identity_digest)) or {})
    entry["changes"] = {**entry.get("changes", {}), **{k: list(v) if isinstance(v, tuple) else v
                                                       for k, v in changes.items()}}
    entry.setdefault("why", []).append({"at": time.time(), "message": why[:300]})
    cache.put_meta(_meta_key(identity_digest), entry)
