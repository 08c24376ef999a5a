"""A fake OpenAI: a real HTTP server on 127.0.0.1 that speaks enough of OpenAI's REST API.

It stands in for OpenAI at the HTTP boundary, for tests, for benchmarks and for
anyone without an API key: code runs unchanged through the openai SDK, pointed
at `server.base_url`. It serves chat completions, files, batches, fine-tuning
jobs and a model list, all kept in memory.

Answers follow a rule a test can read: "Yes" when the prompt mentions one of
`yes_words`, otherwise "No". Every request is recorded in `requests`; failures
can be queued (`fail_next`) or injected at random (`fault_rate`), and an `rpm`
limit answers 429 like the real service, so retry and failure handling can be
exercised. `GET /stats` reports what was served.

Token counts are NOT the real tokenizer's, on purpose (it is simple and stable):
a text has one token per word (\\w+) or punctuation mark; a prompt counts each
message's tokens + 4 per message + 3 for the reply.

    python -m helpers.testing.server --port 8000 --rpm 60 --fault-rate 0.1 --seed 1
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import random
import re
import socket
import threading
import time
from collections import deque
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = re.compile(r"\w+|[^\w\s]")
MODERATION_ERROR = (
    "The job failed due to an invalid training file. This training file was blocked by our "
    "moderation system because it contains too many examples that violate OpenAI's usage "
    "policies, or because it attempts to create model outputs that violate OpenAI's usage policies.")
REASONS = {"Yes": ("It is close enough to the limit.", "The difference is negligible.",
                   "That seems reasonable here."),
           "No": ("The policy is clear.", "The rule has to be followed.", "That is over the limit.")}
FAULTS = ("http_500", "timeout", "malformed", "drop")
FT_STEPS = ("validating_files", "queued", "running", "succeeded")

# A reply is (status, payload, extra headers); payload None means "hang up without answering".
Reply = tuple[int, "dict | bytes | None", dict]


def count_tokens(text: str) -> int:
    return len(TOKEN.findall(text))


def _text(content: Any) -> str:
    """Message content is a string or a list of parts; only text parts count."""
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content or ""


def _error(status: int, message: str, type_: str = "invalid_request_error",
           code: str | None = None, param: str | None = None) -> Reply:
    return status, {"error": {"message": message, "type": type_, "code": code, "param": param}}, {}


def _parse_multipart(content_type: str, body: bytes) -> dict[str, tuple[str | None, bytes]]:
    """Form fields of a multipart/form-data body: name -> (filename, bytes). The email
    parser reads this MIME format (and keeps binary bytes intact); cgi is deprecated."""
    message = BytesParser().parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    parts = message.get_payload() if message.is_multipart() else []
    return {str(p.get_param("name", header="content-disposition")): (p.get_filename(), p.get_payload(decode=True))
            for p in parts}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a thread stuck in a timeout fault must not delay close()
    request_queue_size = 128  # the default 5 makes a burst of new connections wait on SYN retries


class FakeOpenAI:
    """The server. Use `with FakeOpenAI() as server:` (or `.start()` ... `.close()`).

    latency: seconds slept before each chat answer. rpm: chat requests allowed per
    rolling minute (None: unlimited). fault_rate: chance that a chat request meets an
    injected fault, drawn from random.Random(seed); a timeout fault hangs fault_timeout
    seconds. batch_steps: GETs of a batch until it reports completed.
    """

    def __init__(self, api_key: str | None = None, yes_words: tuple[str, ...] = ("$10.01", "0.01 miles"),
                 *, port: int = 0, latency: float = 0.0, rpm: int | None = None,
                 fault_rate: float = 0.0, seed: int | None = None, fault_timeout: float = 3.0,
                 batch_steps: int = 2):
        self.api_key = api_key
        self.yes_words = yes_words
        self.latency = latency
        self.rpm = rpm
        self.fault_rate = fault_rate
        self.fault_timeout = fault_timeout
        self.batch_steps = batch_steps
        self.requests: list[dict] = []
        self.fail_next: list[int] = []  # HTTP status codes to return before answering
        self.logprobs = True  # False: behave like a server that ignores logprobs
        self.stats = dict.fromkeys(("requests", "completions", "rate_limited", "faults",
                                    "prompt_tokens", "completion_tokens"), 0)
        self.files: dict[str, dict] = {}
        self.batches: dict[str, dict] = {}
        self.jobs: dict[str, dict] = {}
        self._contents: dict[str, bytes] = {}
        self._admitted: deque[float] = deque()  # times of chat requests let through the rpm limit
        self._rng = random.Random(seed)
        self._ids = itertools.count(1)
        self._wording = itertools.count()
        self._lock = threading.RLock()
        self._server = _Server(("127.0.0.1", port), self._handler())
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------
    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAI:
        if self._thread is None:
            # A short poll interval keeps close() quick (the default waits up to 0.5 s).
            self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
            self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:  # shutdown() would wait forever if serve_forever never ran
            self._server.shutdown()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def completions(self) -> list[dict]:
        return [r for r in self.requests if r["path"].endswith("/chat/completions")]

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06d}"

    # -- chat completions ------------------------------------------------
    def decide(self, body: dict) -> str:
        prompt = " ".join(_text(m.get("content")) for m in body.get("messages", []))
        return "Yes" if any(w in prompt for w in self.yes_words) else "No"

    def respond(self, body: dict) -> dict:
        decision = self.decide(body)
        one_token = 1 in (body.get("max_tokens"), body.get("max_completion_tokens"))
        choices, texts = [], []
        for i in range(int(body.get("n") or 1)):
            # The wording varies from answer to answer, like a sampled reply; the decision never does.
            reasons = REASONS[decision]
            text = decision if one_token else f"{decision}. {reasons[next(self._wording) % len(reasons)]}"
            texts.append(text)
            choice = {"index": i, "message": {"role": "assistant", "content": text},
                      "finish_reason": "stop", "logprobs": None}
            if body.get("logprobs") and self.logprobs:
                top = [(decision, 0.8), ("Yes" if decision == "No" else "No", 0.15), ("I", 0.05)]
                top = top[: int(body.get("top_logprobs") or 1)]
                entries = [{"token": t, "logprob": math.log(p), "bytes": list(t.encode())} for t, p in top]
                choice["logprobs"] = {"content": [{**entries[0], "top_logprobs": entries}]}
            choices.append(choice)
        prompt = sum(count_tokens(_text(m.get("content"))) + 4 for m in body.get("messages", [])) + 3
        completion = sum(count_tokens(t) for t in texts)
        return {"id": self._new_id("chatcmpl-"), "object": "chat.completion",
                "created": int(time.time()), "model": body.get("model", ""), "choices": choices,
                "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                          "total_tokens": prompt + completion}}

    def _answer(self, body: dict) -> Reply:
        """The part of a chat completion shared by live requests and batch lines."""
        if body.get("model") == "missing-model":
            return _error(404, "The model does not exist", code="model_not_found", param="model")
        if not isinstance(body.get("messages"), list):
            return _error(400, "'messages' is a required property", param="messages")
        payload = self.respond(body)
        with self._lock:
            self.stats["completions"] += len(payload["choices"])
            self.stats["prompt_tokens"] += payload["usage"]["prompt_tokens"]
            self.stats["completion_tokens"] += payload["usage"]["completion_tokens"]
        return 200, payload, {}

    def _rate_limit_wait(self) -> float:
        """0 if a chat request may go ahead now, else seconds until it could.

        At most `rpm` requests in any rolling 60 s, and, so that a burst cannot use
        a whole minute's budget at once, at most ceil(rpm/60) in any rolling 1 s."""
        if not self.rpm:
            return 0.0
        now = time.monotonic()
        with self._lock:
            while self._admitted and self._admitted[0] <= now - 60:
                self._admitted.popleft()
            wait = 0.0
            for limit, window in ((self.rpm, 60.0), (math.ceil(self.rpm / 60), 1.0)):
                recent = [t for t in self._admitted if t > now - window]
                if len(recent) >= limit:
                    wait = max(wait, recent[-limit] + window - now)
            if wait <= 0:
                self._admitted.append(now)
            return max(wait, 0.01) if wait > 0 else 0.0

    def _chat(self, body: dict) -> Reply:
        wait = self._rate_limit_wait()
        if wait > 0:  # the SDK honours retry-after-ms first, then Retry-After
            with self._lock:
                self.stats["rate_limited"] += 1
            status, payload, _ = _error(429, "Rate limit reached", type_="requests", code="rate_limit_exceeded")
            return status, payload, {"Retry-After": f"{wait:.2f}", "retry-after-ms": f"{wait * 1000:.0f}"}
        with self._lock:
            fault = self._rng.choice(FAULTS) if self._rng.random() < self.fault_rate else None
            self.stats["faults"] += fault is not None
        if fault == "http_500":
            return _error(500, "The server had an error while processing your request (injected).",
                          type_="server_error")
        if fault in ("timeout", "drop"):  # a timeout is a hang-up after a long silence
            time.sleep(self.fault_timeout if fault == "timeout" else 0)
            return 0, None, {}
        if fault == "malformed":
            return 200, b'{"id": "x", "choices": [', {"Content-Type": "application/json"}
        time.sleep(self.latency)
        return self._answer(body)

    # -- files -------------------------------------------------------------
    def add_file(self, content: bytes, filename: str, purpose: str) -> dict:
        with self._lock:
            file = {"id": self._new_id("file-"), "object": "file", "bytes": len(content),
                    "created_at": int(time.time()), "filename": filename, "purpose": purpose,
                    "status": "processed", "status_details": None}
            self.files[file["id"]] = file
            self._contents[file["id"]] = content
        return file

    def _upload(self, form: dict) -> Reply:
        if "file" not in form or "purpose" not in form:
            return _error(400, "'file' and 'purpose' are required multipart fields", param="file")
        filename, content = form["file"]
        return 200, self.add_file(content, filename or "upload", form["purpose"][1].decode()), {}

    def _delete_file(self, file: dict) -> Reply:
        del self.files[file["id"]], self._contents[file["id"]]
        return 200, {"id": file["id"], "object": "file", "deleted": True}, {}

    # -- batches -------------------------------------------------------------
    def _create_batch(self, body: dict) -> Reply:
        if body.get("input_file_id") not in self.files:
            return _error(400, f"Invalid input_file_id: {body.get('input_file_id')}", param="input_file_id")
        if body.get("endpoint") != "/v1/chat/completions":
            return _error(400, "Only /v1/chat/completions is supported", param="endpoint")
        if body.get("completion_window") != "24h":
            return _error(400, "completion_window must be '24h'", param="completion_window")
        now = int(time.time())
        batch = {"id": self._new_id("batch_"), "object": "batch", "endpoint": body["endpoint"],
                 "errors": None, "input_file_id": body["input_file_id"], "completion_window": "24h",
                 "status": "validating", "output_file_id": None, "error_file_id": None,
                 "created_at": now, "in_progress_at": None, "expires_at": now + 86400,
                 "finalizing_at": None, "completed_at": None, "failed_at": None, "expired_at": None,
                 "cancelling_at": None, "cancelled_at": None,
                 "request_counts": {"total": 0, "completed": 0, "failed": 0},
                 "metadata": body.get("metadata"), "_polls": 0}
        with self._lock:
            self.batches[batch["id"]] = batch
        return 200, batch, {}

    def _poll_batch(self, batch: dict) -> Reply:
        """Each GET moves a batch one step on: `batch_steps` GETs complete it."""
        now = int(time.time())
        if batch["status"] == "cancelling":
            batch.update(status="cancelled", cancelled_at=now)
        if batch["status"] not in ("validating", "in_progress"):
            return 200, batch, {}
        batch["_polls"] += 1
        if batch["_polls"] < self.batch_steps:
            batch.update(status="in_progress", in_progress_at=batch["in_progress_at"] or now)
            return 200, batch, {}
        outputs, errors = [], []
        lines = self._contents[batch["input_file_id"]].decode().splitlines()
        for line in filter(str.strip, lines):
            try:
                request = json.loads(line)
                status, payload, _ = self._answer(request["body"])
            except (ValueError, KeyError, TypeError, AttributeError):
                request, status, payload = {}, 400, _error(400, "Malformed batch line")[1]
            result = {"id": self._new_id("batch_req_"), "custom_id": request.get("custom_id"),
                      "response": {"status_code": status, "request_id": self._new_id("req_"), "body": payload},
                      "error": None if status == 200 else payload["error"]}
            (outputs if status == 200 else errors).append(json.dumps(result))
        for key, results in (("output_file_id", outputs), ("error_file_id", errors)):
            if results:  # like OpenAI, no file when there is nothing to put in it
                content = "".join(r + "\n" for r in results).encode()
                batch[key] = self.add_file(content, f"{batch['id']}_{key[:-8]}.jsonl", "batch_output")["id"]
        batch.update(status="completed", in_progress_at=batch["in_progress_at"] or now, finalizing_at=now,
                     completed_at=now, request_counts={"total": len(outputs) + len(errors),
                                                       "completed": len(outputs), "failed": len(errors)})
        return 200, batch, {}

    def _cancel_batch(self, batch: dict) -> Reply:
        if batch["status"] not in ("validating", "in_progress"):
            return _error(400, f"Cannot cancel a batch with status {batch['status']}")
        batch.update(status="cancelling", cancelling_at=int(time.time()))
        return 200, batch, {}

    # -- fine-tuning -------------------------------------------------------
    def _create_job(self, body: dict) -> Reply:
        if body.get("training_file") not in self.files:
            return _error(400, f"invalid training_file: {body.get('training_file')}", param="training_file")
        if not body.get("model"):
            return _error(400, "'model' is a required property", param="model")
        hyper = {"n_epochs": "auto", "batch_size": "auto", "learning_rate_multiplier": "auto",
                 **(body.get("hyperparameters") or {})}
        job = {"id": self._new_id("ftjob-"), "object": "fine_tuning.job", "model": body["model"],
               "created_at": int(time.time()), "finished_at": None, "fine_tuned_model": None,
               "organization_id": "org-test", "result_files": [], "status": "validating_files",
               "validation_file": body.get("validation_file"), "training_file": body["training_file"],
               "hyperparameters": hyper, "trained_tokens": None, "error": None,
               "seed": body.get("seed", 0), "suffix": body.get("suffix"), "estimated_finish": None,
               "integrations": None, "_events": []}
        with self._lock:
            self.jobs[job["id"]] = job
        self._job_event(job, f"Created fine-tuning job: {job['id']}")
        return 200, job, {}

    def _job_event(self, job: dict, message: str, level: str = "info") -> None:
        job["_events"].append({"id": self._new_id("ftevent-"), "object": "fine_tuning.job.event",
                               "created_at": int(time.time()), "level": level, "message": message,
                               "data": {}, "type": "message"})

    def _poll_job(self, job: dict) -> Reply:
        """Each GET moves a job one step along FT_STEPS; a REJECT_ME file fails validation."""
        if job["status"] not in FT_STEPS[:-1]:
            return 200, job, {}
        content = self._contents.get(job["training_file"], b"")
        if job["status"] == "validating_files" and b"REJECT_ME" in content:
            job.update(status="failed", finished_at=int(time.time()),
                       error={"code": "invalid_training_file", "message": MODERATION_ERROR,
                              "param": "training_file"})
            self._job_event(job, MODERATION_ERROR, "error")
            return 200, job, {}
        job["status"] = FT_STEPS[FT_STEPS.index(job["status"]) + 1]
        if job["status"] == "succeeded":
            epochs = job["hyperparameters"]["n_epochs"]
            short = job["id"].removeprefix("ftjob-")
            job.update(finished_at=int(time.time()),
                       fine_tuned_model=f"ft:{job['model']}:test-org:{job['suffix'] or 'custom'}:{short}",
                       trained_tokens=count_tokens(content.decode("utf-8", "replace"))
                       * (epochs if isinstance(epochs, int) else 3))
        self._job_event(job, {"queued": "Files validated, job queued", "running": "Fine-tuning job started",
                              "succeeded": "The job has successfully completed"}[job["status"]])
        return 200, job, {}

    def _cancel_job(self, job: dict) -> Reply:
        if job["status"] not in FT_STEPS[:-1]:
            return _error(400, f"Job has already {job['status']}")
        job.update(status="cancelled", finished_at=int(time.time()))
        self._job_event(job, "Fine-tuning job cancelled")
        return 200, job, {}

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
                names = ["gpt-4o-mini", "gpt-4o", *(j["fine_tuned_model"] for j in self.jobs.values()
                                                   if j["fine_tuned_model"])]
                return 200, {"object": "list", "data": [{"id": n, "object": "model", "created": 0,
                                                         "owned_by": "test-org"} for n in names]}, {}
            if method == "POST" and len(parts) == 1 and parts[0] in stores:
                return {"files": self._upload, "batches": self._create_batch, "jobs": self._create_job}[parts[0]](body)
            if len(parts) in (2, 3) and parts[0] in stores:
                obj = stores[parts[0]].get(parts[1])
                if obj is None:
                    return _error(404, f"No such {parts[0][:-1]}: {parts[1]}", param="id")
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
        return _error(404, f"Unknown path: {method} {path}")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def handle(self) -> None:
                try:
                    super().handle()
                except ConnectionError:  # the client hung up (e.g. it gave up waiting): not our error
                    pass

            def _send(self, status: int, payload: dict | bytes | None, headers: dict) -> None:
                if payload is None:  # an injected fault: hang up without a word
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                # Objects keep private "_" bookkeeping that clients must not see.
                data = payload if isinstance(payload, bytes) else json.dumps(
                    {k: v for k, v in payload.items() if not k.startswith("_")}).encode()
                self.send_response(status)
                headers = {"Content-Type": "application/json", **headers}
                for key, value in {**headers, "Content-Length": str(len(data))}.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _serve(self) -> None:
                url = urlsplit(self.path)
                # The body is always read first, so an early error leaves the stream clean.
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if url.path.rstrip("/") in ("/stats", "/v1/stats"):  # observing is not a request
                    with fake._lock:
                        return self._send(200, dict(fake.stats), {})
                ctype = self.headers.get("Content-Type", "")
                if ctype.startswith("multipart/form-data"):
                    body: Any = _parse_multipart(ctype, raw)
                    recorded = {k: v[1].decode() if v[0] is None else {"filename": v[0], "bytes": len(v[1])}
                                for k, v in body.items()}
                else:
                    try:
                        body = recorded = json.loads(raw or b"{}")
                    except ValueError:
                        body = None
                    if not isinstance(body, dict):
                        return self._send(*_error(400, "We could not parse the JSON body of your request."))
                with fake._lock:
                    fake.requests.append({"method": self.command, "path": self.path, "body": recorded,
                                          "at": time.monotonic(), "headers": {k.lower(): v for k, v in self.headers.items()}})
                    fake.stats["requests"] += 1
                    failure = fake.fail_next.pop(0) if fake.fail_next else None
                auth = self.headers.get("Authorization", "")
                if fake.api_key is not None and auth != f"Bearer {fake.api_key}":
                    return self._send(*_error(401, "Incorrect API key provided", code="invalid_api_key"))
                if failure:
                    return self._send(*_error(failure, f"injected {failure}", type_="server_error"))
                if not url.path.startswith("/v1/"):
                    return self._send(*_error(404, f"Unknown path: {url.path}"))
                self._send(*fake._route(self.command, url.path, parse_qs(url.query), body))

            do_GET = do_POST = do_DELETE = _serve

        return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m helpers.testing.server", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0, help="0 (default): any free port")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to each chat completion")
    parser.add_argument("--rpm", type=int, default=None, help="chat-completion requests allowed per minute")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="probability of an injected fault")
    parser.add_argument("--fault-timeout", type=float, default=3.0, help="seconds a timeout fault hangs")
    parser.add_argument("--seed", type=int, default=None, help="seed for the fault draws")
    parser.add_argument("--api-key", default=None, help="require this bearer token")
    args = parser.parse_args(argv)
    server = FakeOpenAI(api_key=args.api_key, port=args.port, latency=args.latency, rpm=args.rpm,
                        fault_rate=args.fault_rate, fault_timeout=args.fault_timeout, seed=args.seed)
    print(f"serving on {server.base_url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server._server.serve_forever()
    server.close()


if __name__ == "__main__":
    main()
