"""Schema-1 cache keys, so answers cached before keys were derived from the request
keep answering the same requests, with nothing for the user to do.

Until this schema, a key hashed the messages and a hand-made `params` dict
instead of the request body. For each request today's code still sends exactly
as then, `legacy_key` rebuilds that old key; the fetcher tries it when the new
key misses and copies a hit to the new key (so each old answer is read this way
once). A request that differs from what schema 1 sent has no legacy key: its
answer was never cached and is made afresh, as it must be.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

# What schema 1 sent for a first-token read of an OpenAI-compatible endpoint.
_OPENAI_YES_NO = {"max_tokens": 1, "temperature": 0, "logprobs": True, "top_logprobs": 20}
_LOCAL_SAMPLING = {"top_p": 1.0, "top_k": 0}


def legacy_params(provider: str, kind: str, body: dict[str, Any]) -> dict[str, Any] | None:
    """The schema-1 `params` of this request, or None if schema 1 never sent it."""
    rest = {k: v for k, v in body.items() if k not in ("model", "messages")}
    if kind == "yes_no":
        if provider == "openai" and rest == _OPENAI_YES_NO:
            return {"top_logprobs": 20}
        if provider == "local" and not rest:
            return {"top_logprobs": None}
        return None
    sampling = {k: rest.pop(k) for k in ("temperature", "max_tokens") if k in rest}
    if len(sampling) != 2:
        return None
    if (provider == "local" and rest == _LOCAL_SAMPLING) or (provider == "openai" and not rest):
        return sampling
    return None


def legacy_prompt(model_identity: dict[str, str], kind: str, body: dict[str, Any]) -> str | None:
    """The schema-1 prompt digest of this request (the key without `-<sample>`), if it had one."""
    params = legacy_params(model_identity["provider"], kind, body)
    if params is None:
        return None
    payload = {"schema": 1, "model": model_identity, "kind": kind, "messages": body["messages"], "params": params}
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
