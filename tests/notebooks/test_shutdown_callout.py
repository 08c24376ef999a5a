"""The notebooks warn, in one warn callout, of openai/ models OpenAI shuts down;
local models get nothing (and ask nothing)."""

from pathlib import Path

from marimo_html import callouts, errors, export

from helpers.notebook import shutdown_callout
from helpers.testing.server import FakeOpenAI

REPO = Path(__file__).resolve().parents[2]


def dated() -> FakeOpenAI:
    """The test server, listing gpt-4o-mini (an old-style model) with a shutdown date."""
    return FakeOpenAI(catalogue={"gpt-4o-mini": {"shutdown_date": "2027-02-01"}})


def test_the_callout_holds_one_line_per_dated_model():
    shown = shutdown_callout(["openai/gpt-4o-mini", "openai/gpt-6-luna", "local/smollm2-135m-instruct"])
    assert 'data-kind=\'&quot;warn&quot;\'' in shown.text
    assert "openai/gpt-4o-mini shuts down on 2027-01-14 (in 40 days; models.toml" in shown.text
    assert "gpt-6-luna" not in shown.text and "smollm2" not in shown.text
    assert "callout" not in shutdown_callout(["local/smollm2-135m-instruct"]).text


def test_a_run_notebook_shows_the_warning_above_its_report(tmp_path):
    with dated() as server:
        page = export(REPO / "notebooks/01_baseline.py", tmp_path / "01.html", "--model", "openai/gpt-4o-mini",
                      "--base-url", server.base_url, "--scenario", "hospitality")
    assert errors(page) == []
    warned = [text for kind, text in callouts(page) if kind == "warn" and "shuts down" in text]
    assert len(warned) == 1
    assert "openai/gpt-4o-mini shuts down on 2027-02-01 (in 58 days; GET " in warned[0]
