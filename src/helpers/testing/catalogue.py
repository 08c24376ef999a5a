"""The fake OpenAI's model catalogue: which models it knows and how each one
treats a chat request, as OpenAI's models did in December 2026.

Today's OpenAI models reason before they answer, bill the reasoning as output
tokens, and refuse parameters older models took (max_tokens, temperature,
logprobs), one error per request. Which model does what is written down in
docs/sources/openai-api-2026-12.md (sections 3 and 4); the default catalogue
below uses real model ids and shutdown dates from there, with behaviour that
illustrates the documented rules rather than claiming to measure them.

An entry is a dict; a field left out takes its value from OLD_MODEL, so `{}`
is a model of the old kind that is never shut down:

    shutdown_date     "YYYY-MM-DD" or None; after that day the model answers 404
    reasoning         True: reasons by default and bills reasoning tokens
    efforts           accepted `reasoning_effort` values; [] refuses the parameter
    default_effort    the effort of a request that names none (None: no reasoning)
    token_param       "max_tokens" (takes it and max_completion_tokens alike)
                      or "max_completion_tokens" (refuses max_tokens)
    temperature       "any" | "default-only" (only 1) | "not-when-reasoning"
                      (only with effort "none"); top_p follows the same rule
    logprobs          "any" | "effort-none-only" | "never"; top_logprobs alike
    n                 False: n > 1 is refused
    reasoning_tokens  tokens spent reasoning per answer, by effort
    snapshot          the `model` a reply names (default: the id asked for)

A model that is not in the catalogue is served as before the catalogue existed:
no checks and no reasoning, as an OpenAI-compatible server (vLLM, llama.cpp) does.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
from typing import Any

from helpers.testing.transport import Reply, error

EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")  # chat/create's enum, in order
REASONING_TOKENS = {"none": 0, "minimal": 8, "low": 24, "medium": 96, "high": 384, "xhigh": 1024, "max": 2048}
RULES = {"token_param": ("max_tokens", "max_completion_tokens"),
         "temperature": ("any", "default-only", "not-when-reasoning"),
         "logprobs": ("any", "effort-none-only", "never")}

OLD_MODEL: dict[str, Any] = {
    "shutdown_date": None, "reasoning": False, "efforts": [], "default_effort": None,
    "token_param": "max_tokens", "temperature": "any", "logprobs": "any", "n": True,
    "reasoning_tokens": REASONING_TOKENS, "snapshot": None,
}
# GPT-6 Luna and 6.1 Terra: effort none..max without minimal (their model pages), medium by
# default; sampling parameters and logprobs only with effort none (the deployment checklist).
_GPT6 = {"reasoning": True, "efforts": ["none", "low", "medium", "high", "xhigh", "max"],
         "default_effort": "medium", "token_param": "max_completion_tokens",
         "temperature": "not-when-reasoning", "logprobs": "effort-none-only"}
# `n` stays True throughout: the fact sheet found no source either way for reasoning models.
DEFAULT_CATALOGUE: dict[str, dict[str, Any]] = {
    "gpt-4o-mini": {},
    "gpt-4o": {},
    # Only the dated snapshots have a shutdown date on record; the aliases' is unconfirmed.
    "gpt-4o-2024-08-06": {"shutdown_date": "2027-01-14"},
    "gpt-4o-mini-2024-07-18": {"shutdown_date": "2027-01-14"},
    # The snapshot date is an illustration: no OpenAI page found names Luna's snapshots.
    "gpt-6-luna": {**_GPT6, "snapshot": "gpt-6-luna-2026-09-30"},
    "gpt-6.1-terra": dict(_GPT6),
    # 6.2 Sol refuses effort none, so it never takes a temperature or logprobs in practice.
    "gpt-6.2-sol": {**_GPT6, "efforts": ["low", "medium", "high", "xhigh", "max"]},
    # The o-series: only the default temperature, no logprobs at all; shut down 2026-10-23.
    "o3-mini": {"shutdown_date": "2026-10-23", "reasoning": True, "efforts": ["low", "medium", "high"],
                "default_effort": "medium", "token_param": "max_completion_tokens",
                "temperature": "default-only", "logprobs": "never"},
}


def complete(name: str, entry: dict) -> dict[str, Any]:
    """`entry` with every field filled in, or ValueError naming the model and the field."""
    where = f"catalogue entry '{name}'"
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: expected a dict of fields, got {entry!r}")
    unknown = sorted(set(entry) - set(OLD_MODEL))
    if unknown:
        raise ValueError(f"{where}: unknown field `{unknown[0]}`; fields are {', '.join(OLD_MODEL)}")
    full = {**copy.deepcopy(OLD_MODEL), **copy.deepcopy(entry)}
    for field, allowed in RULES.items():
        if full[field] not in allowed:
            raise ValueError(f"{where}: `{field}` must be one of {allowed}, got {full[field]!r}")
    bad = [e for e in full["efforts"] if e not in EFFORTS]
    if bad:
        raise ValueError(f"{where}: `efforts` may hold only {EFFORTS}, got {bad[0]!r}")
    if full["default_effort"] is not None and full["default_effort"] not in full["efforts"]:
        raise ValueError(f"{where}: `default_effort` {full['default_effort']!r} is not one of `efforts`")
    missing = [e for e in full["efforts"] if e not in full["reasoning_tokens"]]
    if full["reasoning"] and missing:
        raise ValueError(f"{where}: `reasoning_tokens` has no count for effort {missing[0]!r}")
    if full["shutdown_date"] is not None:
        try:
            datetime.date.fromisoformat(full["shutdown_date"])
        except (TypeError, ValueError):
            raise ValueError(f"{where}: `shutdown_date` must be 'YYYY-MM-DD' or None, "
                             f"got {full['shutdown_date']!r}") from None
    return full


def base_of(model: str) -> str:
    """The model a fine-tune was made from (`ft:BASE:org:suffix:id`), else the model itself."""
    return model.split(":")[1] if model.startswith("ft:") and model.count(":") >= 2 else model


def lookup(catalogue: dict[str, dict], model: Any) -> dict[str, Any] | None:
    """The completed entry of `model`, or of the model it was fine-tuned from; None if unknown."""
    if not isinstance(model, str):
        return None
    name = model if model in catalogue else base_of(model)
    return complete(name, catalogue[name]) if name in catalogue else None


def effort(entry: dict, body: dict) -> str:
    """The effort a request runs at: the one it names, else the model's default."""
    return body.get("reasoning_effort") or entry["default_effort"] or "none"


