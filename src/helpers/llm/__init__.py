"""Calling models: naming, backends (the offline model, OpenAI-compatible
servers), the answer cache, and the one fetcher every study obtains answers
through (cache lookup, n-requests, pacing and retries, or the Batch API).

This layer knows nothing of scenarios, human data or games: a study hands it
Units (a model, a kind of answer, messages, sampling settings, sample indices).
Replication archives of cached answers (archive, archive_check) are imported by
name, so that pyarrow is loaded only when one is written or read.
"""

from helpers.llm import lifecycle, prices
from helpers.llm.asking import AskConfig, AskResult, ask
from helpers.llm.backends import CallFailed
from helpers.llm.cache import CallCache, CallStats, open_cache
from helpers.llm.engine import Call, Limits, Progress, run_sync
from helpers.llm.fetch import Fetcher, completion_bound, group, prompt_tokens
from helpers.llm.naming import DEFAULT_MODEL, OPENAI_URL, ModelSpec, identity, parse_model
from helpers.llm.units import CachedModel, Unit

__all__ = [
    "AskConfig", "AskResult", "CachedModel", "Call", "CallCache", "CallFailed", "CallStats", "DEFAULT_MODEL",
    "Fetcher", "Limits", "ModelSpec", "OPENAI_URL", "Progress", "Unit", "ask", "completion_bound", "group",
    "identity", "lifecycle", "open_cache", "parse_model", "prices", "prompt_tokens", "run_sync",
]
