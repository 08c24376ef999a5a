"""Temporary: the names that lived here, until every caller imports them from helpers.llm."""

from helpers.llm.backends import Backend, CallFailed  # noqa: F401
from helpers.llm.providers import backend  # noqa: F401
from helpers.llm.naming import (DEFAULT_MODEL, NO_KEY_HINT, OPENAI_URL, PROVIDERS,  # noqa: F401
                                ModelSpec, _file_sha256, identity, parse_model)
from helpers.llm.openai_backend import OpenAIBackend, parse_completion, retry_after  # noqa: F401
