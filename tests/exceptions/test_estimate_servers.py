"""Estimates against self-hosted OpenAI-compatible servers: prompt tokens from the
server's own tokenizer where it offers one (vLLM, llama.cpp, llama-cpp-python
routes), calibrated on what it recorded, time from measured seconds, and a
server that is down or hangs still gives an estimate, quickly, with notes.

The servers are small real HTTP servers on 127.0.0.1 (the stdlib's), one request
at a time like a one-slot llama.cpp, with a toy tokenizer unlike tiktoken: a
special token is one token, other text one token per two letters or digits
and per punctuation mark; the chat template is SmolLM2's (ChatML with a default
system message).
"""

from __future__ import annotations

import json
import math
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from helpers.llm.served import PROBE_TIMEOUT

from helpers.exceptions import experiment, scenarios
from helpers.llm import Limits

TOY = re.compile(r"<\|[a-z_]+\|>|\w{1,2}|[^\w\s]")


def toy_tokens(text: str) -> int:
    return len(TOY.findall(text))


DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"


def chatml(messages: list[dict]) -> str:
    """SmolLM2's template: ChatML, with a default system message when there is none."""
    if messages[0]["role"] != "system":
        messages = [{"role": "system", "content": DEFAULT_SYSTEM}, *messages]
    return "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages) + \
        "<|im_start|>assistant\n"


