"""Notebooks 07 and 08 export offline with the offline model (small arguments
to keep the test quick), and their command-line parameters are validated."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.economics.agents import lora_status
from helpers.notebook.economics import EconParams
from helpers.errors import UserError

REPO = Path(__file__).resolve().parents[2]
MARIMO = str(Path(sys.executable).parent / "marimo")
SMALL = ["--train-size", "12", "--train-epochs", "1", "--samples", "1"]


def test_params_from_cli():
    p = EconParams.from_cli({"kappa": "0.3", "samples": "4", "train-size": "24", "explain": "true",
                             "model": "openai/gpt-4o-mini", "rounds": "3"})
    assert (p.kappa, p.samples, p.train.size, p.train.explain, p.rounds) == (0.3, 4, 24, True, 3)
    assert p.models == ("openai/gpt-4o-mini",)
    assert EconParams.from_cli({}).train.explain is False


@pytest.mark.parametrize("args,message", [
    ({"kapa": "0.3"}, "unknown notebook argument --kapa"), ({"kappa": "2"}, "κ must lie between 0 and 1"),
    ({"kappa": "0"}, "--kappa must be above 0"),
    ({"samples": "0"}, "--samples must be at least 1"), ({"rounds": "x"}, "bad notebook argument"),
    ({"explain": "maybe"}, "expected true or false"),
])
def test_bad_params(args, message):
    with pytest.raises(UserError, match=message):
        EconParams.from_cli(args)


def session_cells(html: str) -> list[dict]:
    """The cells' outputs that `marimo export html` embeds in the page."""
    start = html.index('"session":') + len('"session":')
    session, _ = json.JSONDecoder().raw_decode(html[start:].lstrip())
    return session["cells"]


def export(notebook: str, out: Path, cache: Path, *args: str) -> str:
    env = {**os.environ, "EXCEPTIONS_CACHE": str(cache)}
    proc = subprocess.run([MARIMO, "export", "html", str(REPO / "notebooks" / notebook), "-o", str(out),
                           "--", *args], capture_output=True, text=True, timeout=1800, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    html = out.read_text()
    for cell in session_cells(html):
        assert all(o.get("type") == "data" for o in cell["outputs"]), (cell["id"], cell["outputs"])
    return html


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    # One cache for both exports: 08 reuses the adapters 07 trained, as under `make report`.
    return tmp_path_factory.mktemp("econ-cache")


@pytest.mark.slow
def test_07_exports_with_the_offline_model(tmp_path, shared_cache):
    html = export("07_economic_games.py", tmp_path / "07.html", shared_cache, *SMALL)
    assert len(re.findall(r"data:image/png;base64,", html)) >= 3
    assert "synthetic" in html and "implied" in html
    if lora_status() is None:
        # 19 payoff settings x 3 agents (base, κ = 0 and κ = 0.5 fine-tuned) x 1 answer.
        assert "calls: 57 made, 0 cached, 0 failed" in html
        assert "SFT on synthetic homo moralis (κ = 0.5)" in html or "homo moralis (\\u03ba = 0.5)" in html
        assert list((shared_cache / "synthetic").glob("*.jsonl.meta.json"))
        assert "2 fine-tuned agent(s): 0 loaded from the cache, 2 trained now" in html
    else:
        assert "calls: 19 made, 0 cached, 0 failed" in html
        assert "Fine-tuning unavailable" in html


@pytest.mark.slow
def test_08_exports_with_the_offline_model(tmp_path, shared_cache):
    html = export("08_moral_applications.py", tmp_path / "08.html", shared_cache, *SMALL, "--rounds", "2")
    assert len(re.findall(r"data:image/png;base64,", html)) >= 3
    agents = 3 if lora_status() is None else 1
    # 6 dilemmas of the default family x agents x 1 answer.
    assert f"calls: {6 * agents} made, 0 cached, 0 failed" in html
    assert "Bertrand-Nash" in html and "profit_gain" in html
    if agents == 3:
        assert "2 fine-tuned agent(s): 2 loaded from the cache, 0 trained now" in html
