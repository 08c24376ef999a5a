"""Benchmark: how many requests per minute one client sustains against a server that
answers at once, as a vLLM or SGLang cluster would, and what each request costs
the client in CPU.

The test server (helpers.testing.server) runs in a process of its own, as vLLM
would, on the same 2 cores as the client; so the figures keep the two apart:

1. the server alone: a bare asyncio HTTP/1.1 client (keep-alive, a few lines, no
   SDK) drives it as hard as it goes: the server's ceiling on this machine.
2. the openai SDK alone, no engine: `chat.completions.create` (what most clients
   call), and the SDK's generic `post` (what the engine sends).
3. the engine: experiment.run in sample mode with max_n=1 (one answer per request,
   so requests = answers), every answer written to the cache as it arrives; at
   --concurrency C, adaptive (no --concurrency), and adaptive against a server that
   takes LATENCY seconds per answer however many it is given (a GPU server
   batching them), where only keeping many in flight is fast; and with n=8 (the
   CLI's default: up to 8 answers of one prompt per request), in answers per minute.

For each: requests per minute (wall clock), answers stored / wanted, and CPU
milliseconds per request of the client process and of the server process (from
/proc). 60,000 / (client ms per request) is the client's ceiling on one core,
whatever else runs on the machine. Target: the engine sustains at least 5,000
requests per minute.

Prints a table; asserts nothing. Run with `make bench` or
`.venv/bin/python bench/bench_client.py [--requests N] [--concurrency C]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

workdir = Path(tempfile.mkdtemp(prefix="bench-client-"))
os.environ["EXCEPTIONS_CACHE"] = str(workdir / "cache")

from helpers.exceptions import experiment, scenarios  # noqa: E402
from helpers.llm.engine import Limits  # noqa: E402

MODEL = "served-model"  # outside the test server's catalogue: answered as vLLM would, without OpenAI's checks
LATENCY = 0.5  # seconds per answer in the last row
# A request of the study's size (a bucket's prompt is about 60 tokens of system and user text).
BODY = {"model": MODEL, "messages": [{"role": "system", "content": "You are a customer service agent. " * 6},
                                     {"role": "user", "content": "A customer asks for a refund. " * 8}],
        "max_tokens": 48, "temperature": 1.0, "seed": 1}


class Server:
    """helpers.testing.server in a child process: `base_url`, `cpu()` seconds so far, `stats()`."""

    def __init__(self, latency: float = 0.0):
        self.latency = latency

    def __enter__(self) -> Server:
        # -W ignore: helpers.testing imports the server module before runpy runs it, which is harmless.
        self.proc = subprocess.Popen([sys.executable, "-W", "ignore", "-m", "helpers.testing.server", "--port", "0",
                                      "--latency", str(self.latency)], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()  # "serving on http://127.0.0.1:PORT/v1"
        if not line.startswith("serving on "):
            raise RuntimeError(f"the test server did not start: {line!r}")
        self.base_url = line.split()[-1]
        return self

    def cpu(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    def stats(self) -> dict:
        with urllib.request.urlopen(f"{self.base_url}/stats") as reply:
            return json.load(reply)

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Measure:
    name: str
    requests: int
    answers: int
    seconds: float
    client_cpu: float
    server_cpu: float
    stored: str
    in_flight: int

    def row(self) -> str:
        total = self.client_cpu + self.server_cpu
        return (f"{self.name:<46} {self.requests:>6} {self.requests / self.seconds * 60:>8,.0f} "
                f"{self.answers / self.seconds * 60:>8,.0f} {self.stored:>11} {self.in_flight:>5} "
                f"{self.client_cpu / self.requests * 1000:>7.2f} {self.server_cpu / self.requests * 1000:>7.2f} "
                f"{self.server_cpu / total if total else 0:>6.0%}")


def measured(name: str, run: Callable[[str], str], latency: float = 0.0) -> Measure:
    """Run `run(base_url)` (it returns "stored/wanted", or "") against a fresh server."""
    with Server(latency) as server:
        cpu0, server0, start = own_cpu(), server.cpu(), time.perf_counter()
        stored = run(server.base_url)
        seconds = time.perf_counter() - start
        cpu, server_cpu = own_cpu() - cpu0, server.cpu() - server0
        stats = server.stats()
    return Measure(name, stats["requests"], stats["completions"], seconds, cpu, server_cpu, stored,
                   stats["most_in_flight"])


# -- 1. the server alone --------------------------------------------------------
async def _bare(base_url: str, requests: int, concurrency: int) -> None:
    host, port = base_url.split("//")[1].split("/")[0].split(":")
    payload = json.dumps(BODY).encode()
    message = (f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
               f"Authorization: Bearer unused\r\nContent-Length: {len(payload)}\r\n\r\n").encode() + payload
    left = [requests]

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        while left[0] > 0:
            left[0] -= 1
            writer.write(message)
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            json.loads(await reader.readexactly(length))
        writer.close()

    await asyncio.gather(*(connection() for _ in range(concurrency)))


def bare(requests: int, concurrency: int) -> Callable[[str], str]:
    return lambda url: asyncio.run(_bare(url, requests, concurrency)) or ""


# -- 2. the openai SDK alone ------------------------------------------------------
async def _sdk(base_url: str, requests: int, concurrency: int, generic: bool) -> None:
    import openai

    from helpers.llm.openai_backend import _http_library, _pool

    client = openai.AsyncOpenAI(api_key="unused", base_url=base_url, max_retries=0, http_client=_pool(openai))
    response = _http_library(openai).Response
    left = [requests]

    async def worker() -> None:
        while left[0] > 0:
            left[0] -= 1
            if generic:
                raw = await client.post("/chat/completions", cast_to=response, body=BODY,
                                        options={"headers": {"Authorization": "Bearer unused"}})
            else:
                raw = await client.chat.completions.with_raw_response.create(**BODY)
            json.loads(raw.text)

    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    finally:
        await client.close()


def sdk(requests: int, concurrency: int, generic: bool) -> Callable[[str], str]:
    return lambda url: asyncio.run(_sdk(url, requests, concurrency, generic)) or ""


# -- 3. the engine ---------------------------------------------------------------
def engine(answers: int, concurrency: int | None, max_n: int = 1) -> Callable[[str], str]:
    chosen = scenarios.load_scenarios()

    def go(url: str) -> str:
        os.environ["EXCEPTIONS_CACHE"] = tempfile.mkdtemp(dir=workdir)  # an empty cache for each run
        config = experiment.RunConfig(models=(f"openai/{MODEL}",), mode="sample", control=False,
                                      samples=max(1, answers // 60), base_url=url)
        result = experiment.run(config, chosen, limits=Limits(max_n=max_n, concurrency=concurrency))
        return f"{int((result.responses['status'] == 'ok').sum())}/{len(result.responses)}"

    return go


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=6000, help="per measurement; a multiple of 60")
    parser.add_argument("--concurrency", type=int, default=128)
    args = parser.parse_args()
    n, c = args.requests, args.concurrency
    measured("warm-up", engine(120, 8))  # imports, token tables, the SDK: paid once per process, not per request
    rows = [
        measured("server alone (bare HTTP/1.1 client)", bare(n, c)),
        measured("openai SDK: chat.completions.create", sdk(n, c, generic=False)),
        measured("openai SDK: client.post (the engine's call)", sdk(n, c, generic=True)),
        measured(f"engine, --concurrency {c}", engine(n, c)),
        measured("engine, adaptive (no --concurrency)", engine(n, None)),
        measured(f"engine, adaptive, server {LATENCY:g} s per answer", engine(n, None), latency=LATENCY),
        measured("engine, adaptive, n=8 (the CLI's default)", engine(n, None, max_n=Limits().max_n)),
    ]
    print(f"client and server share {os.cpu_count()} cores (other jobs may too: compare CPU ms, not only "
          f"wall time); {c} in flight where fixed; max_n=1 (requests = answers) but in the last row")
    print(f"{'':<46} {'reqs':>6} {'req/min':>8} {'ans/min':>8} {'stored':>11} {'most':>5} {'client':>7} "
          f"{'server':>7} {'server':>6}")
    print(f"{'':<46} {'':>6} {'(wall)':>8} {'(wall)':>8} {'/wanted':>11} {'in':>5} {'ms/req':>7} {'ms/req':>7} "
          f"{'share':>6}")
    for row in rows:
        print(row.row())
    engine_row = rows[3]
    per_request = engine_row.client_cpu / engine_row.requests
    print(f"engine's client ceiling on one core: {60 / per_request:,.0f} requests per minute "
          f"(60 s / {per_request * 1000:.2f} ms of CPU per request; target >= 5,000)")
    print("most in: the most requests the server was answering at once (with no latency it answers each as "
          "it arrives, so few); ms/req: CPU (user + system) per request of each process; share: the server's "
          "part of the CPU both used")


if __name__ == "__main__":
    main()
