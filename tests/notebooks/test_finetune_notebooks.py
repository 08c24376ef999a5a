"""Notebooks 04 (fine-tuning, Figure 3) and 05 (transfer, Figure 4) under
`marimo export html`, as `make report` runs them, with small arguments: they
train real LoRA adapters on the illustrative answers, measure them, and say so."""

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MARIMO = str(Path(sys.executable).parent / "marimo")
pytestmark = pytest.mark.slow


def export(notebook: str, out: Path, *args: str) -> str:
    proc = subprocess.run([MARIMO, "export", "html", str(REPO / "notebooks" / notebook), "-o", str(out), "--", *args],
                          capture_output=True, text=True, timeout=900, env={**os.environ})
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out.read_text()


def outputs(page: str) -> tuple[str, list[list[dict]], int]:
    """The rendered cell outputs: their text, the rows of every table, the number of figures."""
    start = page.index('"session": {"cells"') + len('"session": ')
    session, _ = json.JSONDecoder().raw_decode(page[start:])
    texts, tables, figures = [], [], 0
    for cell in session["cells"]:
        for out in cell["outputs"]:
            for value in out.get("data", {}).values():
                value = value if isinstance(value, str) else json.dumps(value)
                figures += value.count("data:image/png;base64,")
                tables += [json.loads(json.loads(html.unescape(m))) for m in re.findall(r"data-data='([^']*)'", value)]
                texts.append(html.unescape(re.sub(r"<[^>]+>", " ", value)))
    return " ".join(" ".join(texts).split()), tables, figures


def rows_with(tables, key):
    return [row for table in tables for row in table if key in row]


def test_fine_tuning_notebook_trains_and_compares_with_the_paper(tmp_path):
    page = export("04_fine_tuning.py", tmp_path / "04.html",
                  "--labels-size", "2", "--explanations-size", "2", "--max-steps", "1")
    text, tables, figures = outputs(page)
    assert "Cannot" not in text and "not trained yet" not in text and "not cached yet" not in text
    assert "Before the button: 2 models, 2 optimiser steps" in text
    losses = rows_with(tables, "first_loss")
    assert {r["model"] for r in losses} == {"labels: Grocery prices (illustrative)",
                                           "explanations: Grocery prices (illustrative)"}
    assert all(r["steps"] == 1 and r["examples"] == 2 and not r["from_cache"] for r in losses)
    side = {r["model"]: r for r in rows_with(tables, "paper-reported GPT-4o: mean |gap|")}
    assert set(side) == {"SFT labels (illustrative)", "SFT explanations (illustrative)",
                         "local/smollm2-135m-instruct (base)"}
    assert side["SFT explanations (illustrative)"]["paper-reported GPT-4o: significant"] == "17/30"
    assert side["SFT labels (illustrative)"]["significant (vs human (illustrative data))"].endswith("/6")
    assert figures >= 2  # the loss curves and Figure 3
    assert "It does not show whether the paper's result holds" in text


def test_transfer_notebook_never_measures_a_model_on_its_own_scenario(tmp_path):
    page = export("05_transfer_learning.py", tmp_path / "05.html",
                  "--scenario", "grocery_prices,hospitality,customer_service",
                  "--train-scenario", "grocery_prices", "--explanations-size", "2", "--max-steps", "1")
    text, tables, figures = outputs(page)
    assert "Cannot" not in text and "not trained yet" not in text and "not cached yet" not in text
    gaps = rows_with(tables, "base_mean_abs_diff")
    transfer = [r for r in gaps if r["split"] == "transfer"]
    assert len(transfer) == 1 and transfer[0]["trained_on"] == "grocery_prices"
    assert transfer[0]["scenarios"] == 2 and transfer[0]["buckets"] == 12  # hospitality and customer service
    assert transfer[0]["permutations"] == 720 and 0 < transfer[0]["permutation_p"] <= 1
    assert "(illustrative)" in transfer[0]["agent"]
    overall = {r["split"]: r for r in rows_with(tables, "paper-reported GPT-4o")}
    assert overall["transfer"]["paper-reported GPT-4o"] == 0.245 and overall["base"]["buckets"] == 18
    p_values = rows_with(tables, "paper-reported p (GPT-4o)")
    assert p_values[0]["paper-reported p (GPT-4o)"] == 0.001
    assert figures >= 1