def reasoning_spent(entry: dict | None, body: dict) -> int:
    """Reasoning tokens per answer (0 for a model that does not reason or at effort none)."""
    if entry is None or not entry["reasoning"]:
        return 0
    return int(entry["reasoning_tokens"].get(effort(entry, body), 0))


def system_fingerprint(model: str) -> str:
    """Stable per model, so a test can tell two models' replies apart."""
    return "fp_" + hashlib.sha256(model.encode()).hexdigest()[:10]


def gone(entry: dict, today: datetime.date) -> bool:
    shutdown = entry["shutdown_date"]
    return shutdown is not None and datetime.date.fromisoformat(shutdown) < today


def _unsupported(param: str, code: str | None = "unsupported_parameter") -> Reply:
    return error(400, f"Unsupported parameter: '{param}' is not supported with this model.",
                 code=code, param=param)


def _only_default(param: str, value: Any, default: Any = 1) -> Reply:
    shown = f"{value:g}" if isinstance(value, int | float) and not isinstance(value, bool) else repr(value)
    return error(400, f"Unsupported value: '{param}' does not support {shown} with this model. "
                      f"Only the default ({default}) value is supported.", code="unsupported_value", param=param)


def _listed(values: list[str]) -> str:
    quoted = [f"'{v}'" for v in values]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + f", and {quoted[-1]}"


def refusal(model: str, entry: dict, body: dict, today: datetime.date) -> Reply | None:
    """OpenAI's error for a request `entry`'s model refuses, or None if it is served.

    Like OpenAI, one error per request: the first offence in a fixed order (the
    model's shutdown, then token cap, reasoning_effort, temperature, top_p,
    logprobs, top_logprobs, n). A parameter sent as null counts as not sent."""
    if gone(entry, today):
        return error(404, f"The model `{model}` has been deprecated, learn more here: "
                          "https://platform.openai.com/docs/deprecations", code="model_not_found")
    sent = {k: v for k, v in body.items() if v is not None}
    if "max_tokens" in sent and entry["token_param"] == "max_completion_tokens":
        return error(400, "Unsupported parameter: 'max_tokens' is not supported with this model. "
                          "Use 'max_completion_tokens' instead.", code="unsupported_parameter", param="max_tokens")
    if "reasoning_effort" in sent:
        if not entry["efforts"]:
            return _unsupported("reasoning_effort")
        if sent["reasoning_effort"] not in entry["efforts"]:
            return error(400, f"Unsupported value: '{sent['reasoning_effort']}' is not supported with the "
                              f"'{base_of(model)}' model. Supported values are: {_listed(entry['efforts'])}.",
                         code="unsupported_value", param="reasoning_effort")
    reasoning = effort(entry, body) != "none"
    for param in ("temperature", "top_p"):
        if param not in sent:
            continue
        if entry["temperature"] == "default-only" and sent[param] != 1:
            return _only_default(param, sent[param])
        # The GPT-6 models' refusal as quoted has no `code` (docs/sources, section 4 b): a
        # client must read `param` and the message, not only the code.
        if entry["temperature"] == "not-when-reasoning" and reasoning:
            return _unsupported(param, code=None)
    for param in ("logprobs", "top_logprobs"):
        if param in sent and entry["logprobs"] == "never":
            return _unsupported(param)
        if param in sent and entry["logprobs"] == "effort-none-only" and reasoning:
            return _unsupported(param, code=None)
    if not entry["n"] and int(sent.get("n", 1)) > 1:
        return _only_default("n", sent["n"])
    return None


def model_object(model: str, entry: dict | None) -> dict[str, Any]:
    """A model as GET /v1/models lists it; `shutdown_date` is null when none is announced."""
    return {"id": model, "object": "model", "created": 0, "owned_by": "test-org",
            "shutdown_date": entry["shutdown_date"] if entry else None}
