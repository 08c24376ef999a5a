"""The exceptions study (the paper): scenarios at exception levels, prompt
variants, a run of models over them (plan, estimate, run, chains of thought),
the refusal statistics, the figures, transcripts and the paper-reported figures.

    from helpers.exceptions import RunConfig, load_scenarios, run
    from helpers.exceptions import stats, plots   # statistics and figures, imported by name

`archive` writes the cached answers of a run as a replication archive (the
format: helpers.llm.archive).

(stats, plots and archive are not imported here, so that the CLI and the other
studies do not load statsmodels, matplotlib or pyarrow just to reach a scenario.)
"""

from helpers.exceptions.design import MODES, RunConfig, levels_of
from helpers.exceptions.estimate import Estimate, estimate
from helpers.exceptions.experiment import RunResult, run
from helpers.exceptions.plan import Bucket, plan
from helpers.exceptions.rows import RESPONSE_COLUMNS
from helpers.exceptions.scenarios import Scenario, load_scenarios, select
from helpers.exceptions.variants import Variant, get_variant, load_variants

__all__ = [
    "Bucket", "Estimate", "MODES", "RESPONSE_COLUMNS", "RunConfig", "RunResult", "Scenario", "Variant",
    "estimate", "get_variant", "levels_of", "load_scenarios", "load_variants", "plan", "run", "select",
]
