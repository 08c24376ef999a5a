"""What the survey store costs per participant step, without HTTP: the store calls
the server makes for one page and one submit (find, steps, next_step, mark_shown;
find, steps, next_step, record), one thread, on a fresh file with 50 participants.

Prints CPU and wall milliseconds per step, in total and per call. The load bench
(bench_survey_load.py) measures the server as a whole; this isolates the store,
which the bench's profile showed the server's worker threads waiting on.

    .venv/bin/python bench/survey_store_cost.py [--participants 50]
"""

from __future__ import annotations

import argparse
import collections
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from helpers.exceptions.scenarios import load_scenarios  # noqa: E402
from helpers.survey.settings import load_settings  # noqa: E402
from helpers.survey.store import SurveyStore  # noqa: E402


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--participants", type=int, default=50)
    args = parser.parse_args()
    settings = load_settings(REPO / "study.toml")
    scenarios = load_scenarios(REPO / "scenarios.toml")
    cpu_ms: collections.Counter = collections.Counter()
    wall_ms: collections.Counter = collections.Counter()

    def timed(name, call, *a):
        c, w = cpu(), time.perf_counter()
        result = call(*a)
        cpu_ms[name] += (cpu() - c) * 1000
        wall_ms[name] += (time.perf_counter() - w) * 1000
        return result

    with tempfile.TemporaryDirectory(prefix="store-cost-") as folder:
        store = SurveyStore(Path(folder) / "survey.sqlite")
        people = [store.register(scenarios, settings) for _ in range(args.participants)]
        steps_done = 0
        start_cpu, start_wall = cpu(), time.perf_counter()
        while True:
            progressed = False
            for person in people:
                found = timed("find", store.find, person.code)
                steps = timed("steps", store.steps, found, scenarios, [], settings)
                step = timed("next_step", store.next_step, found, steps)
                if step is None:
                    continue
                timed("mark_shown", store.mark_shown, found, step)  # the page
                found = timed("find", store.find, person.code)  # the submit
                steps = timed("steps", store.steps, found, scenarios, [], settings)
                step = timed("next_step", store.next_step, found, steps)
                if step.kind == "scenario":
                    timed("record", store.record, found, step, "yes", "It does no harm to anyone here.")
                else:
                    timed("record_check", store.record_check, found, step, step.check.answer)
                steps_done += 1
                progressed = True
            if not progressed:
                break
        total_cpu, total_wall = (cpu() - start_cpu) * 1000, (time.perf_counter() - start_wall) * 1000
    print(f"{steps_done} steps: {total_cpu / steps_done:.2f} ms CPU, {total_wall / steps_done:.2f} ms wall per step "
          "(one thread, no HTTP)")
    for name in cpu_ms:
        print(f"  {name:12} {cpu_ms[name] / steps_done:6.2f} ms CPU  {wall_ms[name] / steps_done:6.2f} ms wall per step")


if __name__ == "__main__":
    main()
