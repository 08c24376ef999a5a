"""Test doubles at the HTTP boundary, for tests and benchmarks only: no workspace
code imports this package, apart from the `python -m helpers.testserver` entry point.

FakeOpenAI is a real HTTP server on 127.0.0.1 speaking enough of OpenAI's REST
API (chat completions, files, batches, fine-tuning jobs, models) for the openai
SDK to run unchanged against it; `python -m helpers.testserver` starts one. Like
real servers it speaks HTTP/1.1 and keeps connections alive (uvicorn in a thread).
Modules: server (FakeOpenAI and the command line), chat (canned answers),
catalogue (the models it knows: shutdown dates, reasoning, the parameters each
refuses), stores (files, batches, jobs), transport (uvicorn in a thread, the
ASGI app), hostile (stand-ins that misbehave: odd bodies, 429s, trickling,
hanging, refusing).
"""

from helpers.testing.server import FakeOpenAI, count_tokens

__all__ = ["FakeOpenAI", "count_tokens"]
