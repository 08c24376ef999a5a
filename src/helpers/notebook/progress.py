"""One marimo progress bar for everything a notebook waits for: the answers of a
run, the steps of LoRA trainings, the rounds of repeated games.

Each study reports progress through its own callback; ProgressBar has one small
method per callback shape, so a cell passes e.g. `progress=bar.answers`:

    with ProgressBar("Measuring buckets") as bar:
        result = experiment.run(config, chosen, progress=bar.answers)

The bar opens at the first report (its total is fixed then) and is removed when
the `with` block ends, whether the work finished or failed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class ProgressBar:
    """A marimo progress bar moved to `done` of `total` by any of the callbacks below.

    total: the whole count when it is known before the work starts (steps of
    several trainings, rounds of several games); otherwise the first report's
    total is used (the answers of a run, the steps of one training).
    """

    def __init__(self, title: str, total: int | None = None):
        self.title, self.total = title, total
        self.done = 0
        self._context: Any = None
        self._bar: Any = None

    def show(self, done: int, total: int | None = None, subtitle: str = "") -> None:
        """Move the bar to `done` (of `total`, or of the total it was given)."""
        if self._bar is None:
            import marimo as mo

            size = max(1, self.total or total or 1)
            self._context = mo.status.progress_bar(total=size, title=self.title, remove_on_exit=True)
            self._bar = self._context.__enter__()
        self._bar.update(increment=done - self.done, subtitle=subtitle)
        self.done = done

    def answers(self, state) -> None:
        """engine.Progress listener (experiment.run, play.play): answers done of the run's."""
        self.show(state.done, state.total, state.describe())

    def step(self, step: int, total: int, loss: float) -> None:
        """lora.train_adapter's progress(step, total, loss), for a bar over one training."""
        self.show(step, total, f"step {step}/{total}, loss {loss:.3f}")

    def scenario_step(self, scenario: str, step: int, total: int, loss: float) -> None:
        """workflow.train_per_scenario's progress(scenario, step, total, loss): one step
        more of all the trainings (give the bar their `total` steps)."""
        self.show(self.done + 1, subtitle=f"{scenario}: step {step}/{total}, loss {loss:.3f}")

    def rounds_of(self, label: str) -> Callable[[int, int], None]:
        """A progress(round_no, rounds) callback for duopoly.play: one round more of all
        the games (give the bar their `total` rounds), labelled with who plays."""
        def advance(round_no: int, rounds: int) -> None:
            self.show(self.done + 1, subtitle=f"{label}: round {round_no}/{rounds}")

        return advance

    def close(self) -> None:
        if self._context is not None:
            self._context.__exit__(None, None, None)
        self._context = self._bar = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
