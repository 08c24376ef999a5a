"""Benchmark: how well parse_answer reads decisions, on the labelled corpus.

tests/data/answers_corpus.csv holds answers written for this workspace across
the ten scenarios, each labelled yes / no / invalid as a careful reader codes
it, and marked clear-cut or not (hedged leans, refusals to answer). Every
answer is read with its scenario's action, as in a run. Prints the confusion
table (label x reading), the misreads (a decision opposite to the label, or a
decision read from an answer labelled invalid), the share of clear-cut yes/no
answers read invalid, and the time per answer. The test
tests/exceptions/test_parser_corpus.py requires 0 misreads and <= 10% invalid.

Prints a table; asserts nothing. Run with `make bench` or
`.venv/bin/python bench/bench_parser.py [--corpus FILE]`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from helpers.exceptions import parser_check
from helpers.exceptions.scenarios import load_scenarios

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default=str(ROOT / "tests" / "data" / "answers_corpus.csv"))
    parser.add_argument("--scenarios", default=str(ROOT / "scenarios.toml"))
    args = parser.parse_args()
    scenarios = load_scenarios(args.scenarios)
    corpus = parser_check.load_corpus(args.corpus, scenarios)
    start = time.perf_counter()
    parsed = parser_check.read(corpus, scenarios)
    seconds = time.perf_counter() - start
    score = parser_check.score(parsed)
    print(f"corpus: {len(corpus)} answers, {corpus['clear_cut'].sum()} clear-cut, "
          f"{corpus['scenario'].nunique()} scenarios ({Path(args.corpus).name}; measured)")
    print("\n".join(score.lines()))
    for row in score.misreads.itertuples():
        print(f"  {row.label} read {row.parsed}: {row.text[:100]!r}")
    print(f"parse time: {seconds / len(corpus) * 1e6:.0f} us per answer")


if __name__ == "__main__":
    main()
