"""What a run of the exceptions study measures: models x variants x scenarios x
levels, in `exact` or `sample` mode. The CLI and the notebooks both build a RunConfig.

Two ways to measure a bucket (a scenario at a level):
- `exact`: one forward pass; the refusal probability is P(no) / (P(yes) + P(no))
  over the answer's first token; `yes_no_mass` = P(yes) + P(no). Each answer also
  gives its likelier word (no if P(no) > P(yes)): what temperature 0 answers, the
  paper's setting for GPT-4o and 4o-mini. A 0.6 reads 0.6 as a probability but 1 as
  the likelier answer; buckets carry both (stats.refusal_rates: refusal_rate and
  rate_top), and where an endpoint lists only its top-k logprobs, the probability's
  interval (rows.exact_reading).
- `sample`: n answers at a temperature, each parsed to yes / no / invalid.

Levels: 1..k the exceptions of each scenario (or the `levels` chosen), and level 0
its `control` (the same situation with no violation) unless `control` is False or
the scenario has none. The control is measured whatever `levels` says, because the
validity card needs it beside level 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from helpers.errors import UserError
from helpers.exceptions.scenarios import CONTROL, Scenario
from helpers.exceptions.variants import get_variant
from helpers.llm.naming import DEFAULT_MODEL
from helpers.llm.units import REASONING_BUDGET, ModelOptions, check_sampling

MODES = ("exact", "sample")


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a run; the CLI and the notebooks both build one.

    variant / variants: the prompt variant(s) by name (variants.toml, or
    variants_file). `variants` runs several at once; when it is empty the run
    has the one `variant`, and when it is given `variant` becomes its first.
    Multi-turn variants run `samples` chains per bucket in both modes, their
    reasoning turns up to `reasoning_tokens` long (see chains.py).
    """

    models: tuple[str, ...] = (DEFAULT_MODEL,)
    variant: str = "baseline"
    mode: str = "exact"
    samples: int = 10
    temperature: float = 1.0
    max_tokens: int = 48
    base_url: str | None = None
    levels: tuple[int, ...] | None = None  # None = every level of each scenario
    timeout: float = 60.0
    variants: tuple[str, ...] = ()
    variants_file: str | Path | None = None
    reasoning_tokens: int = 256
    reasoning_effort: str | None = None  # sent to openai/ models that take it; None: their default
    reasoning_budget: int = REASONING_BUDGET  # thinking tokens per answer on top of max_tokens
    capabilities: tuple[tuple[str, object], ...] = ()  # --capability overrides (capabilities.parse_override)
    control: bool = True  # also measure each scenario's control (level 0); --no-control skips it

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise UserError(f"unknown mode '{self.mode}'; use one of {', '.join(MODES)}")
        check_sampling(self.models, self.samples, self.temperature, self.max_tokens, self.timeout)
        if self.reasoning_tokens < 1:
            raise UserError(f"--reasoning-tokens must be at least 1, got {self.reasoning_tokens}")
        self.model_options()  # checks the effort and the budget
        # Frozen, so normalise through object.__setattr__: one name -> a tuple, no repeats.
        names = tuple(dict.fromkeys(self.variants or (self.variant,)))
        for name in names:
            get_variant(name, self.variants_file)
        object.__setattr__(self, "variants", names)
        object.__setattr__(self, "variant", names[0])

    def warnings(self) -> list[str]:
        if self.mode == "sample" and self.temperature == 0 and self.samples > 1:
            return [f"temperature 0 with {self.samples} samples: the answers will be near-copies of the likeliest "
                    "one (the paper did this for 4o and 4o-mini). Exact mode does not measure the same: its "
                    "refusal_rate is the probability P(no) / (P(yes) + P(no)) (a 0.6 reads 0.6 where temperature 0 "
                    "gives about 1); its rate_top, the likelier of yes and no, is the temperature-0 analogue "
                    "in one call"]
        return []

    def model_options(self) -> ModelOptions:
        return ModelOptions(self.reasoning_effort, self.reasoning_budget, self.capabilities)

    def chain_variants(self) -> list[str]:
        return [v for v in self.variants if get_variant(v, self.variants_file).chain]


def levels_of(scenario: Scenario, wanted, control: bool = False) -> list[int]:
    """The levels a run measures of a scenario: those `wanted` (None: every one),
    preceded by the control (0) when `control` is on and the scenario has one.
    A 0 in `wanted` asks for the control alone (an answer viewer's bucket)."""
    wanted = None if wanted is None else set(wanted)
    chosen = [lv for lv in range(1, len(scenario.levels) + 1) if wanted is None or lv in wanted]
    if scenario.control is not None and (control or (wanted is not None and CONTROL in wanted)):
        chosen.insert(0, CONTROL)
    return chosen
