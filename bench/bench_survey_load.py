"""Benchmark: how many participants the survey server holds at once on this machine.

Each run starts the real server (`python -m helpers survey serve`, this checkout's
code) in a subprocess with a fresh SQLite file, optionally under an open-files
limit set before it starts (`ulimit -n`), and drives N participants through the
whole study at once, or arriving evenly over S seconds: the study link with
Prolific's three parameters, consent, every scenario (a Yes/No and an
explanation), the attention checks (answered correctly), the games when asked
for (--games), the completion page. The participants are protocol-level clients
(survey_load_client.py: one HTTP session each, forms read from the pages, no
JavaScript); --browsers K adds K participants in Debian's Chromium at the same
time (survey_load_browsers.py), as a check that the protocol figures are what a page
in a browser sees.

By default a participant clicks on as soon as a page has loaded (--think 0): the
heaviest load N people can make, far beyond a room of people reading and typing
(the paper's participants took about a minute per question). --think S waits
about S seconds on each page.

Per run: participants finished / started; answers the server acknowledged vs
answers in the database, compared answer by answer after the server has stopped
(a difference prints FAIL and the bench exits 1); per-request latency (median,
p95) of submits (POST until its redirect), page loads (GET), and click to next
page (the two together); errors by kind; the server's peak resident memory and
open descriptors (sampled every 0.1 s); its open-files limit; the CPU seconds of
the server, of this client and of the whole machine, and the 1-minute load
average before and after (other work on the machine makes every figure noisy).

Default (`make bench`), under `ulimit -n 1024`: 50, 200 and 400 at once; 200 at
once again with 3 Chromium participants beside them (Chromium's own CPU on the
same cores slows the server: a separate row, so the target is judged without it);
and 200 arriving evenly over 60 s, each spending about 5 s on a page (the quality
rules' fastest plausible answer: a room filling up, not a stampede; with no pause
every participant is done in well under a second and the ramp measures nothing).

    .venv/bin/python bench/bench_survey_load.py --at-once 200 --ulimit 1024 --browsers 3
    .venv/bin/python bench/bench_survey_load.py --arrivals 200 --over 60 --json results.json

Target (issue 17): 200 at once with every answer stored, p95 submit under 1 s and
no failure from file-descriptor limits under `ulimit -n 1024`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from survey_load_client import Outcome, Timings, crowd  # noqa: E402
from survey_load_server import (REPO, Sampler, ServerRefused, SurveyServer, compare, stored,  # noqa: E402
                           write_study)

sys.path.insert(0, str(REPO / "src"))

from helpers.survey.settings import load_settings  # noqa: E402

TARGET_P95 = 1.0  # seconds, submit, 200 at once
FD_SIGNS = ("Too many open files", "EMFILE")


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..1); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def spread(values: list[float]) -> dict:
    return {"n": len(values), "median": percentile(values, 0.5), "p95": percentile(values, 0.95),
            "max": max(values) if values else None}


def busy_seconds() -> float:
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0) + getattr(t, "softirq", 0) + getattr(t, "steal", 0)


async def drive(base: str, count: int, over: float, checks: dict[str, str], completion: str | None, think: float,
                browsers: int, seed: int) -> tuple[list[Outcome], Timings, list[Outcome], list[float]]:
    timings = Timings()
    if not browsers:
        outcomes, _ = await crowd(base, count, over=over, checks=checks, completion=completion, think=think,
                                  seed=seed, timings=timings)
        return outcomes, timings, [], []
    from playwright.async_api import async_playwright

    from survey_load_browsers import browser_participant, launch

    step_times: list[float] = []
    async with async_playwright() as pw:
        browser = await launch(pw)
        try:
            async def in_browser(k: int) -> Outcome:
                if over:
                    await asyncio.sleep(over * (k + 0.5) / browsers)
                return await browser_participant(browser, base, k, checks, completion, step_times, think, seed)

            people, *seen = await asyncio.gather(
                crowd(base, count, over=over, checks=checks, completion=completion, think=think, seed=seed,
                      timings=timings),
                *(in_browser(k) for k in range(browsers)))
        finally:
            await browser.close()
    return people[0], timings, list(seen), step_times


def profile(pid: int, out: Path) -> subprocess.Popen:
    """py-spy sampling every thread of the server (collapsed stacks). By default idle
    frames are included, so a thread waiting for SQLite's lock or an fsync shows where
    it waits; PY_SPY_ARGS="--gil" samples only the thread holding the GIL instead
    (where the server's Python CPU goes)."""
    spy = os.environ.get("PY_SPY") or shutil.which("py-spy")
    if not spy:
        raise SystemExit("--py-spy needs py-spy on PATH (or PY_SPY=/path/to/py-spy); pip install py-spy")
    out.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([spy, "record", "--pid", str(pid), "--format", "raw", "--output", str(out),
                             "--rate", "200", "--threads",
                             *os.environ.get("PY_SPY_ARGS", "--idle").split()],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # attached before the first participant arrives
    return proc


def run(label: str, count: int, *, over: float = 0.0, rlimit: tuple[int, int] | None = None,
        capacity: int | None = None, browsers: int = 0, think: float = 0.0, games: bool = False,
        games_subset: list[str] | None = None, seed: int = 0, keep: bool = False, spy: Path | None = None,
        server_path: str | None = None) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="bench-survey-"))
    settings_path = write_study(folder, games, games_subset)
    settings = load_settings(settings_path)
    checks = {c.prompt: c.answer for c in settings.checks}
    result: dict = {"label": label, "participants": count, "over_s": over, "think_s": think, "games": games,
                    "nofile_set": list(rlimit) if rlimit else None, "capacity": capacity, "browsers": browsers,
                    "server_path": server_path, "load_before": os.getloadavg()[0]}
    server = SurveyServer(folder, settings_path, rlimit=rlimit, capacity=capacity,
                          extra_path=server_path)
    try:
        server.start()
    except ServerRefused as exc:
        result["refused"] = str(exc.args[0][0]) if exc.args and exc.args[0] else "exited"
        shutil.rmtree(folder, ignore_errors=True)
        return result
    result["server_nofile"] = list(server.limits)
    me = psutil.Process()
    spying = profile(server.proc.pid, spy) if spy else None
    cpu_me, busy, wall = sum(me.cpu_times()[:2]), busy_seconds(), time.monotonic()
    try:
        with Sampler(server.proc.pid) as sampler:
            people, timings, seen, browser_steps = asyncio.run(
                drive(server.base, count, over, checks, settings.completion_code, think, browsers, seed))
    finally:
        if spying:
            spying.send_signal(signal.SIGINT)
            spying.wait(timeout=60)
        server.stop()
    wall = time.monotonic() - wall
    result.update(wall_s=wall, load_after=os.getloadavg()[0], server_cpu_s=sampler.cpu_seconds,
                  client_cpu_s=sum(me.cpu_times()[:2]) - cpu_me, machine_busy_cpu_s=busy_seconds() - busy,
                  cores=os.cpu_count(), peak_rss_mb=sampler.peak_rss / 2**20, peak_fds=sampler.peak_fds,
                  peak_threads=sampler.peak_threads, samples=sampler.samples)

    everyone = people + seen
    sent = {o.code: o.answers for o in everyone if o.code}
    maybe = {o.code: set(o.unacknowledged) for o in everyone if o.code}
    held = stored(server.db)
    problems = compare(sent, held, maybe)
    log = server.log_text()
    result.update(
        started=sum(o.started for o in people), finished=sum(o.finished for o in people),
        answers_acknowledged=sum(len(o.answers) for o in people),
        answers_stored=sum(len(held.get(o.code, {})) for o in people if o.code),
        answers_unacknowledged=sum(len(o.unacknowledged) for o in people),
        stored_total=sum(len(v) for v in held.values()),
        acknowledged_total=sum(len(v) for v in sent.values()),
        mismatches=problems[:20], mismatch_count=len(problems),
        submit=spread(timings.submit), page=spread(timings.page), step=spread(timings.step),
        errors=dict(Counter(timings.errors).most_common()),
        gave_up=Counter(o.problem.split(":")[0] for o in people if o.problem),
        participant_seconds=spread([o.seconds for o in people if o.finished]),
        server_log_lines=len(log.splitlines()),
        server_log_fd_errors=sum(sign in line for line in log.splitlines() for sign in FD_SIGNS),
        server_log_tracebacks=log.count("Traceback"))
    if browsers:
        result["browser"] = {"started": sum(o.started for o in seen), "finished": sum(o.finished for o in seen),
                             "answers_acknowledged": sum(len(o.answers) for o in seen),
                             "end_to_end": spread([o.seconds for o in seen if o.finished]),
                             "step": spread(browser_steps),
                             "problems": [o.problem for o in seen if o.problem]}
    if keep:
        result["folder"] = str(folder)
    else:
        shutil.rmtree(folder, ignore_errors=True)
    return result


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:,.0f}"


