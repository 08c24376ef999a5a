"""Benchmark: how long `make lab` takes to serve JupyterLab, and marimo behind it.

Each repeat runs the Makefile's recipe as the tests do (tests/lab_server.py: a free
port on 127.0.0.1, fresh Jupyter and workspace folders) and times, from the start
of `make`: the first 200 on /lab, then the first answer of marimo's /health through
the proxy (the first request to /marimo/ is what starts marimo). The load average
after each repeat says how busy the machine was.

Prints a table; asserts nothing. Run with `make bench` or
`.venv/bin/python bench/bench_lab.py [--repeats N]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

# The same launcher as the tests, so the bench times exactly what they check.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from lab_server import make_lab  # noqa: E402


def one_start(folder: Path) -> tuple[float, float]:
    start = time.monotonic()
    with make_lab(folder) as lab:
        lab_ready = time.monotonic() - start
        status = lab.get("/marimo/health")[0]
        marimo_ready = time.monotonic() - start
        if status != 200:
            raise SystemExit(f"marimo did not answer through the proxy ({status}); see {lab.log}")
    return lab_ready, marimo_ready


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-lab-") as tmp:
        for i in range(args.repeats):
            lab_ready, marimo_ready = one_start(Path(tmp) / str(i))
            load = os.getloadavg()[0]
            rows.append((lab_ready, marimo_ready))
            print(f"repeat {i + 1}: /lab 200 after {lab_ready:5.1f} s, marimo through the proxy "
                  f"after {marimo_ready:5.1f} s (load {load:.1f} on {os.cpu_count()} cores)")
    for name, values in (("/lab 200", [r[0] for r in rows]), ("marimo /health", [r[1] for r in rows])):
        print(f"{name:15} best {min(values):5.1f} s  median {statistics.median(values):5.1f} s  "
              f"range {min(values):.1f}-{max(values):.1f} s")


if __name__ == "__main__":
    main()
