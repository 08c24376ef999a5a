"""Every notebook and the survey app are clean under `marimo check`, and the
baseline notebook exports offline as `make report` runs it: all 60 buckets and
the 10 controls measured by the real model, its validity card (measured: not
interpretable), Figure 1, and the comparison with the illustrative human data,
labelled as such."""

import re
import subprocess
from pathlib import Path

import pytest
from marimo_html import MARIMO, callouts, errors, export, images, output_text, rows_with, tables, validity_cards

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9]*.py"))


def test_marimo_check_is_clean():
    proc = subprocess.run([MARIMO, "check", *map(str, NOTEBOOKS)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout + proc.stderr


@pytest.mark.slow
def test_baseline_exports_with_the_offline_model(tmp_path):
    page = export(REPO / "notebooks/01_baseline.py", tmp_path / "01_baseline.html")
    text = output_text(page)
    assert errors(page) == []
    # The illustrative human data, then the validity card; no error.
    assert [kind for kind, _ in callouts(page)] == ["warn", "danger"]
    assert "calls: 70 made, 0 cached, 0 failed" in text  # 10 scenarios x (6 levels + the control)
    # The card, measured on the offline model before any comparison: the three checks fail.
    ((kind, card),) = validity_cards(page)
    assert card.startswith("local/smollm2-135m-instruct, baseline (exact): not interpretable")
    assert "failed: control ≈ level 1, flat levels, low yes/no mass" in card
    assert text.index("not interpretable") < text.index("60 matched buckets")
    (verdict,) = rows_with(page, "verdict")
    assert verdict["verdict"] == "not interpretable" and verdict["control_scenarios"] == 10
    assert images(page) == 1  # Figure 1
    buckets = [b for b in rows_with(page, "yes_no_mass") if "se_note" in b]
    assert len(buckets) == 70 and {(b["n"], b["measure"]) for b in buckets} == {(1, "exact")}
    assert sorted({b["level"] for b in buckets}) == [0, 1, 2, 3, 4, 5, 6]
    assert all(0 <= b["refusal_rate"] <= 1 for b in buckets)
    assert "60 matched buckets" in text
    assert {r["human_data"] for r in rows_with(page, "human_rate")} == {"human (illustrative data)"}
    assert re.search(r"over 60 buckets; significantly different in \d+ of 60", text)
    assert re.search(r"\d+ of 60 by the exact test", text)
    [gap] = rows_with(page, "noise floor")  # the gap beside its reference points, measured
    assert re.fullmatch(r"\d+\.\d% \[\d+\.\d%, \d+\.\d%\]", gap["mean |gap|"]) and gap["buckets"] == 60
    assert "tests ordering, not closeness" in text
    # The offline model is not interpretable, so its comparison says so and the paper's figures stand apart.
    assert re.search(r"local/smollm2-135m-instruct\s*,\s*baseline\s*\(validity: not interpretable\s*: failed: "
                     r"control ≈ level 1, flat levels, low yes/no mass\)", text)
    assert re.search(r"Under the validity verdict: local/smollm2-135m-instruct\s*\(\s*baseline\s*\)\s*is not interpretable", text)
    assert "For reference, paper-reported" not in text
    top = sum(b["rate_top"] for b in buckets) / len(buckets)  # the likelier answer, beside the probability
    assert f"mean likelier answer {top:.3f} over 70 exact-mode buckets" in text
    assert len(tables(page)[-1]) == 5  # the paper-reported human rates, five of them
    assert {r["label"] for r in tables(page)[-1]} == {"paper-reported"}
