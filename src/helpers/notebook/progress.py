"""marimo progress bars: answers of a run, steps of LoRA trainings, rounds of play."""

from __future__ import annotations


class NotebookProgress:
    """Shows an engine.Progress in a marimo progress bar: answers done, with
    made / cached / failed / retrying and the dollars spent so far."""

    def __init__(self, title: str = "Measuring buckets"):
        self.title = title
        self._bar = None
        self._shown = 0

    def __call__(self, state) -> None:
        import marimo as mo

        if self._bar is None:
            self._context = mo.status.progress_bar(total=max(1, state.total), title=self.title,
                                                   remove_on_exit=True)
            self._bar = self._context.__enter__()
        self._bar.update(increment=state.done - self._shown, subtitle=state.describe())
        self._shown = state.done

    def close(self) -> None:
        if self._bar is not None:
            self._context.__exit__(None, None, None)
            self._bar = None



class TrainingProgress:
    """A marimo progress bar over every step of several trainings."""

    def __init__(self, total_steps: int, title: str = "Training LoRA adapters"):
        self.total, self.title, self._bar = max(1, total_steps), title, None

    def __call__(self, scenario: str, step: int, total: int, loss: float) -> None:
        import marimo as mo

        if self._bar is None:
            self._context = mo.status.progress_bar(total=self.total, title=self.title, remove_on_exit=True)
            self._bar = self._context.__enter__()
        self._bar.update(increment=1, subtitle=f"{scenario}: step {step}/{total}, loss {loss:.3f}")

    def close(self) -> None:
        if self._bar is not None:
            self._context.__exit__(None, None, None)
            self._bar = None


class TrainingBar:
    """A marimo progress bar for helpers.finetune.lora's progress(step, total, loss) callback."""

    def __init__(self, title: str):
        self.title = title
        self._context = None
        self._bar = None

    def __call__(self, step: int, total: int, loss: float) -> None:
        import marimo as mo

        if self._bar is None:
            self._context = mo.status.progress_bar(total=total, title=self.title, remove_on_exit=True)
            self._bar = self._context.__enter__()
        self._bar.update(subtitle=f"step {step}/{total}, loss {loss:.3f}")

    def close(self) -> None:
        if self._context is not None:
            self._context.__exit__(None, None, None)
            self._bar = self._context = None


class RoundsBar:
    """A marimo progress bar over the rounds of several repeated games."""

    def __init__(self, title: str, total: int):
        import marimo as mo

        self._context = mo.status.progress_bar(total=max(1, total), title=title, remove_on_exit=True)
        self._bar = self._context.__enter__()
        self.label = ""

    def __call__(self, round_no: int, rounds: int) -> None:
        self._bar.update(subtitle=f"{self.label}: round {round_no}/{rounds}")

    def close(self) -> None:
        self._context.__exit__(None, None, None)
