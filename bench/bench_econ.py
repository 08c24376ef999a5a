"""Benchmark the economic-games pieces: data generation, estimation, model play.

Prints figures for the README's "Economic preferences" section; asserts nothing.
Run with `make bench` (a fresh temporary cache, so no answer is a cache hit;
the converted model weights are reused from cache/models if present).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

workdir = Path(tempfile.mkdtemp(prefix="bench-econ-"))
os.environ["EXCEPTIONS_CACHE"] = str(workdir / "cache")

from helpers.economics import duopoly
from helpers.economics import games
from helpers.economics import measures
from helpers.economics import play
from helpers.economics import synthetic  # noqa: E402
from helpers.llm.asking import AskConfig  # noqa: E402


def timed(label: str, fn, per: int = 1):
    start = time.perf_counter()
    value = fn()
    seconds = time.perf_counter() - start
    suffix = f"  ({seconds / per * 1000:.0f} ms each)" if per > 1 else ""
    print(f"{label:<58} {seconds:8.2f} s{suffix}")
    return value


def main() -> None:
    all_games = games.load_games()
    settings = games.all_settings(all_games)
    decisions = play.decisions(settings)
    timed("synthetic set, 200 examples with derivations", lambda: synthetic.generate(all_games, 0.5, 200), 200)
    sim = measures.simulate(decisions, 0.4, 0.1, per_item=40)
    timed(f"implied κ, likelihood ratio ({len(sim)} answers)", lambda: measures.implied_kappa(sim, decisions))
    timed("implied κ, bootstrap with 200 draws", lambda: measures.implied_kappa(sim, decisions, method="bootstrap"))
    config = AskConfig(samples=1, max_tokens=8)
    timed("offline model: load (weights converted already)", lambda: play.play(config, settings[:1]))
    timed(f"offline model: {len(settings) - 1} game answers of <= 8 tokens",
          lambda: play.play(config, settings[1:]), len(settings) - 1)
    timed("the same answers again (cache)", lambda: play.play(config, settings[1:]))
    pair = (config.models[0], config.models[0])
    timed("offline model: duopoly, 4 rounds x 2 firms", lambda: duopoly.play(config, duopoly.Market(), pair,
                                                                             rounds=4), 8)
    print(f"cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}, python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()
