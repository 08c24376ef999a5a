"""The fake OpenAI server now lives in helpers.testserver; this keeps old imports working."""
from helpers.testserver import FakeOpenAI  # noqa: F401
