"""Notebooks 04 (fine-tuning, Figure 3) and 05 (transfer, Figure 4) under
`marimo export html`, as `make report` runs them, with small arguments: they
train real LoRA adapters on the illustrative answers, measure them, and put the
paper-reported figures beside them."""

from pathlib import Path

import pytest
from marimo_html import apart_notes, callouts, errors, export, images, output_text, rows_with, validity_cards

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_fine_tuning_notebook_trains_and_compares_with_the_paper(tmp_path):
    page = export(REPO / "notebooks/04_fine_tuning.py", tmp_path / "04.html",
                  "--labels-size", "3", "--explanations-size", "2", "--max-steps", "1")
    text = output_text(page)
    assert errors(page) == [] and callouts(page)[0][0] == "warn"
    # Then a validity card per model (two fine-tuned, the base), measured on one scenario.
    cards = [text.split(" (exact)")[0] for _, text in validity_cards(page)]
    assert [c for c in callouts(page) if c not in apart_notes(page)][1:] == validity_cards(page)
    assert sorted(cards) == ["SFT explanations: Grocery prices (illustrative), baseline",
                             "SFT labels-50: Grocery prices (illustrative), baseline",
                             "SFT labels: Grocery prices (illustrative), baseline",
                             "local/smollm2-135m-instruct (base), baseline"]
    # None is interpretable on one scenario, so the paper's columns stand apart, under a note.
    assert [kind for kind, _ in apart_notes(page)] == ["warn"]
    assert "not trained yet" not in text and "not cached yet" not in text
    assert "Before the button: 3 models, 3 optimiser steps" in text
    assert "They learn from 152 training participants; the other 151 are held out" in text
    assert "In-scenario comparisons: compared with 151 held-out participants, not used in training" in text
    losses = rows_with(page, "first_loss")
    assert {r["model"] for r in losses} == {"labels: Grocery prices (illustrative)",
                                           "labels-50: Grocery prices (illustrative)",
                                           "explanations: Grocery prices (illustrative)"}
    assert all(r["steps"] == 1 and r["examples"] == (3 if r["model"].startswith("labels:") else 2)
               and not r["from_cache"] for r in losses)
    side = {r["model"]: r for r in rows_with(page, "paper-reported GPT-4o: mean |gap|")}
    assert set(side) == {"SFT labels (illustrative)", "SFT labels-50 (illustrative)",
                         "SFT explanations (illustrative)", "local/smollm2-135m-instruct (base)"}
    assert side["SFT labels-50 (illustrative)"]["paper-reported GPT-4o: significant"] == ""  # not in the paper
    assert side["SFT explanations (illustrative)"]["paper-reported GPT-4o: significant"] == "17/30"
    ours = {r["model"]: r for r in rows_with(page, "significant (vs human (illustrative data))")}
    assert set(ours) == set(side) and not any(c.startswith("paper-reported") for c in ours["SFT labels (illustrative)"])
    assert ours["SFT labels (illustrative)"]["significant (vs human (illustrative data))"].endswith("/6")
    references = {r["model"]: r for r in rows_with(page, "noise floor")}  # against the same held-out people
    assert set(references) == set(side) and all(r["buckets"] == 6 for r in references.values())
    assert images(page) == 2  # the loss curves and Figure 3


def test_transfer_notebook_never_measures_a_model_on_its_own_scenario(tmp_path):
    page = export(REPO / "notebooks/05_transfer_learning.py", tmp_path / "05.html",
                  "--scenario", "grocery_prices,hospitality,customer_service",
                  "--train-scenario", "grocery_prices", "--explanations-size", "2", "--max-steps", "1")
    text = output_text(page)
    assert errors(page) == [] and callouts(page)[0][0] == "warn"
    cards = [c for c in callouts(page) if c not in apart_notes(page)][1:]
    assert cards == validity_cards(page) and len(cards) == 2  # the model, the base
    assert [kind for kind, _ in apart_notes(page)] == ["warn", "warn"]  # the paper's gaps and p-values apart
    assert "not trained yet" not in text and "not cached yet" not in text
    assert "Before the button: 1 models, 1 optimiser steps" in text
    assert "then 42 buckets to measure" in text  # 2 models x 3 scenarios x (6 levels + the control)
    gaps = rows_with(page, "base_mean_abs_diff")
    transfer = [r for r in gaps if r["split"] == "transfer"]
    assert len(transfer) == 1 and transfer[0]["trained_on"] == "grocery_prices"
    assert transfer[0]["scenarios"] == 2 and transfer[0]["buckets"] == 12  # hospitality and customer service, no control
    assert transfer[0]["permutations"] == 720 and 0 < transfer[0]["permutation_p"] <= 1
    assert "(illustrative)" in transfer[0]["agent"]
    assert transfer[0]["compared_with"] == "all 303 participants"
    own = [r for r in gaps if r["split"] == "in-scenario"]
    assert len(own) == 1 and own[0]["compared_with"] == "151 held-out participants"
    assert "Transfer comparisons use all participants of the unseen scenarios" in text
    paper = {r["split"]: r for r in rows_with(page, "paper-reported GPT-4o")}
    overall = {r["split"]: r for r in rows_with(page, "models")}
    assert paper["transfer"]["paper-reported GPT-4o"] == 0.245 and overall["base"]["buckets"] == 18
    p_values = rows_with(page, "paper-reported p (GPT-4o)")
    assert p_values[0]["paper-reported p (GPT-4o)"] == 0.001
    [reference] = rows_with(page, "noise floor")
    assert reference["model"] == transfer[0]["agent"] and reference["buckets"] == 12
    assert images(page) == 1  # Figure 4
