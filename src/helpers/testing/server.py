"""A fake OpenAI: a real HTTP server on 127.0.0.1 that speaks enough of OpenAI's REST API.

It stands in for OpenAI at the HTTP boundary, for tests, for benchmarks and for
anyone without an API key: code runs unchanged through the openai SDK, pointed
at `server.base_url`. It serves chat completions, files, batches, fine-tuning
jobs, and the models (list and retrieve, with `shutdown_date`), all kept in memory.

The models it knows are in `catalogue` (helpers.testing.catalogue; per server,
settable): today's reasoning models refuse max_tokens, temperature and logprobs
as OpenAI's do and bill reasoning tokens; a model past its shutdown date, as
seen from `today` (settable; CATALOGUE_DAY unless set), answers 404. A model
outside the catalogue is answered without any of these rules, as vLLM or
llama.cpp would.

Answers follow a rule a test can read: "Yes" when the prompt mentions one of
`yes_words`, otherwise "No" (helpers.testing.chat). Every request is recorded
in `requests`; failures can be queued (`fail_next`) or injected at random
(`fault_rate`), and an `rpm` limit answers 429 like the real service, so retry
and failure handling can be exercised. `GET /stats` reports what was served
(`most_in_flight`: the most chat completions answered at once).
It speaks HTTP/1.1 with keep-alive (uvicorn, in a thread), as real servers do, so a
client reuses its connections: `stats["connections"]` counts the TCP connections
accepted, `open_connections` those open now. `ignore_n = True` answers one choice
whatever `n` asks, like llama.cpp's server.
Files, batches and jobs are in helpers.testing.stores, the HTTP plumbing in
helpers.testing.transport; this module puts them together and routes requests.

    python -m helpers.testing.server --port 8000 --rpm 60 --fault-rate 0.1 --seed 1 --today 2027-01-15
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import datetime
import itertools
import random
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from helpers.testing.catalogue import DEFAULT_CATALOGUE, complete, lookup, model_object
from helpers.testing.chat import FAULTS, REASONS, TOKEN, ChatReplies, _text, count_tokens
from helpers.testing.transport import Background, Reply, app_for, error
from helpers.testing.stores import FT_STEPS, MODERATION_ERROR, Stores

# Names tests and benchmarks import from here, wherever they are defined now.
__all__ = ["DEFAULT_CATALOGUE", "FAULTS", "FT_STEPS", "MODERATION_ERROR", "REASONS", "TOKEN", "FakeOpenAI",
           "_text", "count_tokens", "main"]


CATALOGUE_DAY = datetime.date(2026, 12, 5)  # the day docs/sources/openai-api-2026-12.md was read


class FakeOpenAI(ChatReplies, Stores):
    """The server. Use `with FakeOpenAI() as server:` (or `.start()` ... `.close()`).

    latency: seconds slept before each chat answer. rpm: chat requests allowed per
    rolling minute (None: unlimited). fault_rate: chance that a chat request meets an
    injected fault, drawn from random.Random(seed); a timeout fault hangs fault_timeout
    seconds. batch_steps: GETs of a batch until it reports completed.

    Attributes a test may set: fail_next (statuses to answer first), logprobs (False:
    ignore the logprobs a request asks for), first_tokens (decision -> the first
    token's (token, probability) pairs, cut to top_logprobs; see ChatReplies), ignore_n (True: one choice whatever n is),
    framing (extra prompt tokens per message, as another chat template would add),
    catalogue (model id -> entry, see helpers.testing.catalogue; a copy of
    DEFAULT_CATALOGUE unless given), today (the date shutdown dates are read against).
    """

    def __init__(self, api_key: str | None = None, yes_words: tuple[str, ...] = ("$10.01", "0.01 miles"),
                 *, port: int = 0, latency: float = 0.0, rpm: int | None = None,
                 fault_rate: float = 0.0, seed: int | None = None, fault_timeout: float = 3.0,
                 batch_steps: int = 2, catalogue: dict[str, dict] | None = None,
                 today: datetime.date | None = None):
        self.api_key = api_key
        self.yes_words = yes_words
        self.latency = latency
        self.rpm = rpm
        self.fault_rate = fault_rate
        self.fault_timeout = fault_timeout
        self.batch_steps = batch_steps
        self.requests: list[dict] = []
        self.checks: list[dict] = []  # the served-model checks of helpers.llm.served, kept apart
        self.fail_next: list[int] = []  # HTTP status codes to return before answering
        self.logprobs = True  # False: behave like a server that ignores logprobs
        self.first_tokens = None  # decision -> first-token (token, probability) pairs; None: the default
        self.ignore_n = False  # True: one choice whatever n asks, like llama.cpp's server
        self.framing = 0  # extra prompt tokens per message: as if restarted with another chat template
        self.stats = dict.fromkeys(("requests", "completions", "rate_limited", "faults",
                                    "prompt_tokens", "completion_tokens", "connections", "rejected",
                                    "most_in_flight"), 0)
        self.catalogue = DEFAULT_CATALOGUE if catalogue is None else catalogue
        self.today = today  # None: CATALOGUE_DAY, the day the catalogue describes
        self.files: dict[str, dict] = {}
        self.batches: dict[str, dict] = {}
        self.jobs: dict[str, dict] = {}
        self._contents: dict[str, bytes] = {}
        self._admitted: deque[float] = deque()  # times of chat requests let through the rpm limit
        self._rng = random.Random(seed)
        self._ids = itertools.count(1)
        self._wording = itertools.count()
        self._lock = threading.RLock()
        self._closing = threading.Event()
        # The fake's code is synchronous and sleeps (latency, faults), so requests are answered
        # in threads; as many as a CLI run may keep in flight (asyncio's default pool has 6 here):
        # --concurrency goes up to 1,000, and a server with latency that stood for a vLLM
        # cluster would otherwise cap what it serves at once. Threads start only when needed.
        self._workers = ThreadPoolExecutor(max_workers=1024, thread_name_prefix="fake-openai")
        self._http = Background(app_for(self), port, on_connect=self._connected)

    # -- lifecycle --------------------------------------------------------
    @property
    def port(self) -> int:
        return self._http.port

    @property
    def open_connections(self) -> int:
        """TCP connections open now (kept alive between requests, or serving one)."""
        return len(self._http.open)

    def _connected(self) -> None:
        with self._lock:
            self.stats["connections"] += 1

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAI:
        self._http.start()
        return self

    def close(self) -> None:
        self._closing.set()  # a request sleeping in a timeout fault or latency wakes now
        self._http.close()
        self._workers.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the models served -------------------------------------------------
    @property
    def catalogue(self) -> dict[str, dict]:
        return self._catalogue

    @catalogue.setter
    def catalogue(self, entries: dict[str, dict]) -> None:
        """A copy, checked now, so a mistake in a test's entry fails where it is written."""
        for name, entry in entries.items():
            complete(name, entry)
        self._catalogue = copy.deepcopy(dict(entries))  # a test's edits never reach DEFAULT_CATALOGUE

    @property
    def today(self) -> datetime.date:
        # The catalogue describes the API as it was on one day; playing that day unless
        # told otherwise keeps tests that use the paper's models from breaking the day
        # the real ones shut down.
        return self._today or CATALOGUE_DAY

    @today.setter
    def today(self, day: datetime.date | None) -> None:
        self._today = day

    def models(self) -> list[dict]:
        """What GET /v1/models lists: the catalogue, then the fine-tuned models (with their base's date)."""
        tuned = [j["fine_tuned_model"] for j in self.jobs.values() if j["fine_tuned_model"]]
        names = [*self.catalogue, *(n for n in tuned if n not in self.catalogue)]
        return [model_object(n, lookup(self.catalogue, n)) for n in names]

    def _retrieve_model(self, model: str) -> Reply:
        found = [m for m in self.models() if m["id"] == model]
        if not found:
            return error(404, f"The model `{model}` does not exist or you do not have access to it.",
                         code="model_not_found", param="model")
        return 200, found[0], {}

    def _check(self, method: str, path: str, body: Any) -> Reply:
        """A served-model check, answered as a request would be, but for faults and stats."""
        if method == "POST" and path.rstrip("/").endswith("/chat/completions"):
            return self.refused(body) or (200, self.respond(body), {})
        return self._route(method, path, {}, body)

    def completions(self) -> list[dict]:
        return [r for r in self.requests if r["path"].endswith("/chat/completions")]

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06d}"

    # -- routing -----------------------------------------------------------
    def _route(self, method: str, path: str, query: dict, body: Any) -> Reply:
        parts = path.strip("/").split("/")[1:]  # without the leading "v1"
        if parts[:2] == ["fine_tuning", "jobs"]:
            parts = ["jobs", *parts[2:]]
        if method == "POST" and parts == ["chat", "completions"]:
            return self._chat(body)  # outside the lock: it may sleep
        stores = {"files": self.files, "batches": self.batches, "jobs": self.jobs}
        with self._lock:
            if method == "GET" and parts == ["models"]:
                return 200, {"object": "list", "data": self.models()}, {}
            if method == "GET" and parts[:1] == ["models"] and len(parts) > 1:
                return self._retrieve_model("/".join(parts[1:]))  # an id may hold a slash (vendor/model)
            if method == "POST" and len(parts) == 1 and parts[0] in stores:
                return {"files": self._upload, "batches": self._create_batch, "jobs": self._create_job}[parts[0]](body)
            if len(parts) in (2, 3) and parts[0] in stores:
                obj = stores[parts[0]].get(parts[1])
                if obj is None:
                    return error(404, f"No such {parts[0][:-1]}: {parts[1]}", param="id")
                action = {
                    ("GET", "files"): lambda: (200, obj, {}),
                    ("GET", "files", "content"): lambda: (200, self._contents[obj["id"]],
                                                         {"Content-Type": "application/octet-stream"}),
                    ("DELETE", "files"): lambda: self._delete_file(obj),
                    ("GET", "batches"): lambda: self._poll_batch(obj),
                    ("POST", "batches", "cancel"): lambda: self._cancel_batch(obj),
                    ("GET", "jobs"): lambda: self._poll_job(obj),
                    ("GET", "jobs", "events"): lambda: (200, {  # newest first, as OpenAI lists them
                        "object": "list", "data": obj["_events"][::-1][:int(query.get("limit", ["20"])[0])],
                        "has_more": False}, {}),
                    ("POST", "jobs", "cancel"): lambda: self._cancel_job(obj),
                }.get((method, *parts[:1], *parts[2:]))
                if action:
                    return action()
        return error(404, f"Unknown path: {method} {path}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m helpers.testing.server", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0, help="0 (default): any free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to each chat completion")
    parser.add_argument("--rpm", type=int, default=None, help="chat-completion requests allowed per minute")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="probability of an injected fault")
    parser.add_argument("--fault-timeout", type=float, default=3.0, help="seconds a timeout fault hangs")
    parser.add_argument("--seed", type=int, default=None, help="seed for the fault draws")
    parser.add_argument("--api-key", default=None, help="require this bearer token")
    parser.add_argument("--today", type=datetime.date.fromisoformat, default=None, metavar="YYYY-MM-DD",
                        help="the date models' shutdown dates are compared with (default: 2026-12-05, "
                             "the day the catalogue describes)")
    args = parser.parse_args(argv)
    server = FakeOpenAI(api_key=args.api_key, port=args.port, latency=args.latency, rpm=args.rpm,
                        fault_rate=args.fault_rate, fault_timeout=args.fault_timeout, seed=args.seed,
                        today=args.today)
    server.start()
    print(f"serving on {server.base_url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()  # the server runs in its own thread until Ctrl-C (SIGTERM just ends us)
    server.close()


if __name__ == "__main__":
    main()
