"""The run's progress bar on a terminal: the engine reports every answer, the bar is
drawn at most twice a second and always once the last answer is in."""

import io

from helpers.cli.run import _TerminalProgress
from helpers.llm.engine import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:  # tqdm draws only on a terminal
        return True


def test_the_bar_is_drawn_seldom_and_at_the_end(monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    bar = _TerminalProgress()
    state = Progress(total=5000)
    for _ in range(5000):
        state.made += 1
        bar(state)
    drawn = terminal.getvalue()
    assert "5000/5000" in drawn
    assert drawn.count("/5000") < 20
    bar.close()
