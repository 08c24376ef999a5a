"""How training went: the loss of every trained model, as a table and a figure."""

from __future__ import annotations

import pandas as pd

from helpers.finetune.lora import AdapterResult


def loss_table(results: dict[str, AdapterResult]) -> pd.DataFrame:
    """One row per trained model: steps, first and last loss, time, cached or not.

    results: label shown in the table -> the adapter trained (or found) for it.
    """
    rows = [{"model": label, "adapter": r.adapter_id, "examples": r.examples, "steps": r.steps,
             "first_loss": r.losses[0], "last_loss": r.losses[-1], "train_seconds": round(r.seconds, 1),
             "precision": r.settings.precision, "from_cache": r.cached} for label, r in results.items()]
    return pd.DataFrame(rows)


def loss_figure(results: dict[str, AdapterResult], title: str | None = None):
    """Training loss per step, one line per model (results as for loss_table).
    title: say whose answers trained the models (default: the bare measure)."""
    import matplotlib  # here, so that training without figures never loads matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    for label, r in results.items():
        ax.plot(range(1, len(r.losses) + 1), r.losses, marker="o", ms=2.5, lw=1.2, label=label)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("training loss (learned tokens)")
    ax.set_title(title or "LoRA training loss per step", fontsize=10)
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig
