"""The paper's statistics, as pure functions on tidy tables (no plotting here).

Refusal rate (paper, eq. 1): no / (yes + no). Invalid answers and failed calls
are counted and shown but are in neither the numerator nor the denominator.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

BUCKET = ["model", "variant", "scenario", "level"]
SE_NOTES = {
    "sampled": "binomial SE sqrt(p(1-p)/(yes+no)); 95% Wilson interval",
    "exact": "no SE: an exact probability from one forward pass, not a sample",
}


def refusal_rates(responses: pd.DataFrame) -> pd.DataFrame:
    """One row per bucket (model, variant, scenario, level).

    Columns: n (answers received), yes, no, invalid, failed, not_run,
    refusal_rate, se, ci_low, ci_high, yes_no_mass (exact mode), measure
    ('sampled' or 'exact') and se_note saying what the SE means.
    """
    rows = []
    for key, group in responses.groupby(BUCKET, sort=False):
        ok = group[group["status"] == "ok"]
        row = dict(zip(BUCKET, key))
        row.update(
            n=len(ok),
            failed=int((group["status"] == "failed").sum()),
            not_run=int((group["status"] == "not run").sum()),
        )
        exact = (group["mode"] == "exact").all()
        if exact:
            row.update(_exact_bucket(ok))
        else:
            row.update(_sampled_bucket(ok["decision"]))
        rows.append(row)
    columns = BUCKET + ["n", "yes", "no", "invalid", "failed", "not_run", "refusal_rate",
                        "se", "ci_low", "ci_high", "yes_no_mass", "measure", "se_note"]
    return pd.DataFrame(rows, columns=columns)


def _sampled_bucket(decisions: pd.Series) -> dict:
    yes = int((decisions == "yes").sum())
    no = int((decisions == "no").sum())
    invalid = int((decisions == "invalid").sum())
    valid = yes + no
    if valid == 0:
        rate = se = low = high = float("nan")
    else:
        rate = no / valid
        se = float(np.sqrt(rate * (1 - rate) / valid))
        low, high = (float(x) for x in proportion_confint(no, valid, alpha=0.05, method="wilson"))
    return {"yes": yes, "no": no, "invalid": invalid, "refusal_rate": rate, "se": se,
            "ci_low": low, "ci_high": high, "yes_no_mass": float("nan"),
            "measure": "sampled", "se_note": SE_NOTES["sampled"]}


def _exact_bucket(ok: pd.DataFrame) -> dict:
    rate = float(ok["p_refusal"].mean()) if len(ok) else float("nan")
    mass = float(ok["yes_no_mass"].mean()) if len(ok) else float("nan")
    return {"yes": 0, "no": 0, "invalid": 0, "refusal_rate": rate, "se": float("nan"),
            "ci_low": float("nan"), "ci_high": float("nan"), "yes_no_mass": mass,
            "measure": "exact", "se_note": SE_NOTES["exact"]}
