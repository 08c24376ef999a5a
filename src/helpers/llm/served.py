"""What a self-hosted server says it serves, so that its answers are keyed apart
when it serves something else under the same address and name.

A server of one's own (llama.cpp, vLLM, Ollama) answers to any model name, so
URL + name do not identify its answers: restarted with other weights or another
chat template, it would hand back the old answers as if they were its own. So
before its answers are read, the server is asked two cheap questions:

- `GET /models`: the entry of the served model (its id and, where given, the
  path of its weights; never a timestamp, which changes on every restart);
- a one-token greedy chat completion of a fixed message: its `usage.prompt_tokens`
  changes with the chat template, and its `model` field names what answered.

The answers' hash (the fingerprint) is part of the cache identity. A server
that cannot be asked (down, or a cache-only read) is taken to serve what it
served when last asked, as recorded in the cache; one never asked keeps the
identity answers had before fingerprints existed. The reply's text is left out
on purpose: hosted servers are not deterministic even at temperature 0, and a
fingerprint that wobbles would buy every answer again.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from typing import Any

from helpers.llm import capabilities
from helpers.llm.naming import OPENAI_URL, ModelSpec

PROBE_MESSAGES = [{"role": "user", "content": "Reply with one word: is the sky blue?"}]
CHECK_HEADER = "X-Exceptions-Check"
PROBE_TIMEOUT = 5.0  # seconds per question; a server slower than this is taken as not answering
MANY_MODELS = 8  # a listing longer than this (a hosted router) is not part of the fingerprint


def self_hosted(spec: ModelSpec) -> bool:
    return spec.provider == "openai" and (spec.base_url or OPENAI_URL) != OPENAI_URL


def meta_key(spec: ModelSpec) -> str:
    return f"meta:served:{spec.base_url}|{spec.model}"


def _entries(listing: Any, model: str) -> list[dict]:
    data = listing.get("data") if isinstance(listing, dict) else None
    if not isinstance(data, list):
        return []
    keep = ("id", "root", "parent", "owned_by", "max_model_len")
    entries = [{k: e[k] for k in keep if k in e} for e in data if isinstance(e, dict)]
    mine = [e for e in entries if e.get("id") in (model, f"{model}:latest")]
    if mine:
        return mine
    return entries if len(entries) <= MANY_MODELS else []


class NoReply(Exception):
    """A request that brought no whole JSON body in time; the message says why."""


def check_client(purpose: str, seconds: float):
    """An httpx client for the workspace's own small requests to an endpoint (what it
    serves, its models' shutdown dates), marked with CHECK_HEADER and carrying the API
    key if there is one."""
    import httpx

    headers = {CHECK_HEADER: purpose}  # says what these requests are, to logs and stand-ins
    if key := os.environ.get("OPENAI_API_KEY"):
        headers["Authorization"] = f"Bearer {key}"
    return httpx.Client(timeout=seconds, headers=headers)


def read_json(client, method: str, url: str, seconds: float, **kwargs) -> Any:
    """One request's JSON body, given up after `seconds` even if bytes keep trickling
    in (httpx's timeout is per read, not per request). NoReply if it brings none;
    httpx errors and ValueError (not JSON) pass through."""
    until = time.monotonic() + seconds
    with client.stream(method, url, **kwargs) as response:
        if response.status_code != 200:
            raise NoReply(f"HTTP {response.status_code}")
        data = bytearray()
        for chunk in response.iter_bytes():
            data += chunk
            if time.monotonic() > until:
                raise NoReply(f"no whole reply within {seconds:g} s")
    return json.loads(bytes(data))


def _probe(spec: ModelSpec) -> dict:
    """A one-token greedy completion in the terms models.toml says this model takes
    (the same body as always for a model it does not know), without reasoning where
    the model allows that, so the check spends next to nothing."""
    caps = capabilities.load_rules().for_model(spec.model)
    effort = "none" if "none" in caps.efforts else None
    probe: dict = {"model": spec.model, "messages": PROBE_MESSAGES, caps.token_limit: 1}
    if caps.takes_temperature(effort):
        probe["temperature"] = 0
    if effort is not None:
        probe["reasoning_effort"] = effort
    return probe


def ask(spec: ModelSpec) -> dict | None:
    """What the server says now, or None if it does not answer both questions
    within PROBE_TIMEOUT seconds each."""
    import httpx

    probe = _probe(spec)
    try:
        with check_client("served-model", PROBE_TIMEOUT) as client:
            # No model list: not a server to fingerprint, so no completion is spent (NoReply).
            listing = read_json(client, "GET", f"{spec.base_url}/models", PROBE_TIMEOUT)
            answer = read_json(client, "POST", f"{spec.base_url}/chat/completions", PROBE_TIMEOUT, json=probe)
    except (NoReply, httpx.HTTPError, ValueError):
        return None
    if not isinstance(answer, dict):
        return None
    usage = answer.get("usage") if isinstance(answer.get("usage"), dict) else {}
    return {"models": _entries(listing, spec.model), "model": answer.get("model"),
            "prompt_tokens": usage.get("prompt_tokens")}


def fingerprint(said: dict) -> str:
    blob = json.dumps(said, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def never_ask(cache) -> None:
    """Take every server to serve what it served when last asked, without asking,
    for as long as this opened cache is used (an archive export reaches no server)."""
    cache.session["ask"] = False


def current(spec: ModelSpec, cache, ask_server: bool = True) -> tuple[str | None, str | None]:
    """(fingerprint, note) of what the server at spec.base_url serves: asked now
    (once per opened cache, i.e. once per run or notebook step), else the last one
    recorded in `cache`. (None, note) if it was never asked: the answers keep their
    old identity."""
    record = cache.get(meta_key(spec)) or {}
    ask_server = ask_server and cache.session.get("ask", True)
    said = None
    if ask_server:
        asked = cache.session.setdefault("served", {})
        if (spec.base_url, spec.model) not in asked:
            asked[spec.base_url, spec.model] = ask(spec)
        said = asked[spec.base_url, spec.model]
    if said is None:
        last = record.get("current")
        if ask_server:
            if last:
                return last, (f"{spec.base_url} did not say what it serves; reading the answers of what it "
                              f"served when last asked ({last})")
            return None, f"{spec.base_url} did not say what it serves, and never has; its answers are unchecked"
        return last, None
    mark = fingerprint(said)
    if record.get("current") != mark:
        history = record.get("history", [])
        note = None
        if record.get("current"):
            note = (f"{spec.base_url} now serves something else under '{spec.model}' ({mark}, was "
                    f"{record['current']}: other weights or chat template); its earlier answers are kept apart")
        cache.put_meta(meta_key(spec), {"current": mark, "first": record.get("first", mark),
                                        "history": [*history, {"fingerprint": mark, "said": said,
                                                               "at": time.time()}]})
        return mark, note
    return mark, None


def first(spec: ModelSpec, cache) -> str | None:
    """The first fingerprint recorded here: answers made before fingerprints existed
    are taken to be its (they were made by the server found there then)."""
    return (cache.get(meta_key(spec)) or {}).get("first")