class ToyServer:
    """flavour: which tokenizer routes it offers ("vllm", "llama.cpp", "llama-cpp-python", "none").
    latency: seconds per chat completion, answered one at a time."""

    def __init__(self, flavour: str, latency: float = 0.0, api_key: str | None = None):
        self.flavour, self.latency, self.api_key = flavour, latency, api_key
        self.requests: list[tuple[str, dict, dict]] = []  # (path, body, headers)
        self.billed = 0  # prompt tokens of the chat completions served
        self._slot = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                server.requests.append((self.path, body, {k.lower(): v for k, v in self.headers.items()}))
                if server.api_key and self.headers.get("Authorization") != f"Bearer {server.api_key}":
                    status, payload = 401, {"error": "Invalid API key"}
                else:
                    status, payload = server.route(self.path, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> ToyServer:
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def hits(self, path: str) -> int:
        return sum(1 for p, _, _ in self.requests if p == path)

    def route(self, path: str, body: dict) -> tuple[int, dict]:
        flavour = self.flavour
        if path == "/v1/chat/completions":
            return 200, self.chat(body)
        if flavour == "vllm" and path == "/tokenize" and "messages" in body:
            count = toy_tokens(chatml(body["messages"]))
            return 200, {"count": count, "max_model_len": 8192, "tokens": list(range(count))}
        if flavour == "llama.cpp" and path == "/apply-template":
            return 200, {"prompt": chatml(body["messages"])}
        if flavour == "llama.cpp" and path == "/tokenize":  # llama.cpp answers [] without "content"
            return 200, {"tokens": list(range(toy_tokens(body.get("content", ""))))}
        if flavour == "llama-cpp-python" and path == "/extras/tokenize":
            return 200, {"tokens": list(range(toy_tokens(body["input"])))}
        return 404, {"detail": "Not Found"}

    def chat(self, body: dict) -> dict:
        with self._slot:  # one request at a time, like a one-slot server
            time.sleep(self.latency)
            prompt = toy_tokens(chatml(body["messages"]))
            self.billed += prompt
        n = int(body.get("n") or 1)
        top = [{"token": "No", "logprob": math.log(0.9)}, {"token": "Yes", "logprob": math.log(0.1)}]
        choice = {"message": {"role": "assistant", "content": "No. The rule is clear."}, "finish_reason": "stop",
                  "logprobs": {"content": [{"token": "No", "logprob": math.log(0.9), "top_logprobs": top}]}}
        return {"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                "choices": [{**choice, "index": i} for i in range(n)],
                "usage": {"prompt_tokens": prompt, "completion_tokens": 6 * n, "total_tokens": prompt + 6 * n}}


@pytest.fixture
def every(repo):
    return scenarios.load_scenarios(repo / "scenarios.toml")


def config(server_url: str, **options) -> experiment.RunConfig:
    # Levels 1..6 (no control): the counts below are of sixty prompts.
    return experiment.RunConfig(models=("openai/toy",), base_url=server_url, control=False, **options)


def billed_by_a_run(server: ToyServer, cfg, chosen, **options) -> int:
    before = server.billed
    experiment.run(cfg, chosen, **options)
    return server.billed - before


def test_vllm_counts_with_its_template_exactly(every, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-for-the-test")
    with ToyServer("vllm") as server:
        cfg = config(server.base_url, mode="exact")
        guess = experiment.estimate(cfg, every)
        assert server.hits("/v1/chat/completions") == 0, "an estimate makes no calls"
        tokenize = [(b, h) for p, b, h in server.requests if p == "/tokenize"]
        assert len(tokenize) == guess.calls == 60, "one count per prompt, the probe being the first"
        assert all(h["authorization"] == "Bearer sk-secret-for-the-test" for _, h in tokenize)
        assert all(b["model"] == "toy" for b, _ in tokenize)
        assert guess.prompt_tokens == billed_by_a_run(server, cfg, every)
    notes = "\n".join(guess.notes)
    assert "counted with the server's tokenizer and chat template (vLLM /tokenize)" in notes
    assert "approximate" not in notes and "sk-secret" not in notes


def test_llama_cpp_renders_the_template_then_tokenizes(every):
    with ToyServer("llama.cpp") as server:
        cfg = config(server.base_url, mode="sample", samples=2, levels=(1, 2))
        guess = experiment.estimate(cfg, every)
        assert server.hits("/apply-template") == guess.calls == 20
        assert guess.prompt_tokens == billed_by_a_run(server, cfg, every)
    assert any("llama.cpp /apply-template, then /tokenize" in n for n in guess.notes)


def test_text_only_tokenizer_is_approximate_until_cached_answers_calibrate_it(every):
    with ToyServer("llama-cpp-python") as server:
        cfg = config(server.base_url, mode="exact")
        first = experiment.estimate(cfg, every)
        note = next(n for n in first.notes if n.startswith("prompt tokens"))
        assert "llama-cpp-python /extras/tokenize" in note and "approximate, expect up to 25% too few" in note
        assert server.hits("/tokenize") == 1 and server.hits("/apply-template") == 1, "probed once"
        # The template's default system message is not in the assumed framing: too few.
        billed = billed_by_a_run(server, cfg, every[:2])
        assert 0.6 < first.prompt_tokens / (billed * len(every) / 2) < 0.9
        # Twelve answers cached: the prompt tokens the server recorded for them say what the
        # template adds beyond the framing assumed (5 a message, 3 for the reply).
        second = experiment.estimate(cfg, every)
        one = [{"role": "user", "content": "x"}]
        lacking = toy_tokens(chatml(one)) - (toy_tokens("x") + 5 + 3)
        note = next(n for n in second.notes if n.startswith("prompt tokens"))
        assert f"corrected by +{lacking} tokens a prompt" in note and "over 12 cached requests" in note
        assert "approximate" not in note
        assert second.prompt_tokens == pytest.approx(billed_by_a_run(server, cfg, every), rel=0.02)


def test_no_tokenizer_falls_back_to_tiktoken_and_says_so(every):
    with ToyServer("none") as server:
        guess = experiment.estimate(config(server.base_url, mode="exact"), every)
    note = next(n for n in guess.notes if n.startswith("prompt tokens"))
    assert "tiktoken o200k_base, not the server's tokenizer" in note and "offers no tokenizer route" in note
    assert "expect ±40%" in note


def test_a_refused_key_is_said_without_the_key(every, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-key")
    with ToyServer("vllm", api_key="sk-right-key") as server:
        guess = experiment.estimate(config(server.base_url, mode="exact"), every)
    note = next(n for n in guess.notes if n.startswith("prompt tokens"))
    assert "refused its tokenizer routes (HTTP 401; check OPENAI_API_KEY)" in note and "tiktoken" in note
    assert "sk-" not in "\n".join(guess.notes)


def test_a_server_that_is_down_or_hangs_still_gets_an_estimate_quickly(every):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # nobody listens here once it is closed
    started = time.monotonic()
    guess = experiment.estimate(config(f"http://127.0.0.1:{port}/v1", mode="exact"), every)
    assert time.monotonic() - started < 2.0
    assert guess.calls == 60 and guess.prompt_tokens > 0
    assert any("did not answer (ConnectError)" in n and "expect ±40%" in n for n in guess.notes)
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        started = time.monotonic()
        guess = experiment.estimate(config(f"http://127.0.0.1:{silent.getsockname()[1]}/v1", mode="exact"), every)
        # One tokenizer probe times out (2 s), then no more are tried; the served-model
        # check waits its PROBE_TIMEOUT once too.
        assert time.monotonic() - started < 3.0 + PROBE_TIMEOUT, "one probe of each kind, then no more"
    assert any("did not answer (ReadTimeout)" in n for n in guess.notes)


def test_time_comes_from_measured_seconds_one_request_at_a_time(every):
    with ToyServer("vllm", latency=0.1) as server:
        cfg = config(server.base_url, mode="exact")
        guess = experiment.estimate(cfg, every)
        assert guess.seconds == pytest.approx(60 * 1.0), "a guess: 1 s per request, one at a time"
        assert any("is a guess" in n for n in guess.notes)
        # Six requests at once (the default concurrency) to a one-slot server: they queue.
        experiment.run(cfg, every[:1])
        guess = experiment.estimate(cfg, every)
        assert guess.calls == 54
        assert guess.seconds == pytest.approx(54 * 0.1, rel=0.3), "the pace the server kept, not the queue"
        assert any("requests overlapped" in n for n in guess.notes)
        # One at a time: the median latency is the time of an answer.
        experiment.run(cfg, every[1:2], limits=Limits(concurrency=1))
        guess = experiment.estimate(cfg, every)
        assert guess.seconds == pytest.approx(48 * 0.1, rel=0.3)
        # --concurrency given: the server is assumed to answer that many at once.
        faster = experiment.estimate(cfg, every, Limits(concurrency=4))
        assert faster.seconds < guess.seconds
        assert any("4 requests at a time (--concurrency)" in n for n in faster.notes)