def table(results: list[dict]) -> str:
    head = ("| run | open files (soft/hard) | finished / started | answers acked / stored | submit ms p50 / p95 "
            "| page ms p50 / p95 | click→next ms p50 / p95 | errors | peak RSS MB | peak fds | wall s "
            "| CPU s server / client / machine | load before → after |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        limit = "/".join(str(v) for v in r.get("server_nofile") or r.get("nofile_set") or [])
        if "refused" in r:
            lines.append(f"| {r['label']} | {limit} | refused to start: {r['refused']} |" + " |" * 10)
            continue
        errors = ", ".join(f"{k} ×{v}" for k, v in r["errors"].items()) or "none"
        if r["server_log_fd_errors"]:
            errors += f"; server log: {r['server_log_fd_errors']} 'Too many open files'"
        lines.append(
            f"| {r['label']} | {limit} | {r['finished']} / {r['started']} | "
            f"{r['answers_acknowledged']} / {r['answers_stored']} | {ms(r['submit']['median'])} / "
            f"{ms(r['submit']['p95'])} | {ms(r['page']['median'])} / {ms(r['page']['p95'])} | "
            f"{ms(r['step']['median'])} / {ms(r['step']['p95'])} | {errors} | {r['peak_rss_mb']:.0f} | "
            f"{r['peak_fds']} | {r['wall_s']:.1f} | {r['server_cpu_s']:.0f} / {r['client_cpu_s']:.0f} / "
            f"{r['machine_busy_cpu_s']:.0f} of {r['wall_s'] * r['cores']:.0f} | "
            f"{r['load_before']:.1f} → {r['load_after']:.1f} |")
    out = "\n".join(lines)
    browsers = [r for r in results if r.get("browser")]
    if browsers:
        out += ("\n\n| run | Chromium finished / started | answers acked | end-to-end s p50 / max "
                "| click→next ms p50 / p95 (Chromium) | click→next ms p50 / p95 (protocol) |\n|---|---|---|---|---|---|")
        for r in browsers:
            b = r["browser"]
            e2e = b["end_to_end"]
            out += (f"\n| {r['label']} | {b['finished']} / {b['started']} | {b['answers_acknowledged']} | "
                    f"{e2e['median'] or 0:.1f} / {e2e['max'] or 0:.1f} | {ms(b['step']['median'])} / "
                    f"{ms(b['step']['p95'])} | {ms(r['step']['median'])} / {ms(r['step']['p95'])} |")
            for problem in b["problems"]:
                out += f"\n\nChromium participant: {problem}"
    return out


def verdicts(results: list[dict]) -> list[str]:
    lines = []
    for r in results:
        if "refused" in r:
            continue
        if r["mismatch_count"]:
            lines.append(f"FAIL {r['label']}: {r['mismatch_count']} answers differ between what the server "
                         f"acknowledged and what the database holds, e.g. " + "; ".join(r["mismatches"][:3]))
        else:
            lines.append(f"ok   {r['label']}: all {r['acknowledged_total']} acknowledged answers stored as sent "
                         f"({r['stored_total']} rows in the database)")
    for r in results:
        if r.get("refused") or r["participants"] != 200 or r["over_s"] or r["think_s"] or r["browsers"]:
            continue
        misses = []
        if r["mismatch_count"] or r["finished"] < r["participants"]:
            misses.append(f"{r['finished']}/{r['participants']} finished, {r['mismatch_count']} answers differ")
        if r["submit"]["p95"] is None or r["submit"]["p95"] >= TARGET_P95:
            misses.append(f"p95 submit {ms(r['submit']['p95'])} ms")
        fd = r["server_log_fd_errors"] + sum(v for k, v in r["errors"].items() if k.startswith("connect"))
        if fd:
            misses.append(f"{fd} connection failures or 'Too many open files'")
        limit = r.get("server_nofile", ["?"])[0]
        lines.append(("TARGET MET " if not misses else "TARGET MISSED ")
                     + f"({r['label']}, open files {limit}): 200 at once, every answer stored, p95 submit "
                     f"{ms(r['submit']['p95'])} ms < {TARGET_P95 * 1000:.0f} ms, no descriptor failures"
                     + ("" if not misses else ": " + "; ".join(misses)))
    return lines


def parse_limit(text: str) -> int | None:
    if text in ("none", "inherit", "inherited", "0"):
        return None
    value = int(text)
    if value < 64:
        raise argparse.ArgumentTypeError("--ulimit must be at least 64 (or 'inherit')")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--at-once", type=int, nargs="+", metavar="N", help="participants starting together")
    mode.add_argument("--arrivals", type=int, metavar="N", help="participants arriving evenly over --over seconds")
    parser.add_argument("--over", type=float, default=60.0, metavar="S", help="seconds of arrivals (default 60)")
    parser.add_argument("--ulimit", type=parse_limit, nargs="+", default=[1024], metavar="N",
                        help="open-files limit(s) of the server, as `ulimit -n N` (soft and hard); "
                             "'inherit' for the shell's (default 1024)")
    parser.add_argument("--soft-only", action="store_true",
                        help="set only the soft limit (as most shells start), so the server may raise it")
    parser.add_argument("--capacity", type=int, help="the server's --capacity (default: its own default)")
    parser.add_argument("--browsers", type=int, default=None, metavar="K",
                        help="participants in Chromium beside the protocol clients (default 0; 3 on the default "
                             "run's 200 at once)")
    parser.add_argument("--think", type=float, default=None, metavar="S",
                        help="seconds a participant spends on a page before submitting (about; default 0, "
                             "and 5 for the default run's arrivals)")
    parser.add_argument("--games", nargs="*", metavar="GAME",
                        help="also the games module (optionally only these games.toml ids)")
    parser.add_argument("--server-path", metavar="DIR",
                        help="put DIR first on the server's PYTHONPATH (to try e.g. httptools and uvloop, which "
                             "uvicorn uses when it finds them, without installing them in the venv)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--keep", action="store_true", help="keep each run's folder (database, server log)")
    parser.add_argument("--py-spy", type=Path, metavar="PATH",
                        help="profile the server with py-spy during each run (collapsed stacks to PATH-<run>.txt)")
    args = parser.parse_args()
    # Hundreds of client connections must not fail on this process's own limit
    # (that would be blamed on the server): raise the soft limit to the hard one.
    shell = soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 65536, hard))

    ramp_think = 5.0 if args.think is None else args.think
    think = args.think or 0.0
    if args.at_once:
        plan = [(f"{n} at once", n, 0.0, args.browsers or 0, think) for n in args.at_once]
    elif args.arrivals:
        plan = [(f"{args.arrivals} over {args.over:g} s", args.arrivals, args.over, args.browsers or 0, think)]
    else:
        k = 3 if args.browsers is None else args.browsers
        plan = [("50 at once", 50, 0.0, 0, think), ("200 at once", 200, 0.0, 0, think),
                ("400 at once", 400, 0.0, 0, think)]
        if k:
            plan.append(("200 at once", 200, 0.0, k, think))
        plan.append(("200 over 60 s", 200, 60.0, 0, ramp_think))
    if any(p[3] for p in plan) and not (Path("/usr/bin/chromium").exists() or shutil.which("chromium")):
        print("Chromium is not installed: running without the browser participants")
        plan = [(label, n, over, 0, t) for label, n, over, _, t in plan]
    games = args.games is not None
    extra = (", games" if games else "") + (f", server path {args.server_path}" if args.server_path else "")
    results = []
    for limit in args.ulimit:
        for label, n, over, browsers, wait in plan:
            name = label + (f" + {browsers} Chromium" if browsers else "") + (f", think {wait:g} s" if wait else "") \
                + extra
            rlimit = shell if limit is None else (limit, shell[1] if args.soft_only else limit)
            print(f"running: {name}, open files {rlimit[0]} (soft) / {rlimit[1]} (hard) ...", flush=True)
            results.append(run(name, n, over=over, rlimit=rlimit, capacity=args.capacity,
                               browsers=browsers, think=wait, games=games, games_subset=args.games or None,
                               seed=args.seed, keep=args.keep,
                               spy=args.py_spy.with_name(f"{args.py_spy.stem}-{len(results) + 1}.txt")
                               if args.py_spy else None, server_path=args.server_path))
    print()
    print(f"Measured on {platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}; "
          "server and clients share the cores; other processes' load shows in 'load before'.")
    print()
    print(table(results))
    print()
    lines = verdicts(results)
    print("\n".join(lines))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"measured": time.strftime("%Y-%m-%d %H:%M:%S"), "cores": os.cpu_count(),
                                         "runs": results}, indent=2, default=str), encoding="utf-8")
        print(f"\nwritten: {args.json}")
    if any(line.startswith("FAIL") for line in lines):
        sys.exit(1)


if __name__ == "__main__":
    main()
