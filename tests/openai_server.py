"""A real HTTP server on 127.0.0.1 that speaks OpenAI's chat-completions protocol.

It stands in for OpenAI (which cannot be reached from here) at the HTTP
boundary: the workspace's own code runs unchanged through the openai SDK.
Answers are chosen by a rule a test can read: "Yes" when the prompt mentions
one of `yes_words`, otherwise "No". Every request is recorded, and a test can
queue failures (`fail_next`) to see how faults are handled.
"""

from __future__ import annotations

import json
import math
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeOpenAI:
    def __init__(self, api_key: str | None = None, yes_words: tuple[str, ...] = ("$10.01", "0.01 miles")):
        self.api_key = api_key
        self.yes_words = yes_words
        self.requests: list[dict] = []
        self.fail_next: list[int] = []  # HTTP status codes to return before answering
        self.logprobs = True  # False: behave like a server that ignores logprobs
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def completions(self) -> list[dict]:
        return [r for r in self.requests if r["path"].endswith("/chat/completions")]

    # -- protocol ---------------------------------------------------------
    def decide(self, body: dict) -> str:
        prompt = " ".join(m.get("content", "") for m in body.get("messages", []))
        return "Yes" if any(w in prompt for w in self.yes_words) else "No"

    def respond(self, body: dict) -> dict:
        decision = self.decide(body)
        text = f"{decision}. " + ("It is close enough to the limit." if decision == "Yes"
                                  else "The policy is clear.")
        if body.get("max_tokens") == 1:
            text = decision
        choices = []
        for i in range(int(body.get("n") or 1)):
            choice = {"index": i, "message": {"role": "assistant", "content": text},
                      "finish_reason": "stop", "logprobs": None}
            if body.get("logprobs") and self.logprobs:
                p_main = 0.8
                top = [(decision, p_main), ("Yes" if decision == "No" else "No", 0.15), ("I", 0.05)]
                top = top[: int(body.get("top_logprobs") or 1)]
                entries = [{"token": t, "logprob": math.log(p), "bytes": list(t.encode())} for t, p in top]
                choice["logprobs"] = {"content": [{**entries[0], "top_logprobs": entries}]}
            choices.append(choice)
        words = sum(len(m.get("content", "").split()) for m in body.get("messages", []))
        return {"id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion",
                "created": int(time.time()), "model": body.get("model", ""), "choices": choices,
                "usage": {"prompt_tokens": words, "completion_tokens": len(text.split()),
                          "total_tokens": words + len(text.split())}}

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with fake._lock:
                    fake.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                    failure = fake.fail_next.pop(0) if fake.fail_next else None
                auth = self.headers.get("Authorization", "")
                if fake.api_key is not None and auth != f"Bearer {fake.api_key}":
                    return self._send(401, {"error": {"message": "Incorrect API key provided",
                                                      "type": "invalid_request_error", "code": "invalid_api_key"}})
                if failure:
                    return self._send(failure, {"error": {"message": f"injected {failure}", "type": "server_error"}})
                if not self.path.endswith("/chat/completions"):
                    return self._send(404, {"error": {"message": "unknown path", "type": "invalid_request_error"}})
                if body.get("model") == "missing-model":
                    return self._send(404, {"error": {"message": "The model does not exist",
                                                      "type": "invalid_request_error", "code": "model_not_found"}})
                self._send(200, fake.respond(body))

        return Handler
